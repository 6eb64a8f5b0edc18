import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  DATASET_FORMATS,
  type DatasetFormat,
  LabelerError,
  VISIBILITIES,
  type Visibility,
} from '@labeler/core';
import type { Command } from 'commander';
import { normaliseDatasetPath } from '../../modules/storage-files/service.js';
import { CLI_PRINCIPAL, withServices } from '../context.js';
import { contextOf } from './shared.js';

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new LabelerError(
      'VALIDATION_ERROR',
      `${flag} must be one of ${allowed.join(', ')} (got "${value}")`,
    );
  return value as T;
}

export function registerDatasetCommands(program: Command): void {
  const dataset = program.command('dataset').description('datasets and their files');

  dataset
    .command('list')
    .description('list datasets')
    .option('--limit <n>', 'page size', '50')
    .action(async (opts: { limit: string }, command: Command) => {
      const { config, out } = contextOf(command);
      const page = await withServices(config, (app) =>
        app.datasets.list(CLI_PRINCIPAL, {
          page: 1,
          limit: Math.min(200, Number(opts.limit) || 50),
          tags: undefined,
        }),
      );
      out.result(
        page.datasets.map((d) => ({
          id: d.id,
          name: d.name,
          format: d.format,
          version: d.version,
          num_images: d.numImages,
          visibility: d.visibility,
        })),
        () =>
          page.datasets
            .map(
              (d) =>
                `${d.id}  v${d.version}  ${d.format.padEnd(11)} ${String(d.numImages).padStart(7)} images  ${d.name}`,
            )
            .join('\n') || 'no datasets',
      );
    });

  dataset
    .command('import <dir>')
    .description(
      'upload a folder as a dataset (creates it unless --dataset is given); files go to datasets/{id}/ and a new version is recorded',
    )
    .option('--dataset <id>', 'add to an existing dataset')
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--format <format>', `one of ${DATASET_FORMATS.join(', ')}`, 'coco')
    .option('--owner <userId>', 'Platform user id of the owner', '1')
    .option('--visibility <v>', `one of ${VISIBILITIES.join(', ')}`, 'private')
    .option('--annotation-path <path>', 'annotation file inside the folder (e.g. annotations.json)')
    .action(
      async (
        dir: string,
        opts: {
          dataset?: string;
          name?: string;
          format: string;
          owner: string;
          visibility: string;
          annotationPath?: string;
        },
        command: Command,
      ) => {
        const { config, out } = contextOf(command);
        const root = resolve(dir);
        const result = await withServices(config, async (app) => {
          let datasetId = opts.dataset;
          if (!datasetId) {
            const storage = await app.storageFiles.resolveStorageFor(null);
            const created = await app.datasets.create(
              {
                name: opts.name ?? root.split('/').pop() ?? 'dataset',
                format: oneOf<DatasetFormat>(opts.format, DATASET_FORMATS, '--format'),
                labeled: Boolean(opts.annotationPath),
                class_names: [],
                tags: [],
                visibility: oneOf<Visibility>(opts.visibility, VISIBILITIES, '--visibility'),
                owner_id: Number(opts.owner),
              },
              CLI_PRINCIPAL,
              storage,
            );
            datasetId = created.id;
            out.info(`created dataset ${datasetId}`);
          }
          const bar = out.progress(null, 'upload');
          try {
            const annotationPath = opts.annotationPath
              ? `datasets/${datasetId}/${normaliseDatasetPath(opts.annotationPath)}`
              : undefined;
            const imported = await app.storageFiles.importDirectory(datasetId, root, CLI_PRINCIPAL, {
              onProgress: (done, message) => bar.update(done, null, message),
              ...(annotationPath ? { annotationPath } : {}),
            });
            return {
              dataset_id: datasetId,
              imported: imported.imported,
              unchanged: imported.skipped,
              samples: imported.samples,
              version: imported.version.version,
              content_hash: imported.version.contentHash,
            };
          } finally {
            bar.stop();
          }
        });
        out.result(
          result,
          () =>
            `dataset ${result.dataset_id}: ${result.imported} files uploaded, ${result.unchanged} unchanged, ${result.samples} samples → version ${result.version} (${result.content_hash})`,
        );
      },
    );

  dataset
    .command('export <datasetId> <outDir>')
    .description('download the files of a dataset version into a folder')
    .option('--version <n>', 'version (default: latest)')
    .action(async (datasetId: string, outDir: string, opts: { version?: string }, command: Command) => {
      const { config, out } = contextOf(command);
      const target = resolve(outDir);
      const result = await withServices(config, async (app) => {
        const em = app.orm.em.fork();
        const dataset = await app.datasets.getVisible(CLI_PRINCIPAL, datasetId, em);
        const version = await app.datasets.getVersion(
          datasetId,
          opts.version ? Number(opts.version) : undefined,
          em,
        );
        const files = await app.storageFiles.filesOf(em, datasetId, version.version);
        const storage = await app.storageFiles.storageOf(dataset);
        const bar = out.progress(files.length, 'download');
        try {
          for (const [index, file] of files.entries()) {
            const path = join(target, normaliseDatasetPath(file.path));
            await mkdir(dirname(path), { recursive: true });
            const object = await storage.get(file.storageKey);
            await pipeline(object.body, createWriteStream(path));
            bar.update(index + 1, files.length, file.path);
          }
        } finally {
          bar.stop();
        }
        return { dataset_id: datasetId, version: version.version, files: files.length, out_dir: target };
      });
      out.result(
        result,
        () =>
          `exported ${result.files} files of ${result.dataset_id} v${result.version} to ${result.out_dir}`,
      );
    });
}
