import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, LabelerError } from '@labeler/core';
import type { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { AppConfig } from '../config/env.js';
import type { Em, Orm } from '../db/orm.js';
import type { Metrics } from '../http/metrics.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/logger.js';
import { JOB_ERROR } from './errors.js';
import { JobExecutor } from './executor.js';
import {
  DEAD_LETTER_QUEUE,
  expireSecondsFor,
  JOB_QUEUES,
  type JobTuning,
  QUEUE_TIMEOUT_SECONDS,
  resolveTuning,
} from './settings.js';
import { bossIdOf, type SqlExecutor, sqlOf } from './sql.js';
import { JobStore, type NewJobRow, toJobView } from './store.js';
import type { JobDefinition, JobListFilter, JobRuntime, StartJobOptions, StartJobResult } from './types.js';

export interface JobRuntimeDeps {
  orm: Orm;
  logger: Logger;
  metrics: Metrics;
  config: AppConfig;
  /** Run workers in this process (server default; `labeler worker` processes always do). */
  embeddedWorkers: boolean;
  /** Worker-loop knobs (tests shorten intervals). */
  tuning?: Partial<JobTuning>;
}

/** What pg-boss carries: only our job id; payload and status live in our `job` table. */
const deliverySchema = z.object({ jobId: z.string().min(1) });
type Delivery = z.infer<typeof deliverySchema>;

const DEFAULT_MAX_ATTEMPTS = 3;
const FINAL_STATES: ReadonlySet<Job['state']> = new Set(['completed', 'failed', 'cancelled']);

export function createJobRuntime(deps: JobRuntimeDeps): JobRuntime {
  return new PgBossJobRuntime(deps);
}

/**
 * pg-boss delivers (retries with backoff, expiry, heartbeats, exactly one claim per attempt via
 * SKIP LOCKED); our `job` table holds status, progress and the guards that make every attempt run at
 * most once (see store.ts). A manual retry starts a new job with the same kind, payload and dedup key.
 */
export class PgBossJobRuntime implements JobRuntime {
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly store: JobStore;
  private readonly executor: JobExecutor;
  private readonly tuning: JobTuning;
  private boss: PgBoss | null = null;
  private starting: Promise<PgBoss> | null = null;
  private embedded = false;
  private workersStarted = false;
  private stopped = false;
  /** Interrupts synchronous runs waiting out a retry delay. */
  private readonly shutdown = new AbortController();
  private readonly syncRuns = new Set<Promise<unknown>>();

  constructor(private readonly deps: JobRuntimeDeps) {
    this.tuning = resolveTuning(deps.tuning);
    this.store = new JobStore(deps.orm);
    this.executor = new JobExecutor({
      orm: deps.orm,
      store: this.store,
      logger: deps.logger,
      metrics: deps.metrics,
      tuning: this.tuning,
      definition: (kind) => this.definitions.get(kind),
    });
  }

  register<P, R>(definition: JobDefinition<P, R>): void {
    if (this.definitions.has(definition.kind))
      throw new Error(`Job kind "${definition.kind}" is registered twice.`);
    if (
      definition.maxAttempts !== undefined &&
      (!Number.isInteger(definition.maxAttempts) || definition.maxAttempts < 1)
    )
      throw new Error(`Job kind "${definition.kind}": maxAttempts must be a positive integer.`);
    this.definitions.set(definition.kind, definition as unknown as JobDefinition);
  }

  async startJob<P>(kind: string, payload: P, options: StartJobOptions = {}): Promise<StartJobResult> {
    return this.start(kind, payload, options, null);
  }

  private async start(
    kind: string,
    payload: unknown,
    options: StartJobOptions,
    note: string | null,
  ): Promise<StartJobResult> {
    if (this.stopped)
      throw new LabelerError(
        'INTERNAL_ERROR',
        'The job runtime is shutting down; start the job again once the server is back.',
      );
    const definition = this.definitions.get(kind);
    if (!definition)
      throw new LabelerError('VALIDATION_ERROR', `Unknown job kind "${kind}".`, { details: { kind } });
    const parsed = definition.payloadSchema.safeParse(payload);
    if (!parsed.success)
      throw new LabelerError(
        'VALIDATION_ERROR',
        `Invalid payload for job "${kind}": ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
        { details: { kind } },
      );
    if (typeof parsed.data !== 'object' || parsed.data === null || Array.isArray(parsed.data))
      throw new Error(`Job "${kind}": the payload must be an object of ids.`);
    const row: NewJobRow = {
      id: newId('job'),
      kind,
      queue: definition.queue,
      dedupKey:
        options.dedupKey !== undefined ? options.dedupKey : (definition.dedupKey?.(parsed.data) ?? null),
      payload: JSON.parse(JSON.stringify(parsed.data)) as Record<string, unknown>,
      maxAttempts: definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      timeoutSeconds: definition.timeoutSeconds ?? QUEUE_TIMEOUT_SECONDS[definition.queue],
      createdBy: options.createdBy ?? null,
      progressMessage: note,
    };
    const callerTx = options.em?.isInTransaction() ? options.em : null;
    if (options.sync) {
      // Running inside the caller's transaction would see uncommitted rows and, on PGlite, deadlock.
      if (callerTx)
        throw new Error(
          `Job "${kind}": sync mode cannot start inside a database transaction; start it after the commit.`,
        );
      const result = await this.insert(this.store.pool(), row, null);
      if (result.deduplicated) return result;
      await this.trackSync(this.runSync(row.id, definition));
      return { job: await this.get(row.id), deduplicated: false };
    }
    // PGlite has one session: starting pg-boss while the caller's transaction holds it would wait forever.
    if (callerTx && !this.boss && !this.deps.config.DATABASE_URL) {
      throw new Error(
        `Job "${kind}": the job runtime is not started yet (startWorkers()); cannot enqueue inside a transaction on the embedded database.`,
      );
    }
    const boss = await this.ensureBoss();
    const startAfter = options.startAfterSeconds
      ? new Date(Date.now() + options.startAfterSeconds * 1000)
      : undefined;
    if (callerTx) return this.insert(sqlOf(callerTx), row, boss, startAfter);
    return this.deps.orm.em.fork().transactional((tem: Em) => this.insert(sqlOf(tem), row, boss, startAfter));
  }

  /** Our row and (async mode) the pg-boss delivery, in one transaction; dedup returns the active job. */
  private async insert(
    sql: SqlExecutor,
    row: NewJobRow,
    boss: PgBoss | null,
    startAfter?: Date,
  ): Promise<StartJobResult> {
    for (let i = 0; i < 3; i++) {
      const inserted = await this.store.insert(sql, row);
      if (!inserted) continue;
      if (inserted.inserted && boss)
        await boss.send(row.queue, { jobId: row.id } satisfies Delivery, {
          db: sql,
          id: bossIdOf(row.id),
          ...this.deliveryOptions(row),
          ...(startAfter ? { startAfter } : {}),
        });
      const job = await this.store.view(sql, inserted.id);
      if (!job) throw new Error(`job ${inserted.id} vanished while starting`);
      return { job, deduplicated: !inserted.inserted };
    }
    throw new LabelerError(
      'CONFLICT',
      `Could not start job "${row.kind}": the job with the same key kept changing state. Try again.`,
    );
  }

  private deliveryOptions(row: NewJobRow) {
    const definition = this.definitions.get(row.kind);
    return {
      retryLimit: row.maxAttempts - 1,
      retryDelay: definition?.retryDelaySeconds ?? this.tuning.retryDelaySeconds,
      retryBackoff: definition?.retryBackoff ?? true,
      retryDelayMax: this.tuning.retryDelayMaxSeconds,
      expireInSeconds: expireSecondsFor(row.timeoutSeconds, this.tuning),
      heartbeatSeconds: this.tuning.heartbeatSeconds,
    };
  }

  /** Same attempts, outcomes and backoff as the workers, in this process. */
  private async runSync(id: string, definition: JobDefinition): Promise<void> {
    const maxAttempts = definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.executor.runAttempt(id, attempt);
      if (outcome.kind === 'done') return;
      // 'retry' on the last attempt only comes from a shutdown: no worker will pick the job up.
      if (attempt < maxAttempts && !this.stopped) {
        const delay = this.backoffMs(definition, attempt);
        await sleep(delay, undefined, { signal: this.shutdown.signal }).catch(() => undefined);
      }
      if (attempt >= maxAttempts || this.stopped) {
        await this.failLost(id, {
          code: JOB_ERROR.interrupted,
          message: 'The job was interrupted (shutdown) and not finished.',
        });
        return;
      }
    }
  }

  private backoffMs(definition: JobDefinition, attempt: number): number {
    const base = definition.retryDelaySeconds ?? this.tuning.retryDelaySeconds;
    const factor = (definition.retryBackoff ?? true) ? 2 ** (attempt - 1) : 1;
    return Math.min(base * factor, this.tuning.retryDelayMaxSeconds) * 1000;
  }

  private async trackSync(run: Promise<void>): Promise<void> {
    this.syncRuns.add(run);
    try {
      await run;
    } finally {
      this.syncRuns.delete(run);
    }
  }

  /** Final failure of a job whose last attempt could not report (worker lost, or interrupted). */
  private async failLost(id: string, error: { code: string; message: string }): Promise<void> {
    const lost = await this.store.failActive(id, error);
    if (!lost) return;
    this.deps.metrics.jobs.inc({ kind: lost.kind, state: 'failed' });
    this.deps.logger.warn(
      { jobId: id, kind: lost.kind, code: error.code },
      'job failed: its last attempt did not finish',
    );
    const definition = this.definitions.get(lost.kind);
    const parsed = definition?.payloadSchema.safeParse(lost.payload);
    if (definition && parsed?.success)
      await this.executor.runFailureHandler(definition, id, parsed.data, lost.attempts, error);
  }

  async get(id: string): Promise<Job> {
    const record = await this.store.get(id);
    if (!record)
      throw new LabelerError('JOB_NOT_FOUND', `Job ${id} does not exist.`, { details: { job_id: id } });
    return toJobView(record);
  }

  async list(filter: JobListFilter = {}): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    const page = await this.store.list(filter);
    return { jobs: page.records.map(toJobView), nextCursor: page.nextCursor };
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    const outcome = await this.store.requestCancel(id);
    if (outcome === 'final')
      throw new LabelerError(
        'JOB_NOT_CANCELLABLE',
        `Job ${id} is already ${job.state}; only queued or running jobs can be cancelled.`,
        { details: { job_id: id, state: job.state } },
      );
    if (outcome === 'cancelled') {
      this.deps.metrics.jobs.inc({ kind: job.kind, state: 'cancelled' });
      // Our row already says cancelled (a worker that fetches it skips it); this just tidies pg-boss
      // (started here if this process has not used it yet; on PGlite it always runs already).
      const boss =
        this.boss ?? (this.deps.config.DATABASE_URL ? await this.ensureBoss().catch(() => null) : null);
      await boss
        ?.cancel(job.queue, bossIdOf(id))
        .catch((error: unknown) =>
          this.deps.logger.debug({ err: error, jobId: id }, 'pg-boss cancel failed'),
        );
    } else {
      this.executor.abortLocal(id, 'cancel');
    }
    return this.get(id);
  }

  async retry(id: string): Promise<Job> {
    const record = await this.store.get(id);
    if (!record)
      throw new LabelerError('JOB_NOT_FOUND', `Job ${id} does not exist.`, { details: { job_id: id } });
    if (record.state !== 'failed' && record.state !== 'cancelled') {
      throw new LabelerError(
        'CONFLICT',
        `Job ${id} is ${record.state}; only failed or cancelled jobs can be retried.`,
        { details: { job_id: id, state: record.state } },
      );
    }
    const result = await this.start(
      record.kind,
      record.payload,
      { createdBy: record.createdBy ?? null, dedupKey: record.dedupKey ?? null },
      `retry of ${id}`,
    );
    return result.job;
  }

  async waitFor(id: string, timeoutMs = 60_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      const job = await this.get(id);
      if (FINAL_STATES.has(job.state)) return job;
      if (Date.now() >= deadline) throw new Error(`Job ${id} is still ${job.state} after ${timeoutMs} ms.`);
      await sleep(Math.min(delay, Math.max(deadline - Date.now(), 1)));
      delay = Math.min(delay * 2, 500);
    }
  }

  async startWorkers(): Promise<void> {
    // A process without workers on PostgreSQL starts pg-boss on its first enqueue (or cancel): the CLI
    // and enqueue-only servers then never load it. On PGlite it must start now, before any caller's
    // transaction holds the single session (see start()).
    if (!this.deps.embeddedWorkers && this.deps.config.DATABASE_URL) return;
    const boss = await this.ensureBoss();
    if (!this.deps.embeddedWorkers || this.workersStarted) return;
    this.workersStarted = true;
    for (const queue of JOB_QUEUES) {
      const batchSize = Math.max(1, this.tuning.batchSize[queue]);
      let workerId: string | null = null;
      workerId = await boss.work<Delivery>(
        queue,
        { batchSize, pollingIntervalSeconds: this.tuning.pollingIntervalSeconds, perJobResults: true },
        async (deliveries) => {
          const results = await Promise.all(
            deliveries.map(async (delivery) => ({
              id: delivery.id,
              status:
                (await this.deliver(delivery.data, delivery.retryCount + 1)) === 'retry'
                  ? ('failed' as const)
                  : ('completed' as const),
            })),
          );
          // A worker that found work looks again at once instead of after its polling interval:
          // otherwise a backlog drains at one batch per interval (pg-boss's own burst modes ignore
          // batchSize 1 or lag on cached counts). An empty fetch resumes normal polling.
          if (workerId) boss.notifyWorker(workerId);
          return results;
        },
      );
    }
    await boss.work<Delivery>(
      DEAD_LETTER_QUEUE,
      { pollingIntervalSeconds: Math.max(this.tuning.pollingIntervalSeconds, 2) },
      async (deliveries) => {
        for (const delivery of deliveries) {
          const data = deliverySchema.parse(delivery.data);
          await this.failLost(data.jobId, {
            code: JOB_ERROR.lost,
            message:
              'The worker running this job stopped responding (crash, kill or lost connection) and no attempts remain.',
          });
        }
      },
    );
    this.deps.logger.info({ queues: JOB_QUEUES, embedded: this.embedded }, 'job workers started');
  }

  /** One delivery from pg-boss; a throw (e.g. database unavailable) fails the delivery so pg-boss retries it. */
  private async deliver(data: unknown, attempt: number): Promise<'retry' | 'done'> {
    const parsed = deliverySchema.safeParse(data);
    if (!parsed.success) {
      this.deps.logger.error({ data }, 'dropping a pg-boss job without a job id');
      return 'done';
    }
    try {
      return (await this.executor.runAttempt(parsed.data.jobId, attempt)).kind;
    } catch (error) {
      this.deps.logger.error(
        { err: error, jobId: parsed.data.jobId, attempt },
        'running a job attempt failed',
      );
      return 'retry';
    }
  }

  private ensureBoss(): Promise<PgBoss> {
    if (this.stopped) return Promise.reject(new Error('The job runtime is stopped.'));
    this.starting ??= (async () => {
      // pg-boss (and its dependencies) load only in processes that use the queue.
      const { createBoss, setupQueues } = await import('./boss.js');
      const { boss, embedded } = await createBoss(this.deps.orm, this.deps.config.DATABASE_URL, this.tuning);
      boss.on('error', (error) => this.deps.logger.error({ err: error }, 'job queue error'));
      await boss.start();
      await setupQueues(boss, this.tuning);
      this.boss = boss;
      this.embedded = embedded;
      return boss;
    })().catch((error: unknown) => {
      this.starting = null;
      throw error;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const boss = await this.starting?.catch(() => null);
    if (boss && this.workersStarted) {
      // Stop fetching, give running jobs the grace period, then abort them (their attempts are requeued).
      await Promise.all(
        [...JOB_QUEUES, DEAD_LETTER_QUEUE].map((queue) => boss.offWork(queue, { wait: false })),
      );
    }
    const deadline = Date.now() + this.tuning.shutdownGraceMs;
    while ((this.executor.runningCount > 0 || this.syncRuns.size > 0) && Date.now() < deadline)
      await sleep(50);
    this.executor.abortAll();
    this.shutdown.abort();
    await Promise.allSettled([...this.syncRuns]);
    if (boss)
      await boss
        .stop({ graceful: true, timeout: 5_000 })
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'stopping the job queue failed'));
    this.executor.stop();
  }
}
