import { describe, expect, it } from 'vitest';
import type {
  AnnotationBackendInstance,
  BackendTask,
  StorageSetup,
} from '../src/contracts/annotation-backend.js';
import { LabelerError } from '../src/errors.js';
import { healthy } from '../src/plugin.js';
import {
  annotationBackendChecks,
  checkAnnotationBackendConformance,
  runAnnotationBackendConformance,
} from '../src/testing/index.js';

/** The smallest backend that satisfies the contract: proves the kit is backend-neutral. */
function memoryBackend(): AnnotationBackendInstance & { annotate(taskId: string): void } {
  let seq = 0;
  const projects = new Map<string, { title: string; labelConfig: string; tasks: BackendTask[] }>();
  const storages: Array<StorageSetup & { id: string; project: string }> = [];
  const hooks = new Map<string, string>();
  const need = (id: string) => {
    const p = projects.get(id);
    if (!p) throw new LabelerError('BACKEND_NOT_FOUND', `no project ${id}`);
    return p;
  };
  const view = (id: string) => {
    const p = need(id);
    return {
      externalId: id,
      title: p.title,
      taskCount: p.tasks.length,
      annotationCount: 0,
      url: `mem://${id}`,
      labelConfig: p.labelConfig,
    };
  };
  return {
    health: async () => healthy(),
    dispose: async () => {},
    diagnose: async () => ({
      ok: true,
      version: '1',
      edition: 'mem',
      user: { id: 1 },
      tokenKind: 'legacy',
      checks: [{ id: 'mem', ok: true, message: 'ok' }],
    }),
    buildLabelConfig: (schema) =>
      `<View>${schema.controls.map((c) => `<C name="${c.name}"/>`).join('')}</View>`,
    async validateLabelConfig(config) {
      if (!/^<View>.*<\/View>$/.test(config) || config.includes('nope'))
        throw new LabelerError('LABEL_CONFIG_INVALID', 'bad config');
    },
    async ensureProject(input) {
      const found = [...projects.entries()].find(
        ([id, p]) => id === input.externalId || p.title === input.title,
      );
      if (found) return { project: view(found[0]), created: false, adopted: true };
      const id = String(++seq);
      projects.set(id, { title: input.title, labelConfig: input.labelConfig, tasks: [] });
      return { project: view(id), created: true, adopted: false };
    },
    getProject: async (id) => (projects.has(id) ? view(id) : null),
    validateProject: async (id) =>
      projects.has(id)
        ? {
            exists: true,
            accessible: true,
            taskCount: need(id).tasks.length,
            annotationCount: 0,
            status: 'ready',
          }
        : { exists: false, accessible: false, taskCount: 0, annotationCount: 0, status: 'not_found' },
    deleteProject: async (id) => {
      projects.delete(id);
    },
    async importTasks(id, tasks) {
      const p = need(id);
      const ids = tasks.map((t) => {
        const taskId = String(++seq);
        p.tasks.push({
          externalTaskId: taskId,
          sampleId: t.sampleId,
          data: t.data,
          meta: { sample_id: t.sampleId },
          isLabeled: false,
          annotations: [],
        });
        return taskId;
      });
      return { created: tasks.length, taskIds: ids };
    },
    async *listTaskRefs(id) {
      for (const t of need(id).tasks) yield { externalTaskId: t.externalTaskId, sampleId: t.sampleId };
    },
    async *iterateTasks(id, options) {
      for (const t of need(id).tasks) if (!options?.onlyAnnotated || t.annotations.length > 0) yield t;
    },
    getTask: async (id, taskId) => need(id).tasks.find((t) => t.externalTaskId === taskId) ?? null,
    async clearTasks(id) {
      const p = need(id);
      const n = p.tasks.length;
      p.tasks = [];
      return n;
    },
    async setupStorage(project, setup) {
      const key = JSON.stringify([
        setup.type,
        setup.role,
        setup.type === 'local-files' ? setup.path : `${setup.bucket}/${setup.prefix ?? ''}`,
      ]);
      const existing = storages.find(
        (s) =>
          s.project === project &&
          JSON.stringify([
            s.type,
            s.role,
            s.type === 'local-files' ? s.path : `${s.bucket}/${s.prefix ?? ''}`,
          ]) === key,
      );
      if (existing) return { storageId: existing.id, created: false };
      const id = String(++seq);
      storages.push({ ...setup, id, project });
      return { storageId: id, created: true };
    },
    listStorages: async (project) =>
      storages
        .filter((s) => s.project === project)
        .map((s) => ({ storageId: s.id, type: s.type, role: s.role, title: s.title })),
    async registerWebhook(setup) {
      const existing = hooks.get(setup.url);
      if (existing) return { webhookId: existing, created: false };
      const id = String(++seq);
      hooks.set(setup.url, id);
      return { webhookId: id, created: true };
    },
    projectUrl: (id) => `mem://${id}`,
    annotate(taskId) {
      for (const p of projects.values()) {
        const task = p.tasks.find((t) => t.externalTaskId === taskId);
        task?.annotations.push({
          externalId: 'a',
          result: [],
          wasCancelled: false,
          groundTruth: false,
          completedBy: 1,
          createdAt: '',
          updatedAt: '',
        });
      }
    },
  };
}

const shared = memoryBackend();
runAnnotationBackendConformance({
  name: 'in-memory',
  create: async () => shared,
  annotate: async (_project, taskId) => shared.annotate(taskId),
  storage: { type: 'local-files', role: 'source', path: '/data/x', title: 'x' },
});

describe('conformance kit', () => {
  it('names every check uniquely and catches a non-idempotent webhook registration', async () => {
    expect(new Set(annotationBackendChecks.map((c) => c.id)).size).toBe(annotationBackendChecks.length);
    const results = await checkAnnotationBackendConformance({
      name: 'broken',
      create: async () => {
        const backend = memoryBackend();
        let n = 0;
        return { ...backend, registerWebhook: async () => ({ webhookId: String(++n), created: true }) };
      },
    });
    expect(results.find((r) => r.id === 'webhook-idempotent')).toMatchObject({ status: 'failed' });
    expect(results.find((r) => r.id === 'storage-idempotent')?.status).toBe('skipped');
    expect(results.filter((r) => r.status === 'failed').map((r) => r.id)).toEqual(['webhook-idempotent']);
  });
});
