/**
 * Idempotent bulk import. Label Studio has no idempotency key, so the sample id in each task's meta is
 * the dedup key: existing sample ids are read first and skipped. A batch whose outcome is unknown
 * (dropped connection, 5xx, 504, timeout: LS may have committed it) is never resent blindly; it is set
 * aside, the project's refs are re-read, and only samples still missing are sent again.
 *
 * On abort, batches already in flight are awaited before the abort error is thrown, so a resume never
 * races a request that is still being committed.
 *
 * Requests in flight: adaptive by default (see concurrency.ts: one at first, more only while Label
 * Studio's latency stays flat), or a fixed number.
 */
import { type AnnotationBackendInstance, isLabelerError, LabelerError, type TaskInput } from '@labeler/core';
import { AdaptiveConcurrency, type ConcurrencyTicket, isDatabaseLocked } from './concurrency.js';

export interface ImportProgress {
  /** Tasks created by this run (including ones found committed after an uncertain batch). */
  imported: number;
  /** Samples skipped because a task already carried their id (or they repeated in the input). */
  skipped: number;
  /** Samples waiting for a re-check after an uncertain batch. */
  uncertain: number;
  /** Import requests sent so far. */
  requests: number;
  /** Requests allowed in flight now (adaptive: changes during the import). */
  concurrency: number;
  /** Tasks created per second since the first request was sent (0 before any). */
  rate: number;
}

export interface ImportSamplesOptions {
  /** Tasks per request (default: the backend's importDefaults, else 100; at most the plugin's maxImportBatch). */
  batchSize?: number;
  /**
   * Requests in flight: a number is fixed; 'adaptive' starts at one and raises it while latency stays
   * flat, up to maxConcurrency. Default: the backend's importDefaults (adaptive up to 4 for Label Studio).
   */
  concurrency?: number | 'adaptive';
  /** Cap of adaptive concurrency (default: the backend's importDefaults.concurrency, else 4). */
  maxConcurrency?: number;
  /** Adaptive: time at one request in flight before the first probe of two (default 10 s). */
  probeAfterMs?: number;
  /** Re-check rounds for uncertain batches before giving up (default 8). */
  maxPasses?: number;
  onProgress?: (progress: ImportProgress) => void;
  signal?: AbortSignal;
  /** Pause between re-check rounds (default: 100 ms × 2^round, capped at 5 s). */
  pause?: (round: number) => Promise<void>;
}

export interface ImportSamplesResult extends Omit<ImportProgress, 'concurrency'> {
  passes: number;
  /** The largest number of requests that were allowed in flight. */
  maxConcurrency: number;
}

type Backend = Pick<AnnotationBackendInstance, 'importTasks' | 'listTaskRefs'> & {
  /** Optional per-instance defaults (the Label Studio backend sets them from its config). */
  importDefaults?: { batchSize?: number; concurrency?: number; adaptive?: boolean };
};

