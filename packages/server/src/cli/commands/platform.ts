import { LabelerError } from '@labeler/core';
import type { Command } from 'commander';
import { loadMappingFile, platformMigrate, type RowOutcome } from '../../modules/platform-migration/index.js';
import { CLI_PRINCIPAL, withServices } from '../context.js';
import { contextOf } from './shared.js';

/** `labeler platform migrate`: the Platform's legacy datasets into Labeler (docs/platform-migration.md). */
export function registerPlatformCommands(program: Command): void {
  const platform = program.command('platform').description('the Platform integration');
  platform
    .command('migrate')
    .description(
      "migrate the Platform's legacy datasets (keeping their ids), permissions, accepted invitations and organization memberships",
    )
    .requiredOption('--from <source>', 'postgres://… (the Platform database), file.jsonl or file.csv')
    .option('--mapping <file>', 'JSON file overriding the default table/column names')
    .option(
      '--dry-run',
      'print create / update / same / conflict per row and the totals; write nothing',
      false,
    )
    .option('--batch-size <n>', 'rows per transaction', '1000')
    .option('--no-adopt-files', 'do not enqueue adoption of files already under datasets/{id}/')
    .action(
      async (
        opts: { from: string; mapping?: string; dryRun: boolean; batchSize: string; adoptFiles: boolean },
        command: Command,
      ) => {
        const { config, out } = contextOf(command);
        const batchSize = Number(opts.batchSize);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000)
          throw new LabelerError('VALIDATION_ERROR', '--batch-size must be an integer from 1 to 50000');
        const mapping = opts.mapping ? await loadMappingFile(opts.mapping) : undefined;
        const report = await withServices(config, async (app) => {
          const bar = out.progress(null, opts.dryRun ? 'dry run' : 'migrate');
          // Per-row lines only where they matter: every row in a dry run, problems in a real one.
          const printRow = (r: RowOutcome) => {
            if (out.json) return;
            if (!opts.dryRun && (r.action === 'create' || r.action === 'update' || r.action === 'same'))
              return;
            process.stdout.write(
              `${r.action.padEnd(8)} ${r.kind.padEnd(11)} ${r.key ?? '-'}${r.line ? ` (line ${r.line})` : ''}${r.reason ? `  ${r.reason}` : ''}\n`,
            );
          };
          try {
            return await platformMigrate(app, {
              from: opts.from,
              ...(mapping ? { mapping } : {}),
              dryRun: opts.dryRun,
              batchSize,
              adoptFiles: opts.adoptFiles,
              createdBy: CLI_PRINCIPAL.id,
              onRow: printRow,
              onProgress: (done, total, message) => bar.update(done, total, message),
            });
          } finally {
            bar.stop();
          }
        });
        out.result(report, () => {
          const lines = [opts.dryRun ? 'dry run: nothing written' : `job ${report.job_id}`];
          for (const [kind, t] of Object.entries(report.totals))
            lines.push(
              `${kind.padEnd(11)} create ${t.create}  update ${t.update}  same ${t.same}  conflict ${t.conflict}  bad ${t.bad}  skipped ${t.skipped}`,
            );
          lines.push('reconciliation (legacy vs labeler: rows, checksum):');
          for (const [table, r] of Object.entries(report.reconciliation))
            lines.push(
              `  ${table.padEnd(11)} ${r.legacy.count} ${r.legacy.checksum}  vs  ${r.labeler.count} ${r.labeler.checksum}  ${r.match ? 'match' : 'DIFFER'}`,
            );
          if (report.bad_rows.length) {
            lines.push(`bad rows (${report.bad_rows.length}):`);
            for (const b of report.bad_rows)
              lines.push(`  ${b.kind} ${b.line ? `line ${b.line}` : (b.key ?? '-')}: ${b.reason}`);
          }
          if (report.adoption_jobs) lines.push(`storage adoption jobs enqueued: ${report.adoption_jobs}`);
          return lines.join('\n');
        });
      },
    );
}
