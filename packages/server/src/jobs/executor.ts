import type { Orm } from '../db/orm.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../lib/logger.js';
import { JOB_ERROR, toJobError } from './errors.js';
import type { JobTuning } from './settings.js';
import type { JobError, JobStore, Progress } from './store.js';
import type { JobContext, JobDefinition } from './types.js';

/**
 * Runs one attempt of one job: claim → run with timeout/cancel/shutdown → record the outcome. Workers
 * (pg-boss handlers) and synchronous mode both call this, so a job behaves the same either way.
 */

/** What the delivery layer must do next. */
export type AttemptOutcome =
  | { kind: 'done' } // final (completed, failed, cancelled) or not ours to run: settle the delivery
  | { kind: 'retry' }; // attempt failed and another remains: let the queue redeliver after backoff

type AbortReason = 'timeout' | 'cancel' | 'shutdown' | 'superseded';

class AttemptAborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`job attempt aborted: ${reason}`);
  }
}

interface ActiveRun {
  id: string;
  attempt: number;
  abort(reason: AbortReason): void;
}

export interface ExecutorDeps {
  orm: Orm;
  store: JobStore;
  logger: Logger;
  metrics: Metrics;
  tuning: JobTuning;
  definition(kind: string): JobDefinition | undefined;
}

export class JobExecutor {
  private readonly active = new Map<string, ActiveRun>();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private stopping = false;

  constructor(private readonly deps: ExecutorDeps) {}

  get runningCount(): number {
    return this.active.size;
  }

  /** Aborts a run of this process right away (cancel); other processes notice via the poller. */
  abortLocal(id: string, reason: AbortReason): void {
    this.active.get(id)?.abort(reason);
  }

  /** Aborts every run (shutdown); their attempts are requeued for another worker. */
  abortAll(): void {
    this.stopping = true;
    for (const run of this.active.values()) run.abort('shutdown');
  }

