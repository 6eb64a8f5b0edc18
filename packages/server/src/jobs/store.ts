import type { Job, JobQueue, JobState } from '@labeler/core';
import type { Orm } from '../db/orm.js';
import { JobRecord } from '../modules/jobs/entities.js';
import { type SqlExecutor, sqlOf } from './sql.js';
import type { JobListFilter } from './types.js';

/**
 * Our `job` table: the status record of every job. Every state change is one guarded UPDATE, so two
 * workers (or a worker and a cancel) can never both win: a run holds attempt number N and its writes
 * only land while the row still says `in_progress` with `attempts = N`.
 */

export interface JobError {
  code: string;
  message: string;
}

export interface NewJobRow {
  id: string;
  kind: string;
  queue: JobQueue;
  dedupKey: string | null;
  payload: Record<string, unknown>;
  maxAttempts: number;
  timeoutSeconds: number;
  createdBy: string | null;
  progressMessage: string | null;
}

export interface ClaimedRun {
  kind: string;
  payload: unknown;
  maxAttempts: number;
  timeoutSeconds: number;
}

export interface RunFlags {
  state: JobState;
  attempts: number;
  cancelRequested: boolean;
}

export interface Progress {
  done: number;
  total: number | null;
  message: string | null;
}

const ACTIVE = `('queued', 'in_progress')`;

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** jsonb comes back parsed from `pg`, as text from some drivers. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

export class JobStore {
  constructor(private readonly orm: Orm) {}

  /** Statements outside any caller transaction. */
  pool(): SqlExecutor {
    return sqlOf(this.orm.em.fork());
  }

  /** Inserts a queued job unless an active job has the same dedup key; returns the existing id then. */
  async insert(sql: SqlExecutor, row: NewJobRow): Promise<{ id: string; inserted: boolean } | null> {
    const { rows } = await sql.executeSql(
      `insert into "job" ("id", "kind", "queue", "state", "dedup_key", "payload", "progress_done", "progress_message", "attempts", "max_attempts",
         "timeout_seconds", "cancel_requested", "created_by", "created_at", "updated_at")
       values ($1, $2, $3, 'queued', $4, $5::jsonb, 0, $6, 0, $7, $8, false, $9, now(), now())
       on conflict ("dedup_key") where "dedup_key" is not null and "state" in ${ACTIVE} do nothing
       returning "id"`,
      [
        row.id,
        row.kind,
        row.queue,
        row.dedupKey,
        JSON.stringify(row.payload),
        row.progressMessage,
        row.maxAttempts,
        row.timeoutSeconds,
        row.createdBy,
      ],
    );
    if (rows.length) return { id: row.id, inserted: true };
    if (row.dedupKey === null) return null;
    const existing = await sql.executeSql(
      `select "id" from "job" where "dedup_key" = $1 and "state" in ${ACTIVE} limit 1`,
      [row.dedupKey],
    );
    const id = existing.rows[0]?.id;
    // null: the conflicting job finished between the two statements; the caller tries again.
    return typeof id === 'string' ? { id, inserted: false } : null;
  }

  /** Takes attempt `attempt` of a job; null when it is final, cancelled, or that attempt was already taken. */
  async claim(id: string, attempt: number): Promise<ClaimedRun | null> {
    const { rows } = await this.pool().executeSql(
      `update "job" set "state" = 'in_progress', "attempts" = $2, "started_at" = coalesce("started_at", now()), "updated_at" = now()
       where "id" = $1 and "state" in ${ACTIVE} and "attempts" < $2 and not "cancel_requested"
       returning "kind", "payload", "max_attempts", "timeout_seconds"`,
      [id, attempt],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      kind: String(row.kind),
      payload: parseJson(row.payload),
      maxAttempts: Number(row.max_attempts),
      timeoutSeconds: Number(row.timeout_seconds),
    };
  }

  /** A cancel requested while the job waited (or its worker died) takes effect here. */
  async cancelIfRequested(id: string): Promise<boolean> {
    const { rows } = await this.pool().executeSql(
      `update "job" set "state" = 'cancelled', "finished_at" = now(), "updated_at" = now()
       where "id" = $1 and "state" in ${ACTIVE} and "cancel_requested" returning "id"`,
      [id],
    );
    return rows.length > 0;
  }

  /** Final state of the run holding `attempt`. False when the run no longer owns the job. */
  async finish(
    id: string,
    attempt: number,
    state: 'completed' | 'failed' | 'cancelled',
    outcome: { result?: unknown; error?: JobError | null; progress: Progress | null },
  ): Promise<boolean> {
    const p = outcome.progress;
    const { rows } = await this.pool().executeSql(
      `update "job" set "state" = $3, "result" = $4::jsonb, "error" = $5::jsonb, "finished_at" = now(), "updated_at" = now(),
         "progress_done" = coalesce($6, "progress_done"), "progress_total" = case when $9 then $7 else "progress_total" end,
         "progress_message" = case when $9 then $8 else "progress_message" end
       where "id" = $1 and "attempts" = $2 and "state" = 'in_progress' returning "id"`,
      [
        id,
        attempt,
        state,
        json(outcome.result),
        json(outcome.error ?? null),
        p?.done ?? null,
        p?.total ?? null,
        p?.message ?? null,
        p !== null,
      ],
    );
    return rows.length > 0;
  }

  /** A failed attempt that will be retried: back to queued, keeping the error for display. */
  async requeue(id: string, attempt: number, error: JobError): Promise<boolean> {
    const { rows } = await this.pool().executeSql(
      `update "job" set "state" = 'queued', "error" = $3::jsonb, "updated_at" = now()
       where "id" = $1 and "attempts" = $2 and "state" = 'in_progress' returning "id"`,
      [id, attempt, JSON.stringify(error)],
    );
    return rows.length > 0;
  }

