import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type AnnotationBackendInstance,
  type DatasetSource,
  type DatasetSourceFormat,
  LabelerError,
  type LabelSchema,
  labelSchemaSchema,
  parsePluginConfig,
  type Sample,
  type SampleLabelsUpdate,
  type WriteLabelsReport,
} from '@labeler/core';
import {
  createFiftyOneConnector,
  detectFormat,
  lsPathOf,
  preflight,
  pull,
  push,
  syncToDisk,
  undoSync,
} from '@labeler/plugin-fiftyone';
import { labelStudioPlugin } from '@labeler/plugin-labelstudio';
import { z } from 'zod';
import { createLogger } from '../lib/logger.js';
import type { CliConfig } from './config.js';
import type { Output } from './output.js';

/**
 * The dst-style workflow on a dataset folder: push → (annotators work in Label Studio) → pull → sync disk.
 * Everything goes through the core contracts; the Label Studio instance comes from the CLI configuration.
 * State between steps (project id, schema, pulled updates, backups for undo) lives in the data directory,
 * never inside the dataset folder (a folder-per-class dataset would read it as a class).
 */
const stateSchema = z.object({
  dataset_dir: z.string(),
  format: z.string(),
  label_field: z.string(),
  project_external_id: z.string().nullable(),
  schema: labelSchemaSchema,
  pending_updates: z
    .array(z.object({ sampleId: z.string(), labels: z.record(z.string(), z.unknown()) }))
    .default([]),
  last_sync: z
    .object({ backups: z.array(z.string()), filesWritten: z.array(z.string()) })
    .nullable()
    .default(null),
});
type WorkflowState = z.infer<typeof stateSchema>;

function statePath(config: CliConfig, dir: string): string {
  const dataDir = resolve(config.server.LABELER_DATA_DIR ?? process.env.LABELER_DATA_DIR ?? './data');
  return join(
    dataDir,
    'cli-state',
    `${createHash('sha1').update(resolve(dir)).digest('hex').slice(0, 16)}.json`,
  );
}

function readState(config: CliConfig, dir: string): WorkflowState | null {
  const file = statePath(config, dir);
  if (!existsSync(file)) return null;
  const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new LabelerError(
      'VALIDATION_ERROR',
      `Workflow state ${file} is corrupt; delete it and push again.`,
    );
  return parsed.data;
}

