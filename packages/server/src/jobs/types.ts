import type { Job, JobQueue } from '@labeler/core';
import type { z } from 'zod';
import type { Em } from '../db/orm.js';
import type { Logger } from '../lib/logger.js';

/** What a job handler receives. Payloads carry ids, never objects. */
export interface JobContext<P> {
  jobId: string;
  kind: string;
  payload: P;
  /** 1 for the first run. */
  attempt: number;
  /** A fresh entity manager for this run. */
  em: Em;
  /** Aborted on timeout, cancel or shutdown; long work must check it. */
  signal: AbortSignal;
  logger: Logger;
  /** Records progress (throttled writes); safe to call often. */
  progress(done: number, total?: number | null, message?: string | null): Promise<void>;
}

export interface JobDefinition<P = unknown, R = unknown> {
  kind: string;
  queue: JobQueue;
  payloadSchema: z.ZodType<P>;
  /** Default: the queue's timeout. */
  timeoutSeconds?: number;
  /** Total attempts including the first (default 3). A lost worker (killed mid-job) uses up an attempt too. */
  maxAttempts?: number;
  /** Seconds before the first retry (default: runtime tuning, 10); doubles per attempt unless retryBackoff is false. */
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /** Starting a job whose key matches a queued or running job returns that job instead. */
  dedupKey?(payload: P): string | null;
  run(ctx: JobContext<P>): Promise<R>;
  /** Runs once after the last attempt failed (e.g. mark a storage sync failed). */
  onFailure?(ctx: JobContext<P>, error: { code: string; message: string }): Promise<void>;
}

export interface StartJobOptions {
  /** Enqueue inside this transaction: the job exists only if it commits. */
  em?: Em;
  createdBy?: string | null;
  /** Run in-process now and return when finished (tests, CLI --sync); same code path as workers. */
  sync?: boolean;
  /** Overrides the definition's dedup key. */
  dedupKey?: string | null;
  /** Deliver no earlier than this many seconds from now (async mode; e.g. a webhook's next retry). */
  startAfterSeconds?: number;
}

export interface StartJobResult {
  job: Job;
  /** True when an existing queued/running job with the same dedup key was returned. */
  deduplicated: boolean;
}

export interface JobListFilter {
  /** Exactly these jobs (the console's progress feed); other filters still apply. */
  ids?: string[];
  state?: Job['state'];
  kind?: string;
  limit?: number;
  cursor?: string;
}

export interface JobRuntime {
  register<P, R>(definition: JobDefinition<P, R>): void;
  startJob<P>(kind: string, payload: P, options?: StartJobOptions): Promise<StartJobResult>;
  get(id: string): Promise<Job>;
  list(filter?: JobListFilter): Promise<{ jobs: Job[]; nextCursor: string | null }>;
  cancel(id: string): Promise<Job>;
  retry(id: string): Promise<Job>;
  /** Resolves when the job reaches a final state (or rejects after timeoutMs). */
  waitFor(id: string, timeoutMs?: number): Promise<Job>;
  /**
   * Starts workers for registered kinds (embedded or `labeler worker`). Without workers it starts only the
   * queue client, and on PostgreSQL not even that (pg-boss then starts on the first enqueue).
   */
  startWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export type { JobQueue };