async function collectSampleIds(
  backend: Backend,
  projectId: string,
  signal?: AbortSignal,
): Promise<Set<string>> {
  // Listing is idempotent: a failed listing is simply retried (the client already retried each page).
  for (let attempt = 0; ; attempt++) {
    try {
      const ids = new Set<string>();
      for await (const ref of backend.listTaskRefs(projectId, { signal }))
        if (ref.sampleId !== null) ids.add(ref.sampleId);
      return ids;
    } catch (error) {
      if (signal?.aborted || !isLabelerError(error) || !error.retryable || attempt >= 4) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

async function* batchesOf(
  samples: AsyncIterable<TaskInput> | Iterable<TaskInput>,
  size: number,
): AsyncGenerator<TaskInput[]> {
  let batch: TaskInput[] = [];
  for await (const sample of samples) {
    batch.push(sample);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export async function importSamplesIdempotently(
  backend: Backend,
  projectExternalId: string,
  samples: AsyncIterable<TaskInput> | Iterable<TaskInput>,
  options: ImportSamplesOptions = {},
): Promise<ImportSamplesResult> {
  const batchSize = Math.max(1, options.batchSize ?? backend.importDefaults?.batchSize ?? 100);
  const cap = Math.max(1, options.maxConcurrency ?? backend.importDefaults?.concurrency ?? 4);
  const mode =
    options.concurrency ?? (backend.importDefaults?.adaptive === false ? cap : ('adaptive' as const));
  const adaptive =
    mode === 'adaptive' ? new AdaptiveConcurrency({ max: cap, probeAfterMs: options.probeAfterMs }) : null;
  /** After a drop, let the requests in flight finish first: a write starved by SQLite's lock gets it sooner. */
  let draining = false;
  const observe = (decision: string | undefined) => {
    if (decision === 'drop') draining = true;
  };
  const limit = () => adaptive?.limit ?? Math.max(1, mode as number);
  const maxPasses = options.maxPasses ?? 8;
  const signal = options.signal;
  const pause =
    options.pause ??
    ((round: number) =>
      new Promise<void>((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** round))));
  const progress: ImportProgress = {
    imported: 0,
    skipped: 0,
    uncertain: 0,
    requests: 0,
    concurrency: limit(),
    rate: 0,
  };
  let firstSentAt: number | null = null;
  let maxSeen = limit();
  const report = () => {
    const seconds = firstSentAt === null ? 0 : (performance.now() - firstSentAt) / 1000;
    progress.rate = seconds > 0 ? Math.round((progress.imported / seconds) * 10) / 10 : 0;
    progress.concurrency = limit();
    maxSeen = Math.max(maxSeen, limit());
    options.onProgress?.({ ...progress });
  };

  signal?.throwIfAborted();
  const known = await collectSampleIds(backend, projectExternalId, signal);
  let uncertain: TaskInput[] = [];
  let fatal: unknown = null;
  const inFlight = new Set<Promise<void>>();
  /** When and under which round each request in flight was sent (adaptive only). */
  const sentAt = new Map<Promise<void>, { ticket: ConcurrencyTicket; started: number; size: number }>();
  const observeOthers = () => {
    if (!adaptive) return;
    const now = performance.now();
    for (const { ticket, started, size } of sentAt.values())
      observe(adaptive.observeInFlight((now - started) / size, ticket));
  };

  const send = (batch: TaskInput[]): Promise<void> => {
    progress.requests += 1;
    const ticket = adaptive?.ticket();
    const started = performance.now();
    firstSentAt ??= started;
    const run = backend.importTasks(projectExternalId, batch).then(
      (result) => {
        observe(adaptive?.record({ msPerTask: (performance.now() - started) / batch.length }, ticket));
        observeOthers();
        progress.imported += result.created;
        report();
      },
      (error: unknown) => {
        const locked =
          isLabelerError(error) && isDatabaseLocked(`${error.message} ${String(error.details.detail ?? '')}`);
        if (locked) observe(adaptive?.record({ msPerTask: 0, locked: true }, ticket));
        if (isLabelerError(error) && error.retryable) {
          uncertain.push(...batch);
          progress.uncertain = uncertain.length;
          report();
        } else fatal ??= error;
      },
    );
    const tracked = run.finally(() => {
      inFlight.delete(tracked);
      sentAt.delete(tracked);
    });
    inFlight.add(tracked);
    if (ticket) sentAt.set(tracked, { ticket, started, size: batch.length });
    return tracked;
  };

  /** Sends every batch of `source` (skipping known ids), at most `concurrency` at a time. */
  const pass = async (source: AsyncIterable<TaskInput> | Iterable<TaskInput>): Promise<void> => {
    for await (const raw of batchesOf(source, batchSize)) {
      const batch = raw.filter((s) => {
        if (known.has(s.sampleId)) {
          progress.skipped += 1;
          return false;
        }
        known.add(s.sampleId); // also dedups repeats within the input
        return true;
      });
      if (batch.length === 0) {
        report();
        continue;
      }
      while (inFlight.size >= limit() || (draining && inFlight.size > 0)) await Promise.race(inFlight);
      draining = false;
      if (fatal !== null || signal?.aborted) break;
      void send(batch);
    }
    await Promise.all(inFlight);
    if (fatal !== null) throw fatal;
    signal?.throwIfAborted();
  };

  await pass(samples);
  let passes = 1;
  while (uncertain.length > 0) {
    if (passes > maxPasses) {
      throw new LabelerError(
        'BACKEND_UNAVAILABLE',
        `Label Studio kept failing: ${uncertain.length} samples could not be confirmed after ${maxPasses} re-checks. Run the import again: it resumes without duplicates.`,
        {
          details: { ...progress, uncertain: uncertain.length },
        },
      );
    }
    await pause(passes - 1);
    signal?.throwIfAborted();
    const present = await collectSampleIds(backend, projectExternalId, signal);
    const retry = uncertain.filter((s) => !present.has(s.sampleId));
    progress.imported += uncertain.length - retry.length; // committed although the answer was lost
    for (const s of retry) known.delete(s.sampleId);
    uncertain = [];
    progress.uncertain = 0;
    report();
    await pass(retry);
    passes += 1;
  }
  const { concurrency: _, ...result } = progress;
  return { ...result, passes, maxConcurrency: maxSeen };
}
