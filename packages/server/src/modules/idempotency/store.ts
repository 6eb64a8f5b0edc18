import { LabelerError } from '@labeler/core';
import { z } from 'zod';
import type { FastSql } from '../../db/fast-sql.js';
import { decryptJson, encryptJson, randomToken } from '../../lib/crypto.js';

/** How long a key's record is kept. */
export const TTL_HOURS = 24;
/** How long an in-progress record stays its owner's without a refresh; a retry after that takes it over. */
export const LEASE_SECONDS = 30;
/** The owner refreshes its lease this often while its request runs. */
const REFRESH_MS = 10_000;
const SWEEP_EVERY_MS = 60_000;

/** What a replay gives back: the first answer's status, the headers that matter, the body. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const sealedSchema = z.object({ headers: z.record(z.string(), z.string()), body: z.unknown() });

const existingSchema = z.object({
  request_hash: z.string(),
  state: z.enum(['in_progress', 'completed', 'consumed']),
  response_status: z.number().int().nullable(),
  response_body: z.string().nullable(),
  secret: z.boolean(),
  lease_seconds: z.coerce.number().nullable(),
});

export interface RecordId {
  principalId: string;
  key: string;
}

export interface NewRecord extends RecordId {
  method: string;
  path: string;
  requestHash: string;
}

/**
 * The outcome of claiming a key: run the request as its owner, replay the stored answer, or run the
 * request again (`rerun`: its first answer was re-derivable, so none was stored).
 */
export type Claim =
  | { kind: 'owner'; lease: Lease }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'rerun' };

const CLAIM = `insert into "idempotency_key" ("principal_id", "key", "method", "path", "request_hash", "state", "secret", "created_at", "expires_at", "locked_until", "lock_token")
  values ($1, $2, $3, $4, $5, 'in_progress', false, now(), now() + make_interval(hours => $6), now() + make_interval(secs => $7), $8)
  on conflict ("principal_id", "key") do update set
    "method" = excluded."method", "path" = excluded."path", "request_hash" = excluded."request_hash",
    "state" = 'in_progress', "secret" = false, "response_status" = null, "response_body" = null,
    "created_at" = excluded."created_at", "expires_at" = excluded."expires_at",
    "locked_until" = excluded."locked_until", "lock_token" = excluded."lock_token"
  where "idempotency_key"."expires_at" <= now()
    or ("idempotency_key"."state" = 'in_progress' and "idempotency_key"."request_hash" = excluded."request_hash"
        and coalesce("idempotency_key"."locked_until" <= now(), true))
  returning "lock_token"`;

const EXISTING = `select "request_hash", "state", "response_status", "response_body", "secret",
    extract(epoch from ("locked_until" - now()))::float8 as "lease_seconds"
  from "idempotency_key" where "principal_id" = $1 and "key" = $2 and "expires_at" > now()`;

/** Takes a secret-bearing answer out: only one replay can get it. */
const CONSUME = `with "taken" as (
    select "principal_id", "key", "response_body" from "idempotency_key"
    where "principal_id" = $1 and "key" = $2 and "state" = 'completed' for update)
  update "idempotency_key" k set "state" = 'consumed', "response_body" = null from "taken"
  where k."principal_id" = "taken"."principal_id" and k."key" = "taken"."key"
  returning "taken"."response_body"`;

/**
 * The idempotency records (table `idempotency_key`): claiming a key, leases, encrypted answers.
 * See README.md for the rules.
 */
export class IdempotencyStore {
  #lastSweep = 0;

  constructor(
    private readonly sql: FastSql,
    private readonly encryptionKey: Buffer,
  ) {}

