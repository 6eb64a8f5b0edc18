/**
 * Import into a REAL Label Studio 1.7.3 (SQLite; started with shared/labelstudio/start.sh on a port of its
 * own, or LABELSTUDIO_URL/LABELSTUDIO_TOKEN): 1,000 and 10,000 samples in batches of 100, with adaptive
 * concurrency vs fixed 1 vs fixed 4 in flight, same run, each into a fresh project.
 * Target: adaptive takes ≤ 1/0.9 of the best fixed setting's time (ratio = best fixed time / adaptive time ≥ 0.9).
 * Run from the package dir: node --conditions=@labeler/source --import tsx bench/real-import.bench.ts
 * BENCH_LS_SIZES=1000,10000 (default) picks the sizes.
 */
import type { TaskInput } from '@labeler/core';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import { importSamplesIdempotently } from '../src/index.js';
import { startRealLabelStudio } from '../test/contract/real.js';
import { backendOf, LABEL_CONFIG } from '../test/contract/target.js';

type Mode = { name: string; concurrency: number | 'adaptive' };
const MODES: Mode[] = [
  { name: 'fixed 1', concurrency: 1 },
  { name: 'adaptive', concurrency: 'adaptive' },
  { name: 'fixed 4', concurrency: 4 },
];
const sizes = (process.env.BENCH_LS_SIZES ?? '1000,10000').split(',').map(Number);

function* samples(n: number): Generator<TaskInput> {
  for (let i = 0; i < n; i++)
    yield { sampleId: `s-${i}`, data: { image: `/data/local-files/?d=imgs/${i}.jpg` } };
}

const ls = await startRealLabelStudio();
const rows: BenchRow[] = [];
const meta: Record<string, unknown> = {
  url: ls.target.url,
  version: ls.target.version,
  batchSize: 100,
  cap: 4,
};
try {
  const backend = backendOf(ls.target, { timeoutMs: 300_000, importConcurrency: 4 });
  for (const n of sizes) {
    const seconds: Record<string, number> = {};
    for (const mode of MODES) {
      const { project } = await backend.ensureProject({
        title: `bench-${n}-${mode.name}-${Date.now()}`,
        labelConfig: LABEL_CONFIG,
      });
      const limits = new Set<number>();
      const start = performance.now();
      const result = await importSamplesIdempotently(backend, project.externalId, samples(n), {
        batchSize: 100,
        concurrency: mode.concurrency,
        onProgress: (p) => limits.add(p.concurrency),
      });
      seconds[mode.name] = (performance.now() - start) / 1000;
      if (result.imported !== n) throw new Error(`${mode.name}: imported ${result.imported} of ${n}`);
      meta[`${n} ${mode.name} limits`] = [...limits].sort();
      console.log(`${n} ${mode.name}: ${seconds[mode.name]!.toFixed(2)} s (limits ${[...limits].join(',')})`);
      await backend.deleteProject(project.externalId);
    }
    const best = Math.min(seconds['fixed 1']!, seconds['fixed 4']!);
    for (const mode of MODES)
      rows.push({
        metric: `import ${n} ${mode.name}`,
        value: seconds[mode.name]!,
        unit: 's',
        baseline: null,
        ratio: null,
      });
    const ratio = best / seconds.adaptive!;
    rows.push({
      metric: `import ${n}: adaptive vs best fixed (time ratio)`,
      value: seconds.adaptive!,
      unit: 's',
      baseline: best,
      ratio,
      target: '>= 0.9',
      pass: ratio >= 0.9,
    });
  }
} finally {
  await ls.stop();
}
writeBenchResult('labelstudio-real-import', rows, meta);
