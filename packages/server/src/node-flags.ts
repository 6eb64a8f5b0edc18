/**
 * The Node/V8 flags production Labeler processes run with: `npm start` (scripts/start.sh → dist/main.js),
 * `labeler serve`, `labeler worker` and every other `labeler` command (bin/labeler.js). The archive
 * benchmark starts its server process with the same list. See README "Memory".
 *
 * - `--experimental-async-context-frame`: AsyncLocalStorage without promise hooks (the default from
 *   Node 24): about 20% more API throughput.
 * - `--max-semi-space-size=8`: caps V8's young generation at 2 × 8 MiB instead of 2 × 16 MiB. Start-up
 *   and API traffic grow it to its cap, and it stays committed, so this is ~15 MiB less resident memory
 *   (an archive build's peak went from 189–199 to 171–180 MiB). The price is more frequent scavenges:
 *   measured 6–11% less maximum API throughput (get, list, batch); 4 MiB cost up to 31% on list.
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = [
  '--experimental-async-context-frame',
  '--max-semi-space-size=8',
];

const flagName = (flag: string) => flag.split('=')[0]!.replace(/_/g, '-');

/**
 * The production flags this process was started without. A flag given on the command line or in
 * NODE_OPTIONS, with any value, counts as given: an operator's own value wins.
 */
export function missingNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter(Boolean).map(flagName));
  return PRODUCTION_NODE_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/**
 * Re-executes this process (same pid, stdio, environment and arguments) with the missing production
 * flags, via process.execve (Node ≥ 22.15, POSIX). V8 reads them only at start-up, hence the exec. Does
 * nothing when none are missing; where execve is unavailable the process simply goes on without them.
 * Call it first thing in a process entry, before loading the application.
 */
export function relaunchWithNodeFlags(): void {
  const missing = missingNodeFlags();
  if (missing.length === 0 || typeof process.execve !== 'function') return;
  const args = [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, args, process.env);
  } catch {
    // Not fatal: the flags tune memory and speed; the server works without them.
  }
}