  async runAttempt(id: string, attempt: number): Promise<AttemptOutcome> {
    const { store, logger } = this.deps;
    const claimed = await store.claim(id, attempt);
    if (!claimed) {
      await store.cancelIfRequested(id);
      return { kind: 'done' };
    }
    const definition = this.deps.definition(claimed.kind);
    if (!definition) {
      await store.finish(id, attempt, 'failed', {
        error: {
          code: JOB_ERROR.unknownKind,
          message: `No handler is registered for job kind "${claimed.kind}" in this process.`,
        },
        progress: null,
      });
      this.count('failed', claimed.kind);
      return { kind: 'done' };
    }
    const parsed = definition.payloadSchema.safeParse(claimed.payload);
    if (!parsed.success) {
      await store.finish(id, attempt, 'failed', {
        error: {
          code: JOB_ERROR.invalidPayload,
          message: `The job payload is not valid for "${claimed.kind}": ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
        },
        progress: null,
      });
      this.count('failed', claimed.kind);
      return { kind: 'done' };
    }
    const log = logger.child({ jobId: id, kind: claimed.kind, attempt });
    const timeoutSeconds = claimed.timeoutSeconds;
    const controller = new AbortController();
    let reason: AbortReason | null = null;
    let rejectAborted: (error: AttemptAborted) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      rejectAborted = reject;
    });
    aborted.catch(() => undefined);
    const abort = (why: AbortReason) => {
      if (reason) return;
      reason = why;
      controller.abort(new AttemptAborted(why));
      rejectAborted(new AttemptAborted(why));
    };
    this.active.set(id, { id, attempt, abort });
    this.ensurePoller();
    if (this.stopping) abort('shutdown');
    const timer = setTimeout(() => abort('timeout'), timeoutSeconds * 1000);
    const progress = new ProgressWriter(
      this.deps.tuning.progressThrottleMs,
      (p) => store.writeProgress(id, attempt, p),
      log,
    );
    const ctx: JobContext<unknown> = {
      jobId: id,
      kind: claimed.kind,
      payload: parsed.data,
      attempt,
      em: this.deps.orm.em.fork(),
      signal: controller.signal,
      logger: log,
      progress: async (done, total = null, message = null) => {
        // Loops that only report progress stop here once the attempt is aborted.
        controller.signal.throwIfAborted();
        progress.update({ done, total: total ?? null, message: message ?? null });
      },
    };
    log.debug('job attempt started');
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    // A handler that ignores its signal keeps running in the background; we stop waiting for it.
    const running = Promise.resolve().then(() => definition.run(ctx));
    running.catch(() => undefined);
    try {
      const result = await Promise.race([running, aborted]);
      outcome = { ok: true, result };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timer);
      this.active.delete(id);
    }
    const finalProgress = await progress.close();
    const why: AbortReason | null = reason;

    if (why === 'superseded') {
      log.warn(
        'job attempt superseded by a newer attempt (this worker was presumed dead); its outcome is discarded',
      );
      return { kind: 'done' };
    }
    if (why === 'cancel') {
      if (await store.finish(id, attempt, 'cancelled', { progress: finalProgress }))
        this.count('cancelled', claimed.kind);
      log.info('job cancelled');
      return { kind: 'done' };
    }
    if (why === 'shutdown') {
      const error = {
        code: JOB_ERROR.interrupted,
        message: 'The worker shut down during this attempt; the job will be retried.',
      };
      await store.requeue(id, attempt, error);
      log.warn('job attempt interrupted by shutdown');
      return { kind: 'retry' };
    }
    if (outcome.ok && why === null) {
      if (
        await store.finish(id, attempt, 'completed', {
          result: outcome.result ?? null,
          error: null,
          progress: finalProgress,
        })
      )
        this.count('completed', claimed.kind);
      log.debug('job completed');
      return { kind: 'done' };
    }
    const failure: JobError & { retryable: boolean } =
      why === 'timeout'
        ? {
            code: JOB_ERROR.timeout,
            message: `The job was stopped after ${timeoutSeconds} s, its time limit.`,
            retryable: false,
          }
        : toJobError(outcome.ok ? new Error('unreachable') : outcome.error);
    if (!outcome.ok && why === null)
      log.warn({ err: outcome.error, code: failure.code }, 'job attempt failed');
    const error = { code: failure.code, message: failure.message };
    if (failure.retryable && attempt < claimed.maxAttempts) {
      await store.requeue(id, attempt, error);
      return { kind: 'retry' };
    }
    if (await store.finish(id, attempt, 'failed', { error, progress: finalProgress })) {
      this.count('failed', claimed.kind);
      await this.runFailureHandler(definition, id, parsed.data, attempt, error);
    }
    return { kind: 'done' };
  }

  /** The definition's onFailure, once, after the last attempt failed; its own errors are only logged. */
  async runFailureHandler(
    definition: JobDefinition,
    id: string,
    payload: unknown,
    attempt: number,
    error: JobError,
  ): Promise<void> {
    if (!definition.onFailure) return;
    const log = this.deps.logger.child({ jobId: id, kind: definition.kind, attempt });
    const ctx: JobContext<unknown> = {
      jobId: id,
      kind: definition.kind,
      payload,
      attempt,
      em: this.deps.orm.em.fork(),
      signal: new AbortController().signal,
      logger: log,
      progress: async () => undefined,
    };
    try {
      await definition.onFailure(ctx, error);
    } catch (handlerError) {
      log.error({ err: handlerError }, 'job failure handler threw');
    }
  }

  private count(state: 'completed' | 'failed' | 'cancelled', kind: string): void {
    this.deps.metrics.jobs.inc({ kind, state });
  }

  /** One query per interval for all runs of this process: cancel requests and lost ownership. */
  private ensurePoller(): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.poll(), this.deps.tuning.cancelPollMs);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    if (!this.active.size) {
      if (this.poller) clearInterval(this.poller);
      this.poller = null;
      return;
    }
    if (this.polling) return; // the previous round is still waiting on the database
    this.polling = true;
    try {
      const flags = await this.deps.store.flags([...this.active.keys()]);
      for (const run of this.active.values()) {
        const flag = flags.get(run.id);
        if (!flag) continue;
        if (flag.attempts !== run.attempt || flag.state !== 'in_progress')
          run.abort(flag.cancelRequested ? 'cancel' : 'superseded');
        else if (flag.cancelRequested) run.abort('cancel');
      }
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'polling running jobs failed');
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }
}

/** Throttled progress writes: at most one per interval per job, the latest value always written last. */
class ProgressWriter {
  private latest: Progress | null = null;
  private dirty = false;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly write: (p: Progress) => Promise<void>,
    private readonly log: Logger,
  ) {}

  update(p: Progress): void {
    this.latest = p;
    this.dirty = true;
    const wait = this.lastWrite + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.dirty || !this.latest) return;
    const p = this.latest;
    this.dirty = false;
    this.lastWrite = Date.now();
    this.chain = this.chain
      .then(() => this.write(p))
      .catch((error) => this.log.warn({ err: error }, 'writing job progress failed'));
  }

  /** Stops writing; returns the last value for the final state write (null when none was reported). */
  async close(): Promise<Progress | null> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.chain;
    return this.latest;
  }
}
