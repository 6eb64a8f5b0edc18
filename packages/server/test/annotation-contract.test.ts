/**
 * The annotation module reaches its backend through the annotation-backend contract only (issue 18):
 * shared-disk media URLs come from the backend (a project's mount, else the instance's), and a backend
 * without the optional workflow methods is refused with CAPABILITY_UNSUPPORTED instead of a crash.
 */
import { type AnnotationBackendInstance, definePlugin, healthy, type PluginDefinition } from '@labeler/core';
import { labelStudioPlugin } from '@labeler/plugin-labelstudio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUILTIN_PLUGINS } from '../src/plugins/catalog.js';
import { DatasetSample } from '../src/modules/datasets/entities.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { type AnnotationEnv, createProject, LABEL_SCHEMA, startAnnotationEnv } from './annotation-helpers.js';
import { expectEnvelope } from './helpers.js';

const MOUNT = {
  host_root: '/srv/datasets',
  ls_document_root: '/label-studio/data',
  ls_mount_path: '/label-studio/data/ds',
};

async function importAndReadImages(env: AnnotationEnv, projectId: string): Promise<Map<string, string>> {
  const res = await env.server.request(`/api/v1/label-studio/projects/${projectId}/import-tasks`, {
    method: 'POST',
    body: {},
  });
  expect(res.status, res.text).toBe(202);
  const done = await env.server.services.jobs.waitFor((res.body as { job: { id: string } }).job.id, 30_000);
  expect(done.state, JSON.stringify(done.error)).toBe('completed');
  const project = await env.server.request(`/api/v1/label-studio/projects/${projectId}`);
  const externalId = Number((project.body as { external_id: string }).external_id);
  const tasks = env.sim.state.projectTasks.get(externalId) ?? [];
  return new Map(tasks.map((t) => [String(t.meta.sample_id), String(t.data.image)]));
}

