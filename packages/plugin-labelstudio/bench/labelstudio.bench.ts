/**
 * Label Studio plugin benchmarks against the simulator, which runs in a child process (as a real Label
 * Studio would), so the numbers are the plugin's own time and memory.
 *  (a) import 10k samples with 20 ms latency per request: batches of 100 with 4 in flight, against the
 *      baseline of sequential batches of 10 measured in the same run (targets: <= 5 s, >= 20x).
 *  (b) pull 100k labeled tasks (seeded directly into the simulator) with iterateTasks + pickAnnotation:
 *      time (<= 10 s) and peak RSS / heap growth of this process during the pull (<= 300 MB).
 * Run from the package dir: node --conditions=@labeler/source --import tsx bench/labelstudio.bench.ts
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskInput } from '@labeler/core';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import {
  createLabelStudioBackend,
  importSamplesIdempotently,
  labelStudioConfigSchema,
  pickAnnotation,
} from '../src/index.js';
import type { SimCommand } from './sim-process.js';

const LABEL_CONFIG =
  '<View><Image name="image" value="$image"/><RectangleLabels name="detections" toName="image"><Label value="cat"/><Label value="dog"/></RectangleLabels></View>';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Command = SimCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

class RemoteSimulator {
  private seq = 0;
  private waiting = new Map<number, (value: unknown) => void>();
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly legacyToken: string,
  ) {
    child.on('message', (m: { id?: number; value?: unknown }) => {
      if (m.id !== undefined) this.waiting.get(m.id)?.(m.value);
    });
  }

  static start(): Promise<RemoteSimulator> {
    const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'sim-process.ts'), [], {
      execArgv: ['--conditions=@labeler/source', '--import', 'tsx'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('message', (m: { url: string; legacyToken: string }) =>
        resolve(new RemoteSimulator(child, m.url, m.legacyToken)),
      );
    });
  }

  call<T>(command: Command): Promise<T> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, (value) => resolve(value as T));
      this.child.send({ ...command, id });
    });
  }
}

const backendFor = (sim: RemoteSimulator) =>
  createLabelStudioBackend(
    labelStudioConfigSchema.parse({ url: sim.url, apiKey: sim.legacyToken, timeoutMs: 120_000 }),
  );

function* samples(n: number): Generator<TaskInput> {
  for (let i = 0; i < n; i++)
    yield { sampleId: `sample-${i}`, data: { image: `/data/local-files/?d=ds/img-${i}.jpg` } };
}

async function timeImport(
  sim: RemoteSimulator,
  n: number,
  batchSize: number,
  concurrency: number,
): Promise<number> {
  const projectId = await sim.call<number>({
    cmd: 'createProject',
    title: `import ${batchSize}x${concurrency}`,
    labelConfig: LABEL_CONFIG,
  });
  const started = performance.now();
  const result = await importSamplesIdempotently(backendFor(sim), String(projectId), samples(n), {
    batchSize,
    concurrency,
  });
  const elapsed = performance.now() - started;
  const count = await sim.call<number>({ cmd: 'taskCount', projectId });
  if (result.imported !== n || count !== n)
    throw new Error(`imported ${result.imported} (${count} in LS), expected ${n}`);
  return elapsed;
}

async function benchImport(sim: RemoteSimulator): Promise<BenchRow[]> {
  await sim.call({ cmd: 'faults', options: { latencyMs: 20 } });
  const fast = await timeImport(sim, 10_000, 100, 4);
  const slow = await timeImport(sim, 10_000, 10, 1);
  await sim.call({ cmd: 'faults', options: null });
  const speedup = slow / fast;
  return [
    {
      metric: 'import 10k @20ms latency (batch 100, 4 in flight)',
      value: fast / 1000,
      unit: 's',
      baseline: slow / 1000,
      ratio: fast / slow,
      target: '<= 5 s',
      pass: fast <= 5000,
    },
    {
      metric: 'import speed-up vs sequential batches of 10',
      value: speedup,
      unit: 'x',
      baseline: 1,
      ratio: speedup,
      target: '>= 20x',
      pass: speedup >= 20,
    },
  ];
}

async function benchPull(sim: RemoteSimulator): Promise<BenchRow[]> {
  const n = 100_000;
  const projectId = await sim.call<number>({
    cmd: 'createProject',
    title: 'pull 100k',
    labelConfig: LABEL_CONFIG,
  });
  await sim.call({ cmd: 'seedLabeled', projectId, count: n });
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 20);
  const backend = backendFor(sim);
  const started = performance.now();
  let pulled = 0;
  let mismatches = 0;
  for await (const task of backend.iterateTasks(String(projectId), { onlyAnnotated: true })) {
    const region = pickAnnotation(task)?.result[0] as { id?: string } | undefined;
    if (!task.sampleId || region?.id !== `r${task.sampleId.slice(7)}`) mismatches += 1;
    pulled += 1;
  }
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  sample();
  if (pulled !== n || mismatches !== 0)
    throw new Error(`pulled ${pulled}/${n} with ${mismatches} mismatches`);
  const rssDelta = (peakRss - base.rss) / 2 ** 20;
  const heapDelta = (peakHeap - base.heapUsed) / 2 ** 20;
  return [
    {
      metric: 'pull 100k labeled tasks (page size 100)',
      value: elapsed / 1000,
      unit: 's',
      baseline: null,
      ratio: null,
      target: '<= 10 s',
      pass: elapsed <= 10_000,
    },
    {
      metric: 'pull 100k: peak RSS growth',
      value: rssDelta,
      unit: 'MB',
      baseline: null,
      ratio: null,
      target: '<= 300 MB',
      pass: rssDelta <= 300,
    },
    {
      metric: 'pull 100k: peak heap growth',
      value: heapDelta,
      unit: 'MB',
      baseline: null,
      ratio: null,
      target: '<= 300 MB',
      pass: heapDelta <= 300,
    },
    {
      metric: 'pull 100k: requests',
      value: backend.client.stats.requests,
      unit: 'requests',
      baseline: null,
      ratio: null,
    },
  ];
}

const sim = await RemoteSimulator.start();
try {
  const rows = [...(await benchImport(sim)), ...(await benchPull(sim))];
  writeBenchResult('labelstudio', rows, { simulator: 'child process', taskPageSizeMax: 100 });
  if (rows.some((r) => r.pass === false)) process.exitCode = 1;
} finally {
  await sim.call({ cmd: 'stop' });
}
