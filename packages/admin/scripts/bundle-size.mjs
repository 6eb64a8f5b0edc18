#!/usr/bin/env node
// Initial JavaScript of the built console: the entry script(s) and modulepreloads referenced by
// dist/index.html, gzipped (level 9). Prints a JSON line, writes dist/bundle-size.json, and exits 1
// when the total exceeds the budget (default 250 KB; BUNDLE_BUDGET_KB overrides).
//   node scripts/bundle-size.mjs [--dist <dir>] [--out <file>]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(flag('--dist') ?? join(root, 'dist'));
const out = resolve(flag('--out') ?? join(dist, 'bundle-size.json'));
const budgetKb = Number(process.env.BUNDLE_BUDGET_KB ?? 250);

const indexPath = join(dist, 'index.html');
if (!existsSync(indexPath)) {
  console.error(`bundle-size: ${indexPath} is missing; run "vite build" first.`);
  process.exit(2);
}
const html = readFileSync(indexPath, 'utf8');
const refs = new Set();
for (const match of html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g)) refs.add(match[1]);
for (const match of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)) refs.add(match[1]);

const files = [...refs].map((ref) => {
  const path = join(dist, ref.replace(/^\//, ''));
  const raw = readFileSync(path);
  return { file: ref, bytes: raw.length, gzip_bytes: gzipSync(raw, { level: 9 }).length };
});
const gzipBytes = files.reduce((sum, f) => sum + f.gzip_bytes, 0);
const report = {
  metric: 'console_initial_js_gzip_kb',
  value: Math.round((gzipBytes / 1024) * 10) / 10,
  budget_kb: budgetKb,
  raw_kb: Math.round((files.reduce((s, f) => s + f.bytes, 0) / 1024) * 10) / 10,
  files,
  within_budget: gzipBytes / 1024 <= budgetKb,
};
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
if (!report.within_budget) {
  console.error(`bundle-size: ${report.value} KB gzip exceeds the ${budgetKb} KB budget.`);
  process.exit(1);
}