describe('media URLs come from the backend', () => {
  let env: AnnotationEnv;
  beforeAll(async () => {
    env = await startAnnotationEnv({ samples: 3 });
    // Two samples on the shared disk (absolute paths under host_root), one relative (Labeler storage).
    const em = env.server.services.orm.em.fork();
    await em.nativeUpdate(
      DatasetSample,
      { id: env.sampleIds[0]! },
      { filepath: '/srv/datasets/cats/a 1.jpg' },
    );
    await em.nativeUpdate(DatasetSample, { id: env.sampleIds[1]! }, { filepath: '/srv/datasets/dogs/b.jpg' });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("a project's mount is validated and normalised by the backend; its tasks carry local-files URLs", async () => {
    const created = await env.server.request('/api/v1/label-studio/projects', {
      method: 'POST',
      body: {
        dataset_id: env.datasetId,
        backend_instance_id: env.backendId,
        name: 'mounted',
        label_schema: LABEL_SCHEMA,
        media: { mount: MOUNT },
      },
    });
    expect([200, 201], created.text).toContain(created.status);
    const project = created.body as { id: string; media: { mount: Record<string, unknown> } };
    // The backend's default filled in: proof the backend's schema parsed it.
    expect(project.media.mount).toEqual({ ...MOUNT, local_files_prefix: '/data/local-files/?d=' });
    const images = await importAndReadImages(env, project.id);
    expect(images.get(env.sampleIds[0]!)).toBe('/data/local-files/?d=ds/cats/a%201.jpg');
    expect(images.get(env.sampleIds[1]!)).toBe('/data/local-files/?d=ds/dogs/b.jpg');
    expect(images.get(env.sampleIds[2]!)).toMatch(/\/annotation-media\/.+\?sig=[0-9a-f]{64}$/);
  });

  it('a wrong mount is refused with 400 VALIDATION_ERROR and nothing is recorded', async () => {
    const res = await env.server.request('/api/v1/label-studio/projects', {
      method: 'POST',
      body: {
        dataset_id: env.datasetId,
        backend_instance_id: env.backendId,
        name: 'badly mounted',
        label_schema: LABEL_SCHEMA,
        media: { mount: { host_root: 'relative/path', ls_document_root: '/label-studio/data' } },
      },
    });
    expect(res.status, res.text).toBe(400);
    expectEnvelope(res.body, 'VALIDATION_ERROR');
    const list = await env.server.request(`/api/v1/label-studio/projects?dataset_id=${env.datasetId}`);
    const names = (list.body as { projects: Array<{ name: string }> }).projects.map((p) => p.name);
    expect(names).not.toContain('badly mounted');
  });

  it("the backend instance's own mount applies to projects without one", async () => {
    const instance = await env.server.services.plugins.create({
      pluginId: 'label-studio',
      name: 'label-studio-mounted',
      config: {
        url: env.sim.url,
        apiKey: env.sim.legacyToken,
        retryBaseDelayMs: 5,
        maxRetries: 2,
        mount: MOUNT,
      },
    });
    const res = await env.server.request('/api/v1/label-studio/projects', {
      method: 'POST',
      body: {
        dataset_id: env.datasetId,
        backend_instance_id: instance.id,
        name: 'instance mount',
        label_schema: LABEL_SCHEMA,
      },
    });
    expect([200, 201], res.text).toContain(res.status);
    const images = await importAndReadImages(env, (res.body as { id: string }).id);
    expect(images.get(env.sampleIds[0]!)).toBe('/data/local-files/?d=ds/cats/a%201.jpg');
    expect(images.get(env.sampleIds[2]!)).toMatch(/\/annotation-media\/.+\?sig=[0-9a-f]{64}$/);
  });
});

describe('a backend without the workflow methods (contract 1.0)', () => {
  let server: TestServer;
  let projectId: string;
  beforeAll(async () => {
    const bare = definePlugin({
      id: 'bare-backend',
      kind: 'annotation-backend',
      contractVersion: '1.0',
      displayName: 'Bare backend',
      description: 'Only the 1.0 methods.',
      configSchema: z.object({}),
      capabilities: labelStudioPlugin.capabilities,
      async create(): Promise<AnnotationBackendInstance> {
        return bareBackend();
      },
    });
    server = await startTestServer({ plugins: [...BUILTIN_PLUGINS, bare as unknown as PluginDefinition] });
    const instance = await server.services.plugins.create({
      pluginId: 'bare-backend',
      name: 'bare',
      config: {},
    });
    const dataset = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: { name: 'bare', format: 'coco', owner_id: 1, visibility: 'public' },
    });
    const datasetId = (dataset.body as { id: string }).id;
    const em = server.services.orm.em.fork();
    em.create(DatasetSample, {
      datasetId,
      id: 'smp_0000',
      filepath: 'images/0.jpg',
      width: 1,
      height: 1,
      labels: {},
    });
    await em.flush();
    projectId = await createProject(
      { server, backendId: instance.id, datasetId } as unknown as AnnotationEnv,
      'bare project',
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('import and pull fail with CAPABILITY_UNSUPPORTED naming the instance, not a 500', async () => {
    const job = { signal: new AbortController().signal, progress: async () => {} };
    const imported = await server.services.annotation.runImport(projectId, job).catch((e: unknown) => e);
    expect(imported).toMatchObject({
      code: 'CAPABILITY_UNSUPPORTED',
      message: expect.stringContaining('importSamples'),
    });
    const pulled = await server.services.annotation.runPull(projectId, job).catch((e: unknown) => e);
    expect(pulled).toMatchObject({
      code: 'CAPABILITY_UNSUPPORTED',
      message: expect.stringContaining('pickAnnotation'),
    });
  });

  it('a project mount for it is refused with 400 VALIDATION_ERROR', async () => {
    const list = await server.request(`/api/v1/label-studio/projects/${projectId}`);
    const { dataset_id, backend_instance_id } = list.body as {
      dataset_id: string;
      backend_instance_id: string;
    };
    const res = await server.request('/api/v1/label-studio/projects', {
      method: 'POST',
      body: {
        dataset_id,
        backend_instance_id,
        name: 'bare mounted',
        label_schema: LABEL_SCHEMA,
        media: { mount: MOUNT },
      },
    });
    expect(res.status, res.text).toBe(400);
    expectEnvelope(res.body, 'VALIDATION_ERROR');
  });
});

/** An annotation backend of contract 1.0: one project with a few tasks, in memory. */
function bareBackend(): AnnotationBackendInstance {
  const tasks: Array<{ id: string; sampleId: string }> = [];
  const project = {
    externalId: '1',
    title: '',
    taskCount: 0,
    annotationCount: 0,
    url: 'http://bare/1',
    labelConfig: '',
  };
  return {
    health: async () => healthy('ok'),
    dispose: async () => {},
    diagnose: async () => ({
      ok: true,
      version: '1',
      edition: null,
      user: null,
      tokenKind: null,
      checks: [],
    }),
    buildLabelConfig: () => '<View/>',
    validateLabelConfig: async () => {},
    ensureProject: async (input) => {
      project.title = input.title;
      return { project: { ...project, taskCount: tasks.length }, created: true, adopted: false };
    },
    getProject: async () => ({ ...project, taskCount: tasks.length }),
    validateProject: async () => ({
      exists: true,
      accessible: true,
      taskCount: tasks.length,
      annotationCount: 0,
      status: 'ready',
    }),
    deleteProject: async () => {},
    importTasks: async (_p, input) => {
      for (const t of input) tasks.push({ id: String(tasks.length + 1), sampleId: t.sampleId });
      return { created: input.length, taskIds: null };
    },
    async *listTaskRefs() {
      for (const t of tasks) yield { externalTaskId: t.id, sampleId: t.sampleId };
    },
    async *iterateTasks() {
      for (const t of tasks)
        yield {
          externalTaskId: t.id,
          sampleId: t.sampleId,
          data: {},
          meta: {},
          isLabeled: true,
          annotations: [],
        };
    },
    getTask: async () => null,
    clearTasks: async () => 0,
    setupStorage: async () => ({ storageId: '1', created: true }),
    listStorages: async () => [],
    registerWebhook: async () => ({ webhookId: '1', created: true }),
    projectUrl: () => project.url,
  };
}
