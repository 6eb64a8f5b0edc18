// Counts a `turbo run test --summarize` run per package, for scripts/test.sh:
//   node scripts/test-summary.mjs <turbo output log> <turbo run summary .json>
// Prints one line per package that has a test task ("@labeler/server: 412 passed, 0 failed"), from the
// vitest summaries in that package's output (the console runs vitest twice: both count), then the total
// line CI reads ("tests: N passed, N failed"). Exits 1 when anything failed.
//
// A package counts as failed even when its log shows no failing test, if its task exited non-zero (a crash
// before vitest's summary, an unhandled error, a failed build step between two vitest runs) or never ran:
// it adds 1 to the failed total and says why, by name.
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';

const [logPath, summaryPath] = process.argv.slice(2);
const log = stripVTControlCharacters(readFileSync(logPath, 'utf8'));

/** @type {{ package: string, exitCode: number | null }[]} */
let tasks = [];
try {
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
  tasks = (summary.tasks ?? [])
    .filter((task) => task.task === 'test')
    .map((task) => ({ package: String(task.package), exitCode: task.execution?.exitCode ?? null }));
} catch (error) {
  console.log(`[test] no turbo run summary (${error.message}): the test run itself failed`);
}

let passed = 0;
let failed = 0;
for (const task of tasks.sort((a, b) => a.package.localeCompare(b.package))) {
  const prefix = `${task.package}:test: `;
  let pkgPassed = 0;
  let pkgFailed = 0;
  let summaries = 0;
  for (const line of log.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    // vitest: "      Tests  3 failed | 409 passed | 2 skipped (414)" ("Test Files" lines do not match).
    const counts = /^\s*Tests\s+(\d.*)$/.exec(line.slice(prefix.length));
    if (!counts) continue;
    summaries += 1;
    pkgPassed += Number(/(\d+) passed/.exec(counts[1])?.[1] ?? 0);
    pkgFailed += Number(/(\d+) failed/.exec(counts[1])?.[1] ?? 0);
  }
  let note = '';
  if (task.exitCode === null) note = ' (did not run: a task it depends on failed), counted as 1 failed';
  else if (summaries === 0 && task.exitCode !== 0)
    note = ` (exited ${task.exitCode} before vitest's summary), counted as 1 failed`;
  else if (pkgFailed === 0 && task.exitCode !== 0)
    note = ` (exited ${task.exitCode} without a failing test: see its log), counted as 1 failed`;
  console.log(`${task.package}: ${pkgPassed} passed, ${pkgFailed} failed${note}`);
  passed += pkgPassed;
  failed += pkgFailed + (note ? 1 : 0);
}
if (tasks.length === 0) failed += 1;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
