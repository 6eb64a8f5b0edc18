import { isLabelerError, LabelerError } from '@labeler/core';

/** Seconds a client is told to wait when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket-level failures: the database host refuses, drops or never answers. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs that mean "not now" rather than "wrong request": query_canceled (57014, statement_timeout),
 * lock_not_available (55P03, lock_timeout), too_many_connections (53300), admin/crash shutdown and
 * cannot_connect_now (57P01-57P03), idle_in_transaction_session_timeout (25P03). Class 08 is every
 * connection exception.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '55P03', '53300', '57P01', '57P02', '57P03', '25P03']);

/** Messages of pg / pg-pool / MikroORM that carry no code. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error and is not queryable|Client was closed and is not queryable|terminating connection due to/i;

/** The short reason ("ECONNREFUSED", "57014", "connect timeout", …) when `error` means the database is unavailable. */
export function databaseUnavailableReason(error: unknown): string | null {
  const seen = new Set<unknown>();
  const stack: unknown[] = [error];
  while (stack.length) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    // LabelerErrors other than our own are decisions, not transport failures.
    if (isLabelerError(current) && current !== error) continue;
    const e = current as {
      code?: unknown;
      sqlState?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    for (const code of [e.code, e.sqlState]) {
      if (typeof code !== 'string') continue;
      if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))
        return code;
    }
    if (typeof e.message === 'string') {
      const match = UNAVAILABLE_MESSAGE.exec(e.message);
      if (match) return match[0].toLowerCase();
    }
    stack.push(e.cause);
    if (Array.isArray(e.errors)) stack.push(...e.errors);
  }
  return null;
}

/** The SERVICE_UNAVAILABLE error for a database failure (the cause is kept for the log, never rendered). */
export function databaseUnavailable(reason: string, cause?: unknown): LabelerError {
  return new LabelerError(
    'SERVICE_UNAVAILABLE',
    'The database is temporarily unavailable. Retry after the time in the Retry-After header.',
    { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS, details: { reason }, cause },
  );
}
