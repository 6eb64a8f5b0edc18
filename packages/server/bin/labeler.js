#!/usr/bin/env node
// Runs the built CLI when present, else the TypeScript sources through tsx (development checkouts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(built) && !process.env.LABELER_CLI_FROM_SOURCE) {
  // Re-executes with the production Node flags (dist/node-flags.js) when started without them.
  const { relaunchWithNodeFlags } = await import(new URL('../dist/node-flags.js', import.meta.url).href);
  relaunchWithNodeFlags();
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
} else {
  const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const result = spawnSync(
    process.execPath,
    ['--conditions=@labeler/source', '--import', 'tsx', source, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
