import type { Command } from 'commander';
import { type CliConfig, loadCliConfig } from '../config.js';
import { createOutput, type Output } from '../output.js';

export interface GlobalOptions {
  config?: string;
  set?: string[];
  json?: boolean;
}

/** Global options and the merged configuration for a subcommand. */
export function contextOf(command: Command): { config: CliConfig; out: Output; json: boolean } {
  const globals = command.optsWithGlobals() as GlobalOptions;
  const config = loadCliConfig({
    ...(globals.config ? { configFile: globals.config } : {}),
    ...(globals.set ? { set: globals.set } : {}),
  });
  return { config, out: createOutput(Boolean(globals.json)), json: Boolean(globals.json) };
}
