import { LabelerError, type Principal } from '@labeler/core';
import type { TRPCError } from '@trpc/server';
import type { AppServices } from '../../app/services.js';
import { sha256Hex } from '../../lib/crypto.js';
import type { RequestContext } from '../../trpc/context.js';
import { IdempotencyStore, type StoredAnswer } from './store.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REST_PREFIX = '/api/v1/';
/** Headers of an answer that a replay repeats (rate-limit headers are the replay's own). */
const REPLAYED_HEADERS = ['Location', 'Retry-After'] as const;
/** Fields whose value lets its holder in: an answer holding one is replayed once. */
const SECRET_FIELDS = new Set(['api_key', 'download_url', 'upload_url', 'url', 'secret']);

/** JSON with object keys sorted, so equal inputs hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Whom a record belongs to: the principal, whichever of its credentials it used. */
export function recordOwner(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}

/** What identifies the request a key was first used for. */
export function requestHash(method: string, path: string, rawInput: unknown): string {
  return sha256Hex(`${method} ${path} ${canonicalJson(rawInput)}`);
}

export function carriesSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(carriesSecret);
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(
    ([k, v]) => (SECRET_FIELDS.has(k) && typeof v === 'string') || carriesSecret(v),
  );
}

/** The Idempotency-Key of a REST mutation, or null: tRPC calls do not honour the header (README.md). */
function keyOf(ctx: RequestContext): { key: string; method: string; path: string } | null {
  const req = ctx.req;
  if (!req?.originalUrl.startsWith(REST_PREFIX)) return null;
  const key = req.headers['idempotency-key'];
  if (key === undefined) return null;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key))
    throw new LabelerError('VALIDATION_ERROR', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  return { key, method: req.method, path: req.originalUrl.split('?')[0]! };
}

const stores = new WeakMap<AppServices, IdempotencyStore>();

function storeOf(app: AppServices): IdempotencyStore {
  let store = stores.get(app);
  if (!store) {
    store = new IdempotencyStore(app.sql, app.keys.idempotency);
    stores.set(app, store);
  }
  return store;
}

export interface IdempotencyOptions {
  /**
   * The route only reads and issues (the Platform's download-url and batch): a retry runs it again, so it
   * re-checks everything (the named user's access too) and hands out a fresh answer; nothing is stored.
   */
  rerun: boolean;
}

type Outcome = { ok: true; data: unknown } | { ok: false; error: TRPCError };

/**
 * Runs a mutation under its Idempotency-Key: the first request with a key runs and its final answer is
 * stored; a retry gets that answer back. Called as a tRPC middleware once the caller is authenticated,
 * holds the route's scope and (Platform routes) has been charged, so a replay is authorized and counted
 * exactly like a first request.
 */
export async function runIdempotent<R extends Outcome>(
  ctx: RequestContext & { principal: Principal },
  getRawInput: () => Promise<unknown>,
  next: () => Promise<R>,
  replayed: (data: unknown) => R,
  options: IdempotencyOptions = { rerun: false },
): Promise<R> {
  const request = keyOf(ctx);
  if (!request) return next();
  const store = storeOf(ctx.app);
  const claim = await store.claim({
    principalId: recordOwner(ctx.principal),
    key: request.key,
    method: request.method,
    path: request.path.slice(0, 2000),
    requestHash: requestHash(request.method, request.path, await getRawInput()),
  });
  if (claim.kind === 'rerun') {
    ctx.response.headers['Idempotent-Replayed'] = 'true';
    return next();
  }
  if (claim.kind === 'replay') {
    const { status, headers, body } = claim.answer;
    if (status !== 200) ctx.response.status = status;
    Object.assign(ctx.response.headers, headers, { 'Idempotent-Replayed': 'true' });
    return replayed(body);
  }
  let result: R | undefined;
  try {
    result = await next();
  } finally {
    // Only successes are final answers: an error changed nothing (one transaction), so a retry runs again
    // and sees the state of then (a permission granted since, a new rate-limit window, a service back up).
    const stored = result?.ok ? answerOf(ctx, result.data) : null;
    await (!stored
      ? store.release(claim.lease)
      : options.rerun
        ? store.completeRerunnable(claim.lease, stored.status)
        : store.complete(claim.lease, stored, carriesSecret(stored.body))
    ).catch((error: unknown) =>
      // The caller still gets its answer; the record stays in progress until its lease ends.
      ctx.logger.warn({ err: error, key: request.key }, 'idempotency record not saved'),
    );
  }
  return result;
}

function answerOf(ctx: RequestContext, body: unknown): StoredAnswer {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = ctx.response.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return { status: ctx.response.status ?? 200, headers, body };
}
