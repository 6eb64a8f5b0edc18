/**
 * Shared benchmark reporting: every benchmark prints a table and writes bench/results/<name>.json as a list
 * of { metric, value, unit, baseline, ratio } rows, each ratio against a baseline measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** Same metric for the baseline measured in this run (null when the row is an absolute target). */
  baseline: number | null;
  /** value / baseline, or a documented inverse for "lower is better" metrics; null without a baseline. */
  ratio: number | null;
  /** Optional target, e.g. "<= 5 ms" or ">= 0.7". */
  target?: string;
  /** Whether the target was met (omitted when there is no target). */
  pass?: boolean;
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

const round = (n: number | null) => (n === null || !Number.isFinite(n) ? n : Math.round(n * 1000) / 1000);

export function writeBenchResult(name: string, rows: BenchRow[], meta: Record<string, unknown> = {}): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const clean = rows.map((r) => ({
    ...r,
    value: round(r.value),
    baseline: round(r.baseline),
    ratio: round(r.ratio),
  }));
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), node: process.version, meta, rows: clean }, null, 2)}\n`,
  );
  console.log(`\n== ${name} ==`);
  console.table(
    clean.map((r) => ({
      metric: r.metric,
      value: r.value,
      unit: r.unit,
      baseline: r.baseline,
      ratio: r.ratio,
      target: r.target ?? '',
      pass: r.pass ?? '',
    })),
  );
  console.log(`wrote ${file}`);
  return file;
}

/** Percentile of an unsorted sample (nearest-rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
