import { isLabelerError, LabelerError, toLabelerError } from '@labeler/core';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import type { Logger } from '../lib/logger.js';
import { databaseUnavailable, databaseUnavailableReason } from '../db/unavailable.js';

const STATUS_TO_TRPC: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  499: 'CLIENT_CLOSED_REQUEST',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function toTRPCError(error: LabelerError): TRPCError {
  return new TRPCError({
    code: STATUS_TO_TRPC[error.status] ?? 'INTERNAL_SERVER_ERROR',
    message: error.message,
    cause: error,
  });
}

const DATASET_ID_FIELDS = new Set(['dataset_id', 'dataset_ids', 'datasetId', 'datasetIds']);

/** Input validation failures: a malformed dataset id is the spec's INVALID_DATASET_ID, anything else VALIDATION_ERROR. */
export function fromZodError(error: ZodError): LabelerError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const datasetIdIssue = error.issues.find((issue) =>
    issue.path.some((part) => DATASET_ID_FIELDS.has(String(part))),
  );
  if (datasetIdIssue) {
    const value = datasetIdIssue.path.map(String).join('.');
    return new LabelerError(
      'INVALID_DATASET_ID',
      `Malformed dataset id at "${value}": ${datasetIdIssue.message}. Dataset ids look like ds_c75023ca76d7448b.`,
      {
        details: { field: value, issues },
      },
    );
  }
  const first = issues[0];
  return new LabelerError(
    'VALIDATION_ERROR',
    first ? `Invalid request: "${first.path || '(body)'}" ${first.message}.` : 'Invalid request.',
    { details: { issues } },
  );
}

/** The LabelerError behind any error tRPC reports (its cause, a zod failure, or tRPC's own code). */
export function labelerErrorOf(error: TRPCError): LabelerError {
  const cause = error.cause;
  if (isLabelerError(cause)) return toRequestError(cause);
  if (cause instanceof ZodError) return fromZodError(cause);
  switch (error.code) {
    case 'NOT_FOUND':
      return new LabelerError('ROUTE_NOT_FOUND', error.message || 'No such route.');
    case 'METHOD_NOT_SUPPORTED':
      return new LabelerError('METHOD_NOT_ALLOWED', 'This method is not supported on this route.');
    case 'PARSE_ERROR':
      return new LabelerError('VALIDATION_ERROR', 'The request body is not valid JSON.');
    case 'BAD_REQUEST':
      return new LabelerError('VALIDATION_ERROR', error.message || 'Invalid request.');
    case 'UNSUPPORTED_MEDIA_TYPE':
      return new LabelerError(
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the request body as JSON (Content-Type: application/json).',
      );
    case 'PAYLOAD_TOO_LARGE':
      return new LabelerError('PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 'UNAUTHORIZED':
      return new LabelerError('UNAUTHENTICATED', error.message || 'Authentication required.');
    case 'FORBIDDEN':
      return new LabelerError('ACCESS_DENIED', error.message || 'Access denied.');
    case 'TOO_MANY_REQUESTS':
      return new LabelerError('RATE_LIMIT_EXCEEDED', error.message || 'Too many requests.');
    default:
      return toRequestError(cause ?? error);
  }
}

/**
 * The one translation of anything thrown on a request into a LabelerError, used by every door (tRPC,
 * the REST adapter, the fast lane, express's error handler): LabelerErrors as they are, zod failures as
 * validation errors, an unreachable or timed-out database as 503 SERVICE_UNAVAILABLE, anything else
 * INTERNAL_ERROR.
 */
export function toRequestError(error: unknown): LabelerError {
  // An INTERNAL_ERROR some layer wrapped around a database failure is still an outage.
  if (isLabelerError(error) && error.code !== 'INTERNAL_ERROR') return error;
  if (error instanceof ZodError) return fromZodError(error);
  const reason = databaseUnavailableReason(isLabelerError(error) ? error.cause : error);
  if (reason) return databaseUnavailable(reason, error);
  return toLabelerError(error);
}

/**
 * The log line of a failed request: an outage (SERVICE_UNAVAILABLE) is one warn with its code and
 * reason, no stack; other 5xx are errors with the cause; 4xx are left to the request log.
 */
export function logRequestFailure(
  logger: Pick<Logger, 'warn' | 'error'>,
  labeler: LabelerError,
  error: unknown,
  path: string | undefined,
): void {
  if (labeler.code === 'SERVICE_UNAVAILABLE')
    logger.warn({ path, code: labeler.code, reason: labeler.details.reason }, 'database unavailable');
  else if (labeler.status >= 500) logger.error({ err: error, path, code: labeler.code }, 'request failed');
}
