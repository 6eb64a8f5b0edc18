import type { TaskInput } from '@labeler/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ImportProgress, importSamplesIdempotently } from '../src/importer.js';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '../src/simulator/index.js';
import { backendFor, collect, LABEL_CONFIG } from './helpers.js';

function* samples(n: number, prefix = 's'): Generator<TaskInput> {
  for (let i = 0; i < n; i++) yield { sampleId: `${prefix}-${i}`, data: { image: `https://img/${i}.jpg` } };
}

function expectExactlyOnce(sim: LabelStudioSimulator, projectId: number, n: number): void {
  const tasks = sim.state.projectTasks.get(projectId)!;
  const ids = tasks.map((t) => t.meta.sample_id);
  expect(tasks.length).toBe(n);
  expect(new Set(ids).size).toBe(n);
  expect(tasks.every((t) => t.meta.labeler === true)).toBe(true);
}

describe('importSamplesIdempotently', () => {
  let sim: LabelStudioSimulator;
  let projectId: number;
  beforeEach(async () => {
    sim = await startLabelStudioSimulator();
    projectId = sim.state.createProject({ title: 'Import', label_config: LABEL_CONFIG }).id;
  });
  afterEach(async () => {
    sim.faults.clear();
    await sim.stop();
  });

  it('imports in batches, skips existing sample ids, carries meta and predictions', async () => {
    const backend = backendFor(sim);
    const first = await importSamplesIdempotently(backend, String(projectId), samples(250), {
      batchSize: 100,
    });
    expect(first).toMatchObject({ imported: 250, skipped: 0, requests: 3 });
    const progress: number[] = [];
    const again = await importSamplesIdempotently(backend, String(projectId), samples(300), {
      batchSize: 100,
      onProgress: (p) => progress.push(p.imported),
    });
    expect(again).toMatchObject({ imported: 50, skipped: 250, requests: 1 });
    expect(progress.at(-1)).toBe(50);
    expectExactlyOnce(sim, projectId, 300);
    await importSamplesIdempotently(backend, String(projectId), [
      {
        sampleId: 'p',
        data: { image: 'x' },
        meta: { batch: 7 },
        predictions: [{ result: [{ a: 1 }], score: 0.9, modelVersion: 'v1' }],
      },
    ]);
    const [task] = sim.state.tasksBySampleId(projectId, 'p');
    expect(task!.meta).toEqual({ batch: 7, sample_id: 'p', labeler: true });
    expect(task!.predictions[0]).toMatchObject({ result: [{ a: 1 }], score: 0.9, model_version: 'v1' });
  });

  it('uses the instance importBatchSize by default', async () => {
    const result = await importSamplesIdempotently(
      backendFor(sim, { importBatchSize: 7 }),
      String(projectId),
      samples(20),
    );
    expect(result).toMatchObject({ imported: 20, requests: 3 });
  });

  it('repeats within the input are sent once; async iterables work', async () => {
    async function* twice() {
      yield* samples(10);
      yield* samples(10);
    }
    const result = await importSamplesIdempotently(backendFor(sim), String(projectId), twice(), {
      batchSize: 4,
    });
    expect(result).toMatchObject({ imported: 10, skipped: 10 });
    expectExactlyOnce(sim, projectId, 10);
  });

  it('5,000 samples with 30% injected 5xx/504 and dropped connections end with exactly 5,000 tasks', async () => {
    const backend = backendFor(sim, { maxRetries: 8 });
    // Faults land before or after LS did the work: an "after" fault on an import is a committed batch whose answer is lost.
    sim.faults.set({ errorRate: 0.2, dropRate: 0.1, statuses: [500, 502, 503, 504], phase: 'random' });
    const result = await importSamplesIdempotently(backend, String(projectId), samples(5000), {
      batchSize: 100,
      concurrency: 4,
      pause: async () => {},
    });
    sim.faults.clear();
    expect(sim.faults.injected.errors + sim.faults.injected.drops).toBeGreaterThan(20);
    expect(result.passes).toBeGreaterThan(1); // some batches were uncertain and re-checked
    expect(result.imported).toBe(5000);
    expectExactlyOnce(sim, projectId, 5000);
  }, 60_000);

  it('aborting mid-way and resuming ends with exactly 5,000 tasks', async () => {
    const backend = backendFor(sim, { maxRetries: 8 });
    sim.faults.set({ errorRate: 0.15, dropRate: 0.05, latencyMs: 2 });
    const controller = new AbortController();
    const run = importSamplesIdempotently(backend, String(projectId), samples(5000), {
      batchSize: 100,
      signal: controller.signal,
      pause: async () => {},
      onProgress: (p) => {
        if (p.imported >= 1500) controller.abort(new Error('operator cancelled'));
      },
    });
    await expect(run).rejects.toThrow('operator cancelled');
    const partial = sim.state.projectTasks.get(projectId)!.length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(5000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.state.projectTasks.get(projectId)!.length).toBe(partial); // nothing still in flight after the abort
    const resumed = await importSamplesIdempotently(backend, String(projectId), samples(5000), {
      batchSize: 100,
      pause: async () => {},
    });
    expect(resumed.skipped).toBe(partial);
    sim.faults.clear();
    expectExactlyOnce(sim, projectId, 5000);
  }, 60_000);

  it('a non-retryable rejection stops the import with the LS reason', async () => {
    const bad: TaskInput[] = [...samples(5), { sampleId: 'bad', data: { nope: 1 } }];
    await expect(
      importSamplesIdempotently(backendFor(sim), String(projectId), bad, { batchSize: 3 }),
    ).rejects.toMatchObject({ code: 'BACKEND_REJECTED' });
  });

  it('listTaskRefs yields every task once with its sample id', async () => {
    const backend = backendFor(sim);
    await importSamplesIdempotently(backend, String(projectId), samples(345), { batchSize: 50 });
    const refs = await collect(backend.listTaskRefs(String(projectId)));
    expect(refs).toHaveLength(345);
    expect(new Set(refs.map((r) => r.sampleId)).size).toBe(345);
  });

  describe('adaptive concurrency (the default)', () => {
    const inFlightSeen = (progress: ImportProgress[]) => progress.map((p) => p.concurrency);

    it('against Label Studio on SQLite (lock emulation) it stays near one in flight and waits on far fewer locks than four', async () => {
      const locked = await startLabelStudioSimulator({
        version: '1.7.3',
        sqliteLocking: { writeMs: 20, retryBaseMs: 60 },
      });
      try {
        const backend = backendFor(locked, { importConcurrency: 4 });
        const project = (title: string) =>
          String(locked.state.createProject({ title, label_config: LABEL_CONFIG }).id);
        const fixedProject = project('fixed');
        await importSamplesIdempotently(backend, fixedProject, samples(300), {
          batchSize: 10,
          concurrency: 4,
        });
        const fixedWaits = locked.lockWaits;
        const progress: ImportProgress[] = [];
        const adaptiveProject = project('adaptive');
        const result = await importSamplesIdempotently(backend, adaptiveProject, samples(300), {
          batchSize: 10,
          probeAfterMs: 0, // probe at once, so probes and drops happen within this short import
          onProgress: (p) => progress.push(p),
        });
        const adaptiveWaits = locked.lockWaits - fixedWaits;
        expect(result).toMatchObject({ imported: 300, requests: 30 });
        expectExactlyOnce(locked, Number(adaptiveProject), 300);
        expect(inFlightSeen(progress)[0]).toBe(1);
        expect(Math.max(...inFlightSeen(progress))).toBeLessThanOrEqual(2);
        // Rounds at two in flight are short probes: most batches go one at a time.
        expect(inFlightSeen(progress).filter((c) => c === 1).length).toBeGreaterThan(progress.length / 2);
        expect(fixedWaits).toBeGreaterThan(10);
        expect(adaptiveWaits).toBeLessThan(fixedWaits / 4);
      } finally {
        await locked.stop();
      }
    }, 60_000);

    it('by default a short import never probes: one in flight throughout, no lock waits', async () => {
      const locked = await startLabelStudioSimulator({
        version: '1.7.3',
        sqliteLocking: { writeMs: 5, retryBaseMs: 60 },
      });
      try {
        const id = String(locked.state.createProject({ title: 'short', label_config: LABEL_CONFIG }).id);
        const progress: ImportProgress[] = [];
        const result = await importSamplesIdempotently(backendFor(locked), id, samples(200), {
          batchSize: 10,
          onProgress: (p) => progress.push(p),
        });
        expect(result).toMatchObject({ imported: 200, maxConcurrency: 1 });
        expect(new Set(inFlightSeen(progress))).toEqual(new Set([1]));
        expect(locked.lockWaits).toBe(0);
      } finally {
        await locked.stop();
      }
    });

    it('against a server that scales it climbs to the importConcurrency cap', async () => {
      sim.faults.set({ latencyMs: 40 });
      const progress: ImportProgress[] = [];
      await importSamplesIdempotently(
        backendFor(sim, { importConcurrency: 3 }),
        String(projectId),
        samples(400),
        {
          batchSize: 10,
          probeAfterMs: 0,
          onProgress: (p) => progress.push(p),
        },
      );
      expect(inFlightSeen(progress)[0]).toBe(1);
      expect(Math.max(...inFlightSeen(progress))).toBe(3);
      expectExactlyOnce(sim, projectId, 400);
    }, 60_000);

    it('reports the achieved rate (tasks/s) and the current limit in progress; a fixed setting stays fixed', async () => {
      const progress: ImportProgress[] = [];
      await importSamplesIdempotently(
        backendFor(sim, { importConcurrencyMode: 'fixed', importConcurrency: 2 }),
        String(projectId),
        samples(50),
        {
          batchSize: 10,
          onProgress: (p) => progress.push(p),
        },
      );
      expect(progress.every((p) => p.concurrency === 2)).toBe(true);
      const last = progress.at(-1)!;
      expect(last.imported).toBe(50);
      expect(last.rate).toBeGreaterThan(0);
      expect(Number.isFinite(last.rate)).toBe(true);
    });
  });
});
