/** `labeler` CLI: the same services as the server, in-process. Run `labeler --help`. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/env.js';
import { registerAccountCommands } from './commands/accounts.js';
import { registerDatasetCommands } from './commands/datasets.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerLabelStudioCommands } from './commands/labelstudio.js';
import { registerOpenApiCommands } from './commands/openapi.js';
import { registerPlatformCommands } from './commands/platform.js';
import { registerServerCommands } from './commands/server.js';
import { CliConfigError } from './config.js';
import { EXIT, reportError } from './output.js';

const program = new Command()
  .name('labeler')
  .description('Labeler: datasets, annotation projects and storage from the command line.')
  .option('-c, --config <file>', 'JSON config file (default: $LABELER_CONFIG or ./labeler.json)')
  .option(
    '-s, --set <key=value>',
    'override a config key (dotted, e.g. label_studio.url=http://ls:8080); repeatable',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--json', 'machine-readable JSON output', false)
  .showHelpAfterError()
  .exitOverride();

registerServerCommands(program);
registerAccountCommands(program);
registerDatasetCommands(program);
registerLabelStudioCommands(program);
registerOpenApiCommands(program);
registerDemoCommands(program);
registerPlatformCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  if (error instanceof ConfigError || error instanceof CliConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT.usage);
  }
  process.exit(reportError(error, Boolean(program.opts().json)));
}
