import type { Command } from 'commander';
import { loadConfig } from '../../config/env.js';
import { migrate, openDatabase, pgliteDirFor } from '../../db/orm.js';
import { serve } from '../../serve.js';
import { runWorker } from '../worker.js';
import { contextOf } from './shared.js';

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('start the server (HTTP API, console, embedded job workers)')
    .action(async (_opts, command: Command) => {
      const { config } = contextOf(command);
      await serve(loadConfig({ ...process.env, ...config.server }));
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async (_opts, command: Command) => {
      const { config, out } = contextOf(command);
      const server = loadConfig({ ...process.env, ...config.server });
      const orm = await openDatabase({
        databaseUrl: server.DATABASE_URL,
        pgliteDataDir: pgliteDirFor(server.dataDir),
      });
      try {
        const applied = await migrate(orm);
        out.result({ applied }, () =>
          applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date',
        );
      } finally {
        await orm.close(true);
      }
    });

  program
    .command('worker')
    .description('run job workers only (scale-out): several processes on one database run each job once')
    .action(async (_opts, command: Command) => {
      const { config } = contextOf(command);
      await runWorker({ config: loadConfig({ ...process.env, ...config.server }) });
    });
}