function writeState(config: CliConfig, state: WorkflowState): void {
  const file = statePath(config, state.dataset_dir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

function requireState(config: CliConfig, dir: string): WorkflowState {
  const state = readState(config, dir);
  if (!state?.project_external_id)
    throw new LabelerError(
      'VALIDATION_ERROR',
      `Nothing was pushed from ${resolve(dir)} yet: run \`labeler push ${dir}\` first.`,
    );
  return state;
}

/** A Label Studio backend from label_studio.url / api_key (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY). */
export async function openLabelStudio(config: CliConfig): Promise<AnnotationBackendInstance> {
  if (!config.label_studio.url || !config.label_studio.api_key) {
    throw new LabelerError(
      'VALIDATION_ERROR',
      'Set the Label Studio URL and token: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, a config file, or --set label_studio.url=… --set label_studio.api_key=….',
    );
  }
  const pluginConfig = parsePluginConfig(labelStudioPlugin, {
    url: config.label_studio.url,
    apiKey: config.label_studio.api_key,
    timeoutMs: config.label_studio.timeout_ms,
    importBatchSize: Math.min(config.batch_size, 100),
    ...(config.mount.ls_document_root ? { documentRoot: config.mount.ls_document_root } : {}),
    localFilesPrefix: config.mount.local_files_prefix,
  });
  return labelStudioPlugin.create(
    {
      instanceId: 'cli',
      logger: createLogger('warn'),
      publicBaseUrl: 'http://localhost',
      dataDir: resolve('.labeler-cli'),
      signingKey: 'cli',
    },
    pluginConfig,
  );
}

function mountOf(config: CliConfig, dir: string) {
  return {
    host_root: resolve(config.mount.host_root ?? dir),
    ls_document_root: config.mount.ls_document_root ?? resolve(config.mount.host_root ?? dir),
    local_files_prefix: config.mount.local_files_prefix,
  };
}

async function sourceOf(dir: string, format: string | undefined, labelField: string): Promise<DatasetSource> {
  const detected = (format as DatasetSourceFormat | undefined) ?? (await detectFormat(resolve(dir)));
  if (!detected)
    throw new LabelerError(
      'DATASET_FORMAT_INVALID',
      `Could not detect the dataset format of ${resolve(dir)}; pass --format (fiftyone, fiftyone-image-detection, coco, yolo, imagefolder).`,
    );
  return { path: resolve(dir), format: detected, labelField };
}

async function readAll(
  dir: string,
  source: DatasetSource,
  config: CliConfig,
): Promise<{ samples: Sample[]; classes: string[] }> {
  const connector = createFiftyOneConnector({
    mount: mountOf(config, dir),
    default_label_field: config.label_field,
  });
  const info = await connector.readInfo(source);
  const samples: Sample[] = [];
  for await (const sample of connector.readSamples(source)) samples.push(sample);
  return { samples, classes: info.classes };
}

/** Default schema: boxes for detection formats, choices for a folder-per-class dataset. */
function defaultSchema(format: DatasetSourceFormat, labelField: string, classes: string[]): LabelSchema {
  const labels = classes.length ? classes : ['object'];
  return {
    controls: [{ type: format === 'imagefolder' ? 'choices' : 'rectangle', name: labelField, labels }],
  };
}

export interface PushCommandOptions {
  format?: string;
  projectTitle?: string;
  projectId?: string;
  schemaFile?: string;
  skipPreflight?: boolean;
  predictions?: boolean;
  signal?: AbortSignal;
}

export async function pushCommand(
  config: CliConfig,
  dir: string,
  options: PushCommandOptions,
  out: Output,
  backend?: AnnotationBackendInstance,
) {
  const ls = backend ?? (await openLabelStudio(config));
  const source = await sourceOf(dir, options.format, config.label_field);
  const { samples, classes } = await readAll(dir, source, config);
  const previous = readState(config, dir);
  const schema: LabelSchema = options.schemaFile
    ? labelSchemaSchema.parse(JSON.parse(readFileSync(options.schemaFile, 'utf8')))
    : (previous?.schema ?? defaultSchema(source.format, config.label_field, classes));
  const title = options.projectTitle ?? `labeler ${dir.split('/').filter(Boolean).pop()}`;
  const ensured = await ls.ensureProject({
    externalId: options.projectId ?? previous?.project_external_id ?? null,
    title,
    labelConfig: ls.buildLabelConfig(schema),
  });
  const projectExternalId = ensured.project.externalId;
  writeState(config, {
    dataset_dir: resolve(dir),
    format: source.format,
    label_field: config.label_field,
    project_external_id: projectExternalId,
    schema,
    pending_updates: previous?.pending_updates ?? [],
    last_sync: previous?.last_sync ?? null,
  });
  const mount = mountOf(config, dir);
  // Idempotent: the local-files source storage that lets Label Studio serve this folder's images.
  await ls.setupStorage(projectExternalId, {
    type: 'local-files',
    role: 'source',
    path: lsPathOf(resolve(dir), mount),
    title: `labeler: ${resolve(dir).split('/').pop()}`,
    useBlobUrls: true,
  });
  if (!options.skipPreflight) {
    const report = await preflight({ samples, mount, schema, backend: ls, projectExternalId });
    if (!report.ok) {
      throw new LabelerError(
        'PREFLIGHT_FAILED',
        `Preflight found ${report.issues.length} problem(s); nothing was uploaded:\n${report.issues
          .slice(0, 20)
          .map((i) => `  [${i.code}]${i.sampleId ? ` ${i.sampleId}` : ''} ${i.message} → ${i.fix}`)
          .join('\n')}`,
        { details: { issues: report.issues } },
      );
    }
  }
  const bar = out.progress(samples.length, 'push');
  try {
    const report = await push({
      backend: ls,
      projectExternalId,
      samples,
      schema,
      mount,
      strategy: config.upload_strategy,
      batchSize: Math.min(config.batch_size, 100),
      withPredictions: options.predictions ?? true,
      onProgress: (p) => bar.update(p.done, p.total, `${p.created} new, ${p.skipped} existing`),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      project_external_id: report.projectExternalId,
      project_created: ensured.created,
      created: report.created,
      skipped: report.skipped,
      failed: report.failed.length,
      warnings: report.warnings,
    };
  } finally {
    bar.stop();
  }
}

export async function pullCommand(
  config: CliConfig,
  dir: string,
  options: { signal?: AbortSignal },
  out: Output,
  backend?: AnnotationBackendInstance,
) {
  const state = requireState(config, dir);
  const ls = backend ?? (await openLabelStudio(config));
  const source = await sourceOf(dir, state.format, state.label_field);
  const { samples } = await readAll(dir, source, config);
  out.info(`pulling annotations of project ${state.project_external_id}`);
  const report = await pull({
    backend: ls,
    projectExternalId: state.project_external_id!,
    schema: state.schema,
    samples,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  writeState(config, { ...state, pending_updates: report.updates as WorkflowState['pending_updates'] });
  return {
    project_external_id: state.project_external_id,
    tasks_seen: report.tasksSeen,
    updated_samples: report.updates.length,
    unchanged: report.unchanged,
    cancelled: report.cancelled,
    unlabeled: report.unlabeled,
    unmatched: report.unmatched.length,
    warnings: report.warnings,
  };
}

export async function syncDiskCommand(
  config: CliConfig,
  dir: string,
  options: { dryRun: boolean },
  _out: Output,
): Promise<WriteLabelsReport> {
  const state = requireState(config, dir);
  if (!state.pending_updates.length)
    throw new LabelerError(
      'VALIDATION_ERROR',
      `No pulled changes for ${resolve(dir)}: run \`labeler pull ${dir}\` first.`,
    );
  const source = await sourceOf(dir, state.format, state.label_field);
  const connector = createFiftyOneConnector({
    mount: mountOf(config, dir),
    default_label_field: state.label_field,
  });
  const report = await syncToDisk(connector, source, state.pending_updates as SampleLabelsUpdate[], {
    dryRun: options.dryRun,
    backup: true,
  });
  if (!options.dryRun)
    writeState(config, {
      ...state,
      pending_updates: [],
      last_sync: { backups: report.backups, filesWritten: report.filesWritten },
    });
  return report;
}

export async function syncUndoCommand(config: CliConfig, dir: string) {
  const state = readState(config, dir);
  if (!state?.last_sync)
    throw new LabelerError('VALIDATION_ERROR', `There is no sync to undo for ${resolve(dir)}.`);
  const result = await undoSync(state.last_sync);
  writeState(config, { ...state, last_sync: null });
  return result;
}

export async function lsTestCommand(config: CliConfig, backend?: AnnotationBackendInstance) {
  const ls = backend ?? (await openLabelStudio(config));
  try {
    return await ls.diagnose();
  } finally {
    if (!backend) await ls.dispose();
  }
}