  async writeProgress(id: string, attempt: number, progress: Progress): Promise<void> {
    await this.pool().executeSql(
      `update "job" set "progress_done" = $3, "progress_total" = $4, "progress_message" = $5, "updated_at" = now()
       where "id" = $1 and "attempts" = $2 and "state" = 'in_progress'`,
      [id, attempt, progress.done, progress.total, progress.message],
    );
  }

  /** Cancel and ownership flags of running jobs, one statement for all of this process's runs. */
  async flags(ids: string[]): Promise<Map<string, RunFlags>> {
    const out = new Map<string, RunFlags>();
    if (!ids.length) return out;
    const { rows } = await this.pool().executeSql(
      `select "id", "state", "attempts", "cancel_requested" from "job" where "id" = any($1::text[])`,
      [ids],
    );
    for (const row of rows)
      out.set(String(row.id), {
        state: row.state as JobState,
        attempts: Number(row.attempts),
        cancelRequested: row.cancel_requested === true,
      });
    return out;
  }

  /** Queued → cancelled at once; running → flagged (the run stops itself). Returns what happened. */
  async requestCancel(id: string): Promise<'cancelled' | 'requested' | 'final'> {
    const sql = this.pool();
    const queued = await sql.executeSql(
      `update "job" set "state" = 'cancelled', "cancel_requested" = true, "finished_at" = now(), "updated_at" = now()
       where "id" = $1 and "state" = 'queued' returning "id"`,
      [id],
    );
    if (queued.rows.length) return 'cancelled';
    const running = await sql.executeSql(
      `update "job" set "cancel_requested" = true, "updated_at" = now() where "id" = $1 and "state" = 'in_progress' returning "id"`,
      [id],
    );
    return running.rows.length ? 'requested' : 'final';
  }

  /** Marks an active job failed whatever attempt holds it (its last worker was lost). */
  async failActive(id: string, error: JobError): Promise<(ClaimedRun & { attempts: number }) | null> {
    const { rows } = await this.pool().executeSql(
      `update "job" set "state" = 'failed', "error" = $2::jsonb, "finished_at" = now(), "updated_at" = now()
       where "id" = $1 and "state" in ${ACTIVE} returning "kind", "payload", "max_attempts", "timeout_seconds", "attempts"`,
      [id, JSON.stringify(error)],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      kind: String(row.kind),
      payload: parseJson(row.payload),
      maxAttempts: Number(row.max_attempts),
      timeoutSeconds: Number(row.timeout_seconds),
      attempts: Number(row.attempts),
    };
  }

  /** The public view read through `sql` (inside the caller's transaction when starting a job). */
  async view(sql: SqlExecutor, id: string): Promise<Job | null> {
    const { rows } = await sql.executeSql(`select * from "job" where "id" = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    const date = (v: unknown): string | null =>
      v === null || v === undefined ? null : new Date(v as string | Date).toISOString();
    const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
    return {
      id: String(row.id),
      kind: String(row.kind),
      queue: row.queue as JobQueue,
      state: row.state as JobState,
      dedup_key: (row.dedup_key as string | null) ?? null,
      progress: {
        done: Number(row.progress_done),
        total: num(row.progress_total),
        message: (row.progress_message as string | null) ?? null,
      },
      attempts: Number(row.attempts),
      error: (parseJson(row.error) as JobError | null) ?? null,
      created_by: (row.created_by as string | null) ?? null,
      created_at: date(row.created_at) ?? new Date().toISOString(),
      started_at: date(row.started_at),
      finished_at: date(row.finished_at),
      result: parseJson(row.result) ?? null,
    };
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.orm.em.fork().findOne(JobRecord, { id });
  }

  async getMany(ids: string[]): Promise<JobRecord[]> {
    if (!ids.length) return [];
    return this.orm.em.fork().find(JobRecord, { id: { $in: ids } });
  }

  /** Newest first; the cursor is the last row's `created_at|id`. */
  async list(filter: JobListFilter): Promise<{ records: JobRecord[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const where: Record<string, unknown> = {};
    if (filter.ids) where.id = { $in: filter.ids };
    if (filter.state) where.state = filter.state;
    if (filter.kind) where.kind = filter.kind;
    const cursor = decodeCursor(filter.cursor);
    if (cursor)
      where.$or = [
        { createdAt: { $lt: cursor.createdAt } },
        { createdAt: cursor.createdAt, id: { $lt: cursor.id } },
      ];
    const records = await this.orm.em
      .fork()
      .find(JobRecord, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    return { records: page, nextCursor: records.length > limit && last ? encodeCursor(last) : null };
  }
}

function encodeCursor(record: JobRecord): string {
  return Buffer.from(`${record.createdAt.toISOString()}|${record.id}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): { createdAt: Date; id: string } | null {
  if (!cursor) return null;
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) return null;
  return { createdAt, id };
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The public shape (core's jobSchema). */
export function toJobView(record: JobRecord): Job {
  return {
    id: record.id,
    kind: record.kind,
    queue: record.queue,
    state: record.state,
    dedup_key: record.dedupKey ?? null,
    progress: {
      done: record.progressDone,
      total: record.progressTotal ?? null,
      message: record.progressMessage ?? null,
    },
    attempts: record.attempts,
    error: record.error ?? null,
    created_by: record.createdBy ?? null,
    created_at: record.createdAt.toISOString(),
    started_at: iso(record.startedAt),
    finished_at: iso(record.finishedAt),
    result: record.result ?? null,
  };
}
