import { LabelerError } from '@labeler/core';
import type { NextFunction, Request, Response } from 'express';
import type { Orm } from '../../db/orm.js';
import { sha256Hex } from '../../lib/crypto.js';
import { sendError } from '../../http/envelope.js';
import { IdempotencyKey } from './entities.js';

const TTL_MS = 24 * 3600_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * `Idempotency-Key` on REST POSTs (Stripe semantics): the first request's response is stored for 24 h
 * and replayed for retries with the same key and body; the same key with another body is 422; a retry
 * while the first is still running is 409. Keys are scoped to the caller's credential. 5xx responses are
 * not stored, so a retry runs again.
 */
export function idempotencyMiddleware(orm: Orm) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || key === undefined) return next();
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      return sendError(
        res,
        new LabelerError('VALIDATION_ERROR', 'Idempotency-Key must be 1-255 visible ASCII characters.'),
        String(req.id),
      );
    }
    const credential = req.headers.authorization ?? req.headers.cookie ?? 'anonymous';
    const principalId = sha256Hex(credential).slice(0, 32);
    const requestHash = sha256Hex(`${req.method} ${req.originalUrl.split('?')[0]} ${canonical(req.body)}`);
    const em = orm.em.fork();
    try {
      await em.nativeDelete(IdempotencyKey, { principalId, key, expiresAt: { $lt: new Date() } });
      const inserted = await em.getConnection().execute<Array<{ key: string }>>(
        `insert into "idempotency_key" ("principal_id", "key", "method", "path", "request_hash", "state", "created_at", "expires_at")
           values (?, ?, ?, ?, ?, 'in_progress', now(), ?) on conflict do nothing returning "key"`,
        [
          principalId,
          key,
          req.method,
          req.originalUrl.slice(0, 2000),
          requestHash,
          new Date(Date.now() + TTL_MS),
        ],
      );
      if (!inserted.length) {
        const existing = await em.findOne(IdempotencyKey, { principalId, key });
        if (!existing) return next();
        if (existing.requestHash !== requestHash) {
          return sendError(
            res,
            new LabelerError(
              'IDEMPOTENCY_KEY_REUSED',
              'This Idempotency-Key was used with a different request. Use a new key for a new request.',
              { details: { idempotency_key: key } },
            ),
            String(req.id),
          );
        }
        if (existing.state === 'in_progress') {
          return sendError(
            res,
            new LabelerError(
              'IDEMPOTENCY_REQUEST_IN_PROGRESS',
              'A request with this Idempotency-Key is still being processed; retry shortly.',
              { details: { idempotency_key: key }, retryAfterSeconds: 1 },
            ),
            String(req.id),
          );
        }
        res.setHeader('Idempotent-Replayed', 'true');
        res.status(existing.responseStatus ?? 200).json(existing.responseBody);
        return;
      }
    } catch (error) {
      return next(error);
    }
    const originalEnd = res.end.bind(res) as (...args: unknown[]) => Response;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      const status = res.statusCode;
      const store = async () => {
        const em2 = orm.em.fork();
        if (status >= 500) {
          await em2.nativeDelete(IdempotencyKey, { principalId, key });
          return;
        }
        let body: unknown = null;
        try {
          body = chunk ? JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)) : null;
        } catch {
          body = null;
        }
        await em2.nativeUpdate(
          IdempotencyKey,
          { principalId, key },
          { state: 'completed', responseStatus: status, responseBody: body },
        );
      };
      store()
        .catch(() => undefined)
        .finally(() => originalEnd(chunk, ...rest));
      return res;
    }) as Response['end'];
    next();
  };
}
