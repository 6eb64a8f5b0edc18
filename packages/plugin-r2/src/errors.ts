import { isLabelerError, LabelerError, storageObjectNotFound } from '@labeler/core';

/** Seconds a caller should wait before retrying after an R2 outage (rendered as Retry-After). */
export const R2_RETRY_AFTER_SECONDS = 5;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound']);
const AUTH_NAMES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: unknown;
  cause?: unknown;
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** True for connection-level failures anywhere in the cause chain (the SDK sometimes wraps them). */
export function isTransportError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const e = shape(current);
    if (
      (e.code && NETWORK_CODES.has(e.code)) ||
      e.name === 'TimeoutError' ||
      e.name === 'RequestTimeout' ||
      /socket hang up|connect ETIMEDOUT/i.test(e.message ?? '')
    )
      return true;
    current = e.cause;
  }
  return false;
}

/**
 * Maps an S3 SDK error to the Labeler error family. Only safe facts go into messages and details (the
 * S3 error code, HTTP status, request id); never credentials or signed URLs.
 */
export function mapS3Error(error: unknown, operation: string, key?: string): LabelerError {
  if (isLabelerError(error)) return error;
  const e = shape(error);
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const details = {
    operation,
    s3Code: name,
    httpStatus: status ?? null,
    requestId: e.$metadata?.requestId ?? null,
    ...(key !== undefined ? { key } : {}),
  };
  if (key !== undefined && (NOT_FOUND_NAMES.has(name) || (status === 404 && name !== 'NoSuchBucket')))
    return storageObjectNotFound(key);
  if (name === 'NoSuchBucket') {
    return new LabelerError(
      'PLUGIN_UNAVAILABLE',
      'The configured bucket does not exist: check the bucket name in the storage settings.',
      { details, retryable: false, cause: error },
    );
  }
  if (AUTH_NAMES.has(name) || status === 401 || status === 403) {
    return new LabelerError(
      'PLUGIN_UNAVAILABLE',
      "R2 rejected the credentials or their permissions: check the access key and the token's bucket permissions.",
      {
        details,
        retryable: false,
        cause: error,
      },
    );
  }
  if (isTransportError(error) || (status !== undefined && (status >= 500 || status === 429))) {
    return new LabelerError(
      'R2_UNAVAILABLE',
      'Object storage (R2) is unavailable right now. Retry in a few seconds.',
      {
        details,
        retryAfterSeconds: R2_RETRY_AFTER_SECONDS,
        cause: error,
      },
    );
  }
  return new LabelerError(
    'INTERNAL_ERROR',
    `Object storage request ${operation} failed (${name}). Retry later; if it persists, contact the Labeler operators.`,
    { details, cause: error },
  );
}
