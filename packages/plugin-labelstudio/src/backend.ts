/** The AnnotationBackendInstance for Label Studio: wires the HTTP client to each concern's module. */
import {
  type AnnotationBackendInstance,
  healthy,
  type HealthReport,
  LabelerError,
  type PluginLogger,
  unhealthy,
} from '@labeler/core';
import { z } from 'zod';
import type { LabelStudioConfig } from './config.js';
import { checkVersion, checkWhoami, diagnose } from './diagnose.js';
import { type ClientDeps, LabelStudioClient } from './http.js';
import { buildLabelConfig } from './label-config.js';
import {
  deleteProject,
  ensureProject,
  projectUrl,
  readProject,
  toBackendProject,
  validateProject,
} from './projects.js';
import { listStorages, setupStorage } from './storages.js';
import { clearTasks, getTask, importTasks, iterateTasks, listTaskRefs } from './tasks.js';
import { registerWebhook } from './webhooks.js';
import { lsPath } from './routes.js';
import { lsResultsToLabels } from './conversions/from-ls.js';
import { importSamplesIdempotently } from './importer.js';
import { mountConfigSchema, toLocalFilesUrl } from './path-mapping.js';
import { pickAnnotation } from './pick.js';

export interface LabelStudioBackend extends AnnotationBackendInstance {
  /** The underlying client (stats, token kind); for diagnostics and tests. */
  readonly client: LabelStudioClient;
  /** importBatchSize/importConcurrency(Mode) from the config; importSamplesIdempotently's defaults. */
  readonly importDefaults: { batchSize: number; concurrency: number; adaptive: boolean };
}

export function createLabelStudioBackend(
  config: LabelStudioConfig,
  deps: ClientDeps & { logger?: PluginLogger } = {},
): LabelStudioBackend {
  const client = new LabelStudioClient(config, deps);
  const importDefaults = {
    batchSize: config.importBatchSize,
    concurrency: config.importConcurrency,
    adaptive: config.importConcurrencyMode === 'adaptive',
  };
  return {
    client,
    importDefaults,
    async health(): Promise<HealthReport> {
      try {
        const { version } = await checkVersion(client);
        await checkWhoami(client);
        return healthy(`Label Studio ${version ?? ''} reachable, token accepted.`.replace('  ', ' '), {
          version,
          tokenKind: client.token.kind,
        });
      } catch (error) {
        return unhealthy(error instanceof Error ? error.message : String(error), {
          tokenKind: client.token.kind,
        });
      }
    },
    async dispose() {},
    diagnose: () => diagnose(client),
    buildLabelConfig,
    async validateLabelConfig(labelConfig, projectExternalId) {
      if (projectExternalId && /^\d+$/.test(projectExternalId)) {
        await client.request('POST', lsPath('projectValidate', { id: projectExternalId }), null, {
          body: { label_config: labelConfig },
          labelConfig: true,
          idempotent: true,
        });
      } else {
        await client.request('POST', lsPath('labelConfigValidate'), null, {
          body: { label_config: labelConfig },
          labelConfig: true,
          idempotent: true,
          auth: false,
        });
      }
    },
    ensureProject: (input) => ensureProject(client, input),
    async getProject(externalId) {
      const project = await readProject(client, externalId);
      return project ? toBackendProject(client, project) : null;
    },
    validateProject: (externalId) => validateProject(client, externalId),
    deleteProject: (externalId) => deleteProject(client, externalId),
    importTasks: (projectId, tasks) => importTasks(client, projectId, tasks),
    listTaskRefs: (projectId, options) => listTaskRefs(client, projectId, options),
    iterateTasks: (projectId, options) => iterateTasks(client, projectId, options),
    getTask: (projectId, taskId) => getTask(client, projectId, taskId),
    clearTasks: (projectId) => clearTasks(client, projectId),
    setupStorage: (projectId, storage) => setupStorage(client, projectId, storage),
    listStorages: (projectId) => listStorages(client, projectId),
    registerWebhook: (webhook) => registerWebhook(client, webhook),
    projectUrl: (externalId) => projectUrl(client, externalId),
    // The host's workflow (contract 1.x): batching, the pick rule and local-files URLs stay Label Studio's.
    async importSamples(projectId, samples, options = {}) {
      const { imported, skipped, requests } = await importSamplesIdempotently(
        {
          importTasks: (p, t) => importTasks(client, p, t),
          listTaskRefs: (p, o) => listTaskRefs(client, p, o),
          importDefaults,
        },
        projectId,
        samples,
        {
          ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          onProgress: (p) =>
            options.onProgress?.({ imported: p.imported, skipped: p.skipped, requests: p.requests }),
        },
      );
      return { imported, skipped, requests };
    },
    pickAnnotation(task, schema) {
      const annotation = pickAnnotation(task);
      return annotation ? { annotation, labels: lsResultsToLabels(annotation.result, schema) } : null;
    },
    parseMediaMount: (value) => parseMount(value),
    mediaUrl(filepath, mount) {
      const chosen = mount ?? config.mount;
      return chosen ? toLocalFilesUrl(filepath, parseMount(chosen)) : null;
    },
  };
}

/** A mount setting in Label Studio's local-files shape; a wrong one is the caller's VALIDATION_ERROR. */
function parseMount(value: unknown): z.output<typeof mountConfigSchema> {
  const parsed = mountConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new LabelerError('VALIDATION_ERROR', `Invalid local-files mount: ${z.prettifyError(parsed.error)}`, {
    details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}
