/** Reaching an annotation backend: the running instance, bounded retries, and actionable auth errors. */
import { type AnnotationBackendInstance, isLabelerError, LabelerError } from '@labeler/core';
import type { AppServices } from '../../app/services.js';

export async function backendFor(app: AppServices, instanceId: string): Promise<AnnotationBackendInstance> {
  return app.plugins.get(instanceId, 'annotation-backend');
}

/**
 * A 401/403 from the backend is not retryable and not the caller's fault: say which instance and how
 * to fix its token (the plugin supplies the backend-specific fix; keep it).
 */
export function explainBackendError(error: unknown, instanceId: string): unknown {
  if (!isLabelerError(error) || error.code !== 'BACKEND_AUTH_FAILED') return error;
  const fix =
    typeof error.details.fix === 'string'
      ? error.details.fix
      : 'Update the API token of this annotation backend in the console (Plugins) and test the connection.';
  return new LabelerError(
    'BACKEND_AUTH_FAILED',
    `The annotation backend "${instanceId}" rejected Labeler's credentials (re-authentication needed). ${error.message}`.trim(),
    {
      details: { ...error.details, backend_instance_id: instanceId, fix, reauthenticate: true },
      cause: error,
    },
  );
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  signal?: AbortSignal;
}

/**
 * Retries an idempotent backend operation on transient failures (retryable LabelerErrors: unavailable,
 * timeout) with exponential backoff and full jitter. Only for operations that are safe to repeat, such
 * as ensureProject (adopts what an earlier attempt created) and reads.
 */
export async function withTransientRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isLabelerError(error) || !error.retryable || options.signal?.aborted)
        throw error;
      const delay = Math.random() * base * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
