/**
 * Idempotent bulk import. Label Studio has no idempotency key, so the sample id in each task's meta is
 * the dedup key: existing sample ids are read first and skipped. A batch whose outcome is unknown
 * (dropped connection, 5xx, 504, timeout: LS may have committed it) is never resent blindly; it is set
 * aside, the project's refs are re-read, and only samples still missing are sent again.
 *
 * On abort, batches already in flight are awaited before the abort error is thrown, so a resume never
 * races a request that is still being committed.
 */
import { type AnnotationBackendInstance, isLabelerError, LabelerError, type TaskInput } from '@labeler/core';

export interface ImportProgress {
  /** Tasks created by this run (including ones found committed after an uncertain batch). */
  imported: number;
  /** Samples skipped because a task already carried their id (or they repeated in the input). */
  skipped: number;
  /** Samples waiting for a re-check after an uncertain batch. */
  uncertain: number;
  /** Import requests sent so far. */
  requests: number;
}

export interface ImportSamplesOptions {
  /** Tasks per request (default: the backend's importDefaults, else 100; at most the plugin's maxImportBatch). */
  batchSize?: number;
  /** Requests in flight at once (default: the backend's importDefaults, else 4). */
  concurrency?: number;
  /** Re-check rounds for uncertain batches before giving up (default 8). */
  maxPasses?: number;
  onProgress?: (progress: ImportProgress) => void;
  signal?: AbortSignal;
  /** Pause between re-check rounds (default: 100 ms × 2^round, capped at 5 s). */
  pause?: (round: number) => Promise<void>;
}

export interface ImportSamplesResult extends ImportProgress {
  passes: number;
}

type Backend = Pick<AnnotationBackendInstance, 'importTasks' | 'listTaskRefs'> & {
  /** Optional per-instance defaults (the Label Studio backend sets them from its config). */
  importDefaults?: { batchSize?: number; concurrency?: number };
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
  const concurrency = Math.max(1, options.concurrency ?? backend.importDefaults?.concurrency ?? 4);
  const maxPasses = options.maxPasses ?? 8;
  const signal = options.signal;
  const pause =
    options.pause ??
    ((round: number) =>
      new Promise<void>((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** round))));
  const progress: ImportProgress = { imported: 0, skipped: 0, uncertain: 0, requests: 0 };
  const report = () => options.onProgress?.({ ...progress });

  signal?.throwIfAborted();
  const known = await collectSampleIds(backend, projectExternalId, signal);
  let uncertain: TaskInput[] = [];
  let fatal: unknown = null;
  const inFlight = new Set<Promise<void>>();

  const send = (batch: TaskInput[]): Promise<void> => {
    progress.requests += 1;
    const run = backend.importTasks(projectExternalId, batch).then(
      (result) => {
        progress.imported += result.created;
        report();
      },
      (error: unknown) => {
        if (isLabelerError(error) && error.retryable) {
          uncertain.push(...batch);
          progress.uncertain = uncertain.length;
          report();
        } else fatal ??= error;
      },
    );
    const tracked = run.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
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
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
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
  return { ...progress, passes };
}
