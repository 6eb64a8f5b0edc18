/**
 * The one error family of Labeler. Every error that crosses a boundary (HTTP, tRPC, CLI, plugin) is a
 * LabelerError with a stable `code`, an HTTP status, a `retryable` flag and safe `details`.
 * Errors are recognised by a Symbol.for marker, not `instanceof`, so two copies of this package (a plugin
 * bundling its own) still agree.
 */

export const ERROR_MARKER = Symbol.for('labeler.error');

interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
}

/** The catalogue of error codes. Codes are part of the public contract: add, never rename. */
export const ERROR_CODES = {
  // From the Platform's Dataset API spec.
  DATASET_NOT_FOUND: { status: 404, retryable: false },
  ACCESS_DENIED: { status: 403, retryable: false },
  INVALID_DATASET_ID: { status: 400, retryable: false },
  RATE_LIMIT_EXCEEDED: { status: 429, retryable: true },
  INTERNAL_ERROR: { status: 500, retryable: true },
  R2_UNAVAILABLE: { status: 503, retryable: true },
  // The database is unreachable or too slow right now (connect, acquire, statement or lock timeout).
  SERVICE_UNAVAILABLE: { status: 503, retryable: true },
  // Request shape and authentication.
  VALIDATION_ERROR: { status: 400, retryable: false },
  UNAUTHENTICATED: { status: 401, retryable: false },
  INSUFFICIENT_SCOPE: { status: 403, retryable: false },
  CSRF_TOKEN_INVALID: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  ROUTE_NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  CONFLICT: { status: 409, retryable: false },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false },
  IDEMPOTENCY_REQUEST_IN_PROGRESS: { status: 409, retryable: true },
  IDEMPOTENCY_RESPONSE_CONSUMED: { status: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  PRECONDITION_FAILED: { status: 412, retryable: false },
  // Domain objects.
  DATASET_VERSION_NOT_FOUND: { status: 404, retryable: false },
  // POST /datasets with an explicit id (platform migration) that is already taken.
  DATASET_ALREADY_EXISTS: { status: 409, retryable: false },
  PROJECT_NOT_FOUND: { status: 404, retryable: false },
  JOB_NOT_FOUND: { status: 404, retryable: false },
  SERVICE_ACCOUNT_NOT_FOUND: { status: 404, retryable: false },
  PLUGIN_INSTANCE_NOT_FOUND: { status: 404, retryable: false },
  ARCHIVE_NOT_READY: { status: 409, retryable: true },
  JOB_NOT_CANCELLABLE: { status: 409, retryable: false },
  // Plugins.
  PLUGIN_INCOMPATIBLE: { status: 400, retryable: false },
  PLUGIN_CONFIG_INVALID: { status: 400, retryable: false },
  PLUGIN_NOT_REGISTERED: { status: 400, retryable: false },
  PLUGIN_UNAVAILABLE: { status: 503, retryable: true },
  CAPABILITY_UNSUPPORTED: { status: 501, retryable: false },
  // Storage.
  STORAGE_OBJECT_NOT_FOUND: { status: 404, retryable: false },
  STORAGE_KEY_INVALID: { status: 400, retryable: false },
  STORAGE_UNAVAILABLE: { status: 503, retryable: true },
  PRESIGN_EXPIRY_INVALID: { status: 400, retryable: false },
  PRESIGNED_URL_INVALID: { status: 403, retryable: false },
  // Annotation backends (Label Studio).
  BACKEND_UNAVAILABLE: { status: 503, retryable: true },
  BACKEND_AUTH_FAILED: { status: 502, retryable: false },
  BACKEND_NOT_FOUND: { status: 404, retryable: false },
  BACKEND_REJECTED: { status: 422, retryable: false },
  BACKEND_TIMEOUT: { status: 504, retryable: true },
  LABEL_CONFIG_INVALID: { status: 422, retryable: false },
  // Dataset connectors and files.
  DATASET_FORMAT_INVALID: { status: 422, retryable: false },
  PREFLIGHT_FAILED: { status: 422, retryable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorDetails = Record<string, unknown>;

export interface LabelerErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
  /** Overrides the catalogue's status, e.g. to answer 404 instead of 403 for hidden resources. */
  status?: number;
  retryable?: boolean;
  /** Seconds a client should wait before retrying (rendered as Retry-After). */
  retryAfterSeconds?: number;
}

export class LabelerError extends Error {
  readonly [ERROR_MARKER] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetails;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: LabelerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabelerError';
    const spec: ErrorSpec = ERROR_CODES[code];
    this.code = code;
    this.status = options.status ?? spec.status;
    this.retryable = options.retryable ?? spec.retryable;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True for any LabelerError, including one created by another copy of this package. */
export function isLabelerError(value: unknown): value is LabelerError {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ERROR_MARKER] === true
  );
}

export function labelerError(code: ErrorCode, message: string, options?: LabelerErrorOptions): LabelerError {
  return new LabelerError(code, message, options);
}

/** Turns anything thrown into a LabelerError; unknown errors become INTERNAL_ERROR with a safe message. */
export function toLabelerError(error: unknown): LabelerError {
  if (isLabelerError(error)) return error;
  return new LabelerError(
    'INTERNAL_ERROR',
    'An unexpected error occurred. Retry later; if it persists, contact the Labeler operators with the request id.',
    {
      cause: error,
    },
  );
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
