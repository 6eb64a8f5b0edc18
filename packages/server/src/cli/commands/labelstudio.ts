import type { Command } from 'commander';
import {
  lsTestCommand,
  openLabelStudio,
  pullCommand,
  pushCommand,
  syncDiskCommand,
  syncUndoCommand,
} from '../ls-workflow.js';
import { EXIT } from '../output.js';
import { CLI_PRINCIPAL, withServices } from '../context.js';
import { contextOf } from './shared.js';

/** Label Studio commands: ls test, ls project …, push, pull, sync disk, sync undo, workflow roundtrip. */
export function registerLabelStudioCommands(program: Command): void {
  const ls = program.command('ls').description('Label Studio connectivity and projects');
  ls.command('test')
    .description(
      'check Label Studio: version, token kind, identity, local-files serving (each failure with its fix)',
    )
    .action(async (_opts, command: Command) => {
      const { config, out } = contextOf(command);
      const diagnosis = await lsTestCommand(config);
      out.result(diagnosis, () =>
        [
          `Label Studio ${diagnosis.version ?? '?'} (${diagnosis.edition ?? '?'}), token: ${diagnosis.tokenKind ?? '?'}, user: ${diagnosis.user?.email ?? diagnosis.user?.id ?? '?'}`,
          ...diagnosis.checks.map(
            (c) =>
              `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.message}${!c.ok && c.fix ? `\n       fix: ${c.fix}` : ''}`,
          ),
        ].join('\n'),
      );
      if (!diagnosis.ok) process.exitCode = EXIT.failed;
    });
  const project = ls.command('project').description('Label Studio projects');
  project
    .command('list')
    .description('annotation projects recorded in Labeler, with live counters from Label Studio')
    .action(async (_opts, command: Command) => {
      const { config, out } = contextOf(command);
      const { projects } = await withServices(config, (app) =>
        app.annotation.list({ limit: 200, offset: 0 }, CLI_PRINCIPAL),
      );
      out.result(
        projects,
        () =>
          (projects as Array<Record<string, unknown>>)
            .map(
              (p) =>
                `${p.id}  LS#${p.external_id ?? '-'}  ${p.status}  tasks ${p.task_count}  annotated ${p.annotation_count}  ${p.name}`,
            )
            .join('\n') || 'no projects',
      );
    });
  project
    .command('clear-tasks <projectExternalId>')
    .description('delete every task of a Label Studio project (before reusing it for a new run)')
    .action(async (projectId: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const backend = await openLabelStudio(config);
      const removed = await backend.clearTasks(projectId);
      out.result(
        { project_external_id: projectId, removed },
        () => `removed ${removed} tasks from project ${projectId}`,
      );
    });
  project
    .command('cleanup <projectExternalId>')
    .description('delete a Label Studio project')
    .action(async (projectId: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const backend = await openLabelStudio(config);
      await backend.deleteProject(projectId);
      out.result({ project_external_id: projectId, deleted: true }, () => `deleted project ${projectId}`);
    });

  program
    .command('push <datasetDir>')
    .description(
      'preflight, then upload a dataset folder as Label Studio tasks (idempotent: re-running never duplicates)',
    )
    .option(
      '--format <format>',
      'fiftyone | fiftyone-image-detection | coco | yolo | imagefolder (default: detect)',
    )
    .option('--project-title <title>', 'Label Studio project title (adopted when it exists)')
    .option('--project-id <id>', 'existing Label Studio project id')
    .option(
      '--schema <file>',
      'label schema JSON ({"controls":[{"type":"rectangle","name":"ground_truth","labels":[…]}]})',
    )
    .option('--no-predictions', 'do not upload existing labels as predictions')
    .option('--skip-preflight', 'upload without preflight checks')
    .action(
      async (
        dir: string,
        opts: {
          format?: string;
          projectTitle?: string;
          projectId?: string;
          schema?: string;
          predictions: boolean;
          skipPreflight?: boolean;
        },
        command: Command,
      ) => {
        const { config, out } = contextOf(command);
        const result = await pushCommand(
          config,
          dir,
          { ...opts, ...(opts.schema ? { schemaFile: opts.schema } : {}) },
          out,
        );
        out.result(
          result,
          () =>
            `project ${result.project_external_id}: ${result.created} tasks created, ${result.skipped} already there, ${result.failed} failed`,
        );
      },
    );

  program
    .command('pull <datasetDir>')
    .description(
      'fetch submitted annotations (cancelled ones skipped), mapped by sample id; apply with `sync disk`',
    )
    .action(async (dir: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const result = await pullCommand(config, dir, {}, out);
      out.result(
        result,
        () =>
          `${result.updated_samples} samples changed (${result.tasks_seen} tasks seen, ${result.cancelled} cancelled skipped); review with \`labeler sync disk ${dir} --dry-run\``,
      );
    });

  const sync = program.command('sync').description('write pulled labels back to disk');
  sync
    .command('disk <datasetDir>')
    .description("write pulled labels into the dataset's own format (atomic, with .bak backups)")
    .option('--dry-run', 'print a per-sample diff and change nothing', false)
    .option('--dataset <id>', 'also record the written folder as a new version of this Labeler dataset')
    .action(async (dir: string, opts: { dryRun: boolean; dataset?: string }, command: Command) => {
      const { config, out } = contextOf(command);
      const report = await syncDiskCommand(config, dir, { dryRun: opts.dryRun }, out);
      if (opts.dataset && !report.dryRun && report.changedSamples > 0) {
        const datasetId = opts.dataset;
        const imported = await withServices(config, (app) =>
          app.storageFiles.importDirectory(datasetId, dir, CLI_PRINCIPAL),
        );
        out.info(
          `dataset ${datasetId}: ${imported.imported} changed files uploaded → version ${imported.version.version}`,
        );
      }
      out.result(report, () =>
        [
          ...report.diffs.flatMap((d) => [
            `${d.sampleId} ${d.filepath}: +${d.added} ~${d.updated} -${d.removed}`,
            ...d.lines.map((l) => `    ${l}`),
          ]),
          report.dryRun
            ? `dry run: ${report.changedSamples} samples would change; nothing written`
            : `${report.changedSamples} samples written to ${report.filesWritten.length} file(s); undo with \`labeler sync undo ${dir}\``,
        ].join('\n'),
      );
    });
  sync
    .command('undo <datasetDir>')
    .description('restore the files the last `sync disk` replaced')
    .action(async (dir: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const result = await syncUndoCommand(config, dir);
      out.result(result, () => `restored ${result.restored.length} file(s)`);
    });

  program
    .command('workflow')
    .description('multi-step workflows')
    .command('roundtrip <datasetDir>')
    .description('push, pull and sync disk in one go (dry run unless --write)')
    .option('--write', 'write the pulled labels to disk', false)
    .option('--format <format>', 'dataset format (default: detect)')
    .action(async (dir: string, opts: { write: boolean; format?: string }, command: Command) => {
      const { config, out } = contextOf(command);
      const pushed = await pushCommand(config, dir, opts.format ? { format: opts.format } : {}, out);
      const pulled = await pullCommand(config, dir, {}, out);
      const synced = pulled.updated_samples
        ? await syncDiskCommand(config, dir, { dryRun: !opts.write }, out)
        : null;
      out.result(
        { pushed, pulled, synced },
        () =>
          `pushed ${pushed.created} new tasks; pulled ${pulled.updated_samples} changed samples; ${synced ? (synced.dryRun ? `${synced.changedSamples} would change (dry run)` : `${synced.changedSamples} written`) : 'nothing to sync'}`,
      );
    });
}
