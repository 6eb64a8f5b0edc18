import { isLabelerError } from '@labeler/core';
import type { JobError } from './store.js';

/** Job-level error codes stored in `job.error.code` beside core's LabelerError codes. */
export const JOB_ERROR = {
  timeout: 'JOB_TIMEOUT',
  lost: 'JOB_WORKER_LOST',
  interrupted: 'JOB_INTERRUPTED',
  unknownKind: 'JOB_KIND_UNKNOWN',
  invalidPayload: 'VALIDATION_ERROR',
} as const;

/**
 * What a failed attempt stores. A LabelerError keeps its code and message (written for users); any
 * other error is stored as INTERNAL_ERROR with a generic message, the details go to the log only
 * (messages of foreign errors can carry hosts, paths or credentials).
 */
export function toJobError(error: unknown): JobError & { retryable: boolean } {
  if (isLabelerError(error)) return { code: error.code, message: error.message, retryable: error.retryable };
  const name = error instanceof Error ? error.name : 'Error';
  return {
    code: 'INTERNAL_ERROR',
    message: `The job failed with an unexpected ${name}; the server log has the details (search for the job id).`,
    retryable: true,
  };
}
