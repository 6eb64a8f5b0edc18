import { createHash } from 'node:crypto';
import { isErrorCode, LabelerError, type ErrorCode } from '@labeler/core';
import type { NextFunction, Request, Response } from 'express';

const TRPC_CODE_TO_ERROR: Record<string, ErrorCode> = {
  BAD_REQUEST: 'VALIDATION_ERROR',
  PARSE_ERROR: 'VALIDATION_ERROR',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'ACCESS_DENIED',
  NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  TOO_MANY_REQUESTS: 'RATE_LIMIT_EXCEEDED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  CONFLICT: 'CONFLICT',
};

export interface ErrorEnvelope {
  error: { code: string; message: string; details: Record<string, unknown>; timestamp: string };
}

export function envelopeOf(error: LabelerError, requestId?: string): ErrorEnvelope {
  return {
    error: {
      code: error.code,
      message: error.message,
      details: { ...error.details, ...(requestId ? { request_id: requestId } : {}) },
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}

/** Builds the spec envelope from whatever error body the OpenAPI adapter produced. */
function toEnvelope(body: unknown, status: number, requestId: string): ErrorEnvelope {
  const already = body as Partial<ErrorEnvelope> | null;
  if (already?.error && typeof already.error.code === 'string' && typeof already.error.timestamp === 'string')
    return already as ErrorEnvelope;
  const b = (body ?? {}) as {
    message?: string;
    code?: string;
    issues?: unknown;
    data?: { labeler?: { code?: string; details?: Record<string, unknown> } };
  };
  const labeler = b.data?.labeler;
  if (labeler?.code && isErrorCode(labeler.code)) {
    return envelopeOf(
      new LabelerError(labeler.code, b.message ?? labeler.code, { details: labeler.details ?? {} }),
      requestId,
    );
  }
  const code: ErrorCode =
    (b.code && TRPC_CODE_TO_ERROR[b.code]) || (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR');
  const message =
    status >= 500
      ? 'An unexpected error occurred. Retry later; if it persists, contact the Labeler operators with the request id.'
      : (b.message ?? code);
  return envelopeOf(
    new LabelerError(code, message, { details: b.issues ? { issues: b.issues } : {} }),
    requestId,
  );
}

export function weakEtag(body: Buffer | string): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const c = candidate.trim();
    return c === '*' || c === etag || c.replace(/^W\//, '') === etag.replace(/^W\//, '');
  });
}

/**
 * Wraps res.end for REST routes: rewrites every error body into the spec's envelope
 * {"error":{code,message,details,timestamp}} (the OpenAPI adapter's own shape is {message, code, issues}),
 * and gives successful GETs a weak ETag, answering If-None-Match with 304.
 */
export function restEnvelope(req: Request, res: Response, next: NextFunction): void {
  const originalEnd = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    const contentType = String(res.getHeader('content-type') ?? '');
    if (
      chunk !== undefined &&
      chunk !== null &&
      typeof chunk !== 'function' &&
      contentType.includes('json')
    ) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      if (res.statusCode >= 400) {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(buffer.toString('utf8'));
        } catch {
          parsed = null;
        }
        const envelope = toEnvelope(parsed, res.statusCode, String(req.id ?? ''));
        const out = Buffer.from(JSON.stringify(envelope));
        res.setHeader('content-length', out.length);
        res.setHeader('content-type', 'application/json; charset=utf-8');
        return originalEnd(out, ...rest.filter((r) => typeof r === 'function'));
      }
      if (req.method === 'GET' && res.statusCode === 200) {
        const etag = weakEtag(buffer);
        res.setHeader('ETag', etag);
        res.setHeader('Cache-Control', 'private, no-cache');
        if (etagMatches(req.headers['if-none-match'], etag)) {
          res.statusCode = 304;
          res.removeHeader('content-length');
          res.removeHeader('content-type');
          return originalEnd();
        }
      }
    }
    return originalEnd(chunk, ...rest);
  }) as Response['end'];
  next();
}

/**
 * Retry-After for an error response: the error's own hint; else 5 s for 429/503 unless the response
 * already carries one (e.g. a rate-limit window's reset); else none.
 */
export function retryAfterFor(error: LabelerError, current?: string): string | undefined {
  if (error.retryAfterSeconds !== undefined) return String(error.retryAfterSeconds);
  if (current) return current;
  return error.status === 503 || error.status === 429 ? '5' : undefined;
}

/** The errors every REST path gives for a request it cannot read, worded once. */
export const requestErrors = {
  nul: () =>
    new LabelerError(
      'VALIDATION_ERROR',
      'The request contains a NUL character, which is not allowed in any field.',
    ),
  notJson: () =>
    new LabelerError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the request body as JSON (Content-Type: application/json).',
    ),
  malformedText: () =>
    new LabelerError(
      'VALIDATION_ERROR',
      'The request contains text that is not well-formed UTF-16 (a lone surrogate, e.g. "\\ud800"); send valid Unicode.',
    ),
  invalidJson: () => new LabelerError('VALIDATION_ERROR', 'The request body is not valid JSON.'),
  tooLarge: () => new LabelerError('PAYLOAD_TOO_LARGE', 'The request body is too large.'),
  incomplete: () => new LabelerError('VALIDATION_ERROR', 'The request body was not received completely.'),
  bodyTimeout: () =>
    new LabelerError('VALIDATION_ERROR', 'The request body did not arrive in time.', { status: 408 }),
  tooManyCalls: (max: number) =>
    new LabelerError('VALIDATION_ERROR', `A tRPC batch may hold at most ${max} calls.`, {
      details: { max_batch_size: max },
    }),
};

/** 413 and 408 leave an unread body on the connection: close it rather than read the rest. */
export function closesConnection(status: number): boolean {
  return status === 413 || status === 408;
}

/** JSON content types (application/json and application/*+json). */
export const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\b/i;

export function sendError(res: Response, error: LabelerError, requestId?: string): void {
  if (res.headersSent) return;
  const retryAfter = retryAfterFor(error);
  if (retryAfter) res.setHeader('Retry-After', retryAfter);
  if (closesConnection(error.status)) res.setHeader('Connection', 'close');
  res.status(error.status).json(envelopeOf(error, requestId));
}
