/**
 * Conversion throughput: 100k Label Studio result items → core labels and back, against a same-run
 * baseline (a JSON.parse(JSON.stringify()) deep copy of the same results, i.e. the cost of merely moving
 * the data). Run from the package dir:
 *   node --conditions=@labeler/source --import tsx bench/conversions.bench.ts
 */
import type { LabelSchema, LabelValue } from '@labeler/core';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import { binaryToRleMask, labelsToLsResults, lsResultsToLabels, rleMaskToLsBrush } from '../src/index.js';

const TOTAL = 100_000;
const PER_TASK = 20;
const RUNS = 5;
const dims = { width: 1280, height: 720 };
const schema: LabelSchema = {
  controls: [
    { type: 'rectangle', name: 'ground_truth', labels: ['car', 'person', 'bike'] },
    { type: 'polygon', name: 'polys', labels: ['car', 'person', 'bike'] },
    { type: 'keypoint', name: 'kps', labels: ['car', 'person', 'bike'] },
    { type: 'brush', name: 'seg', labels: ['car', 'person', 'bike'] },
    { type: 'choices', name: 'weather', labels: ['sunny', 'rainy'] },
  ],
};

// Deterministic pseudo-random numbers so every run converts the same data.
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const hex = () => Array.from({ length: 24 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
const labels = ['car', 'person', 'bike'];
const base = {
  to_name: 'image',
  original_width: dims.width,
  original_height: dims.height,
  image_rotation: 0,
};
const brushRle = rleMaskToLsBrush(
  binaryToRleMask(
    Uint8Array.from({ length: 32 * 32 }, (_, i) => (i % 7 < 3 ? 1 : 0)),
    32,
    32,
  ),
);

/** Mix per task of 20: 15 rectangles, 2 polygon regions, 2 keypoints, 1 choices; one brush per 50 tasks. */
function makeTask(t: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 15; i++) {
    out.push({
      ...base,
      id: hex(),
      type: 'rectanglelabels',
      from_name: 'ground_truth',
      value: {
        x: rnd() * 80,
        y: rnd() * 80,
        width: rnd() * 20,
        height: rnd() * 20,
        rotation: i % 5 === 0 ? rnd() * 90 : 0,
        rectanglelabels: [labels[i % 3]],
      },
    });
  }
  for (let i = 0; i < 2; i++) {
    out.push({
      ...base,
      id: hex(),
      type: 'polygonlabels',
      from_name: 'polys',
      value: {
        points: Array.from({ length: 6 }, () => [rnd() * 100, rnd() * 100]),
        polygonlabels: [labels[i]],
        closed: true,
      },
    });
  }
  const kp = hex();
  for (let i = 0; i < 2; i++)
    out.push({
      ...base,
      id: `${kp}::${i}`,
      type: 'keypointlabels',
      from_name: 'kps',
      value: { x: rnd() * 100, y: rnd() * 100, width: 0.34, keypointlabels: ['person'] },
    });
  if (t % 50 === 0)
    out.push({
      ...base,
      original_width: 32,
      original_height: 32,
      id: hex(),
      type: 'brushlabels',
      from_name: 'seg',
      value: { format: 'rle', rle: brushRle, brushlabels: ['car'] },
    });
  else out.push({ ...base, id: hex(), type: 'choices', from_name: 'weather', value: { choices: ['sunny'] } });
  return out;
}

const tasks = Array.from({ length: TOTAL / PER_TASK }, (_, t) => makeTask(t));
const resultCount = tasks.reduce((n, t) => n + t.length, 0);

function time(fn: () => void): number {
  const times: number[] = [];
  fn(); // warm-up
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!; // median
}

let sink = 0;
const baselineMs = time(() => {
  for (const t of tasks) sink += (JSON.parse(JSON.stringify(t)) as unknown[]).length;
});
let converted: Array<Record<string, LabelValue | null>> = [];
const fromLsMs = time(() => {
  converted = tasks.map((t) => lsResultsToLabels(t, schema));
});
let back = 0;
const toLsMs = time(() => {
  back = 0;
  for (const l of converted) back += labelsToLsResults(l, schema, dims).length;
});
if (back !== resultCount) throw new Error(`round trip produced ${back} results, expected ${resultCount}`);

const perSec = (ms: number) => resultCount / (ms / 1000);
const baseline = perSec(baselineMs);
const rows: BenchRow[] = [
  {
    metric: 'baseline: JSON deep copy of LS results',
    value: baseline,
    unit: 'results/s',
    baseline: null,
    ratio: null,
  },
  {
    metric: 'LS results → labels (lsResultsToLabels)',
    value: perSec(fromLsMs),
    unit: 'results/s',
    baseline,
    ratio: perSec(fromLsMs) / baseline,
    target: '>= 0.2',
    pass: perSec(fromLsMs) / baseline >= 0.2,
  },
  {
    metric: 'labels → LS results (labelsToLsResults)',
    value: perSec(toLsMs),
    unit: 'results/s',
    baseline,
    ratio: perSec(toLsMs) / baseline,
    target: '>= 0.2',
    pass: perSec(toLsMs) / baseline >= 0.2,
  },
];
writeBenchResult('plugin-fiftyone-conversions', rows, {
  results: resultCount,
  tasks: tasks.length,
  runs: RUNS,
  statistic: 'median',
  sink,
});