  /**
   * Claims `record` for this request, or finds its stored answer. Throws IDEMPOTENCY_KEY_REUSED (another
   * request used the key), IDEMPOTENCY_REQUEST_IN_PROGRESS (its owner holds the lease) or
   * IDEMPOTENCY_RESPONSE_CONSUMED (a secret-bearing answer already replayed).
   */
  async claim(record: NewRecord): Promise<Claim> {
    this.#sweep();
    // A record can vanish between the two statements (its owner failed and released it): claim again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = randomToken(16);
      const owned = await this.sql.query<{ lock_token: string }>(CLAIM, [
        record.principalId,
        record.key,
        record.method,
        record.path,
        record.requestHash,
        TTL_HOURS,
        LEASE_SECONDS,
        token,
      ]);
      if (owned.length) return { kind: 'owner', lease: new Lease(this.sql, record, token) };
      const rows = await this.sql.query<unknown>(EXISTING, [record.principalId, record.key]);
      if (!rows.length) continue;
      const existing = existingSchema.parse(rows[0]);
      if (existing.request_hash !== record.requestHash) throw reused(record.key);
      if (existing.state === 'in_progress') throw inProgress(record.key, existing.lease_seconds);
      if (existing.state === 'consumed') throw consumed(record.key);
      if (existing.response_body === null && !existing.secret) return { kind: 'rerun' };
      let sealed = existing.response_body;
      if (existing.secret) {
        const taken = await this.sql.query<{ response_body: string | null }>(CONSUME, [
          record.principalId,
          record.key,
        ]);
        if (!taken.length) throw consumed(record.key);
        sealed = taken[0]!.response_body;
      }
      const opened = this.#open(sealed);
      if (!opened) throw consumed(record.key);
      return {
        kind: 'replay',
        answer: { status: existing.response_status ?? 200, headers: opened.headers, body: opened.body },
      };
    }
    throw inProgress(record.key, null);
  }

  /** Stores the owner's final answer, encrypted; `secret` answers are replayed once. */
  async complete(lease: Lease, answer: StoredAnswer, secret: boolean): Promise<void> {
    lease.stop();
    const sealed = encryptJson(this.encryptionKey, { headers: answer.headers, body: answer.body });
    await this.sql.query(
      `update "idempotency_key" set "state" = 'completed', "response_status" = $4, "response_body" = $5,
         "secret" = $6, "locked_until" = null, "lock_token" = null
       where "principal_id" = $1 and "key" = $2 and "lock_token" = $3`,
      [lease.record.principalId, lease.record.key, lease.token, answer.status, sealed, secret],
    );
  }

  /** Marks the owner's request done without storing its answer: a retry runs the request again. */
  async completeRerunnable(lease: Lease, status: number): Promise<void> {
    lease.stop();
    await this.sql.query(
      `update "idempotency_key" set "state" = 'completed', "response_status" = $4, "response_body" = null,
         "secret" = false, "locked_until" = null, "lock_token" = null
       where "principal_id" = $1 and "key" = $2 and "lock_token" = $3`,
      [lease.record.principalId, lease.record.key, lease.token, status],
    );
  }

  /** Forgets the owner's record (its request failed): a retry runs again. */
  async release(lease: Lease): Promise<void> {
    lease.stop();
    await this.sql.query(
      `delete from "idempotency_key" where "principal_id" = $1 and "key" = $2 and "lock_token" = $3`,
      [lease.record.principalId, lease.record.key, lease.token],
    );
  }

  /** The stored answer, or null when it cannot be read (sealed under another LABELER_SECRET_KEY). */
  #open(sealed: string | null): z.infer<typeof sealedSchema> | null {
    if (!sealed) return null;
    try {
      return sealedSchema.parse(decryptJson(this.encryptionKey, sealed));
    } catch {
      return null;
    }
  }

  /** Expired records hold answers nobody may replay any more: delete them, at most once a minute. */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    void this.sql
      .query(`delete from "idempotency_key" where "expires_at" <= now()`, [])
      .catch(() => undefined);
  }
}

/** An owner's hold on an in-progress record, refreshed while its request runs. */
export class Lease {
  readonly #timer: NodeJS.Timeout;

  constructor(
    sql: FastSql,
    readonly record: RecordId,
    readonly token: string,
  ) {
    this.#timer = setInterval(() => {
      void sql
        .query(
          `update "idempotency_key" set "locked_until" = now() + make_interval(secs => $4)
           where "principal_id" = $1 and "key" = $2 and "lock_token" = $3 and "state" = 'in_progress'`,
          [record.principalId, record.key, token, LEASE_SECONDS],
        )
        .catch(() => undefined);
    }, REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function reused(key: string): LabelerError {
  return new LabelerError(
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was used with a different request. Use a new key for a new request.',
    { details: { idempotency_key: key } },
  );
}

function inProgress(key: string, leaseSeconds: number | null): LabelerError {
  return new LabelerError(
    'IDEMPOTENCY_REQUEST_IN_PROGRESS',
    'A request with this Idempotency-Key is still being processed; retry shortly.',
    {
      details: { idempotency_key: key },
      retryAfterSeconds: Math.min(LEASE_SECONDS, Math.max(1, Math.ceil(leaseSeconds ?? 1))),
    },
  );
}

function consumed(key: string): LabelerError {
  return new LabelerError(
    'IDEMPOTENCY_RESPONSE_CONSUMED',
    'The answer to this Idempotency-Key is no longer stored: an answer that carries a secret (a new API key, a signed URL) is replayed once only. The request is not run again: look its result up (e.g. list service accounts and rotate the key) or send a new Idempotency-Key.',
    { details: { idempotency_key: key } },
  );
}
