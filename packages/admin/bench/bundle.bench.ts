/**
 * Console bundle size (issue: admin console): initial JavaScript gzip of the built console, against the
 * 250 KB budget. The baseline measured in the same run is the gzip size of the React runtime alone
 * (react + react-dom + scheduler as shipped in the bundle's vendor code is not separable, so we gzip the
 * packages' production builds): the ratio says how much the console adds on top of its framework.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = JSON.parse(
  execFileSync(process.execPath, [join(root, 'scripts/bundle-size.mjs')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!,
) as { value: number; raw_kb: number; budget_kb: number };
const require = createRequire(join(root, 'package.json'));
const reactFiles = [
  'react/cjs/react.production.js',
  'react-dom/cjs/react-dom.production.js',
  'react-dom/cjs/react-dom-client.production.js',
];
const reactGzipKb = reactFiles.reduce((sum, file) => {
  try {
    return sum + gzipSync(readFileSync(require.resolve(file)), { level: 9 }).length / 1024;
  } catch {
    return sum;
  }
}, 0);
const rows: BenchRow[] = [
  {
    metric: 'console initial JS (gzip)',
    value: report.value,
    unit: 'KB',
    baseline: reactGzipKb,
    ratio: report.value / reactGzipKb,
    target: `<= ${report.budget_kb} KB`,
    pass: report.value <= report.budget_kb,
  },
  { metric: 'console initial JS (raw)', value: report.raw_kb, unit: 'KB', baseline: null, ratio: null },
];
writeBenchResult('console-bundle', rows);
