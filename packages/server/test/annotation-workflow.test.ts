/**
 * The annotation workflow end to end against the real server and the Label Studio simulator:
 * ensure → validate → import (job) → annotate in the simulator → pull → annotations on the right samples,
 * with the simulator listing tasks in a shuffled order.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Annotation, AnnotationTaskLink } from '../src/modules/annotation/entities.js';
import { Dataset, DatasetSample } from '../src/modules/datasets/entities.js';
import {
  type AnnotationEnv,
  createProject,
  LABEL_SCHEMA,
  resultFor,
  startAnnotationEnv,
} from './annotation-helpers.js';
import { expectEnvelope, SYSTEM_ACTOR } from './helpers.js';

describe('annotation workflow', () => {
  let env: AnnotationEnv;
  let projectId: string;
  let externalId: string;

  beforeAll(async () => {
    env = await startAnnotationEnv({ samples: 12, sim: { shuffleTaskOrder: true } });
    projectId = await createProject(env);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('the REST procedures are in the OpenAPI document', async () => {
    const res = await env.server.request('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const paths = Object.keys((res.body as { paths: Record<string, unknown> }).paths);
    for (const path of [
      '/label-studio/projects/ensure',
      '/label-studio/projects/{project_id}/validate',
      '/label-studio/projects/{project_id}/import-tasks',
      '/label-studio/projects/{project_id}/auth-url',
      '/label-studio/projects/{project_id}/tasks/{task_id}/annotations',
      '/label-studio/projects/{project_id}/pull',
      '/label-studio/projects/{project_id}/progress',
    ]) {
      expect(
        paths.some((p) => p.endsWith(path)),
        path,
      ).toBe(true);
    }
  });

  it('validate before ensure reports pending, without a backend call', async () => {
    const res = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      exists: false,
      accessible: false,
      status: 'pending',
      external_id: null,
    });
  });

  it('ensure creates the Label Studio project once and adopts it afterwards', async () => {
    const first = await env.server.request('/api/v1/label-studio/projects/ensure', {
      method: 'POST',
      body: { project_id: projectId },
    });
    expect(first.status, first.text).toBe(200);
    const body = first.body as { external_id: string; created: boolean; status: string };
    expect(body).toMatchObject({ project_id: projectId, created: true, status: 'ready' });
    externalId = body.external_id;
    const project = env.sim.state.projects.get(Number(externalId));
    expect(project?.title).toContain(projectId);
    expect(project?.label_config).toContain('<RectangleLabels name="detections"');

    const again = await env.server.request('/api/v1/label-studio/projects/ensure', {
      method: 'POST',
      body: { project_id: projectId },
    });
    expect(again.body).toMatchObject({ external_id: externalId, created: false, adopted: true });
    expect(env.sim.state.projects.size).toBe(1);
    // The webhook carries the per-project shared secret header.
    const hooks = [...env.sim.state.webhooks.values()];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.url).toBe(`${env.server.url}/webhooks/annotation/${projectId}`);
    expect(Object.keys(hooks[0]!.headers)).toEqual(['X-Labeler-Webhook-Secret']);
  });

  it('ensure by creation fields finds the same record instead of a second one', async () => {
    const res = await env.server.request('/api/v1/label-studio/projects/ensure', {
      method: 'POST',
      body: {
        dataset_id: env.datasetId,
        backend_instance_id: env.backendId,
        name: 'pets boxes',
        label_schema: LABEL_SCHEMA,
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ project_id: projectId, external_id: externalId, created: false });
  });

  it('validate reports the backend project, then serves from the cache', async () => {
    const first = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(first.body).toMatchObject({
      exists: true,
      accessible: true,
      status: 'ready',
      task_count: 0,
      cached: false,
      external_id: externalId,
    });
    const second = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(second.body).toMatchObject({ exists: true, cached: true });
  });

  it('import-tasks answers 202 with a job; the job imports every sample once and records links', async () => {
    const res = await env.server.request(`/api/v1/label-studio/projects/${projectId}/import-tasks`, {
      method: 'POST',
      body: { batch_size: 5 },
    });
    expect(res.status, res.text).toBe(202);
    const { job } = res.body as { job: { id: string; kind: string } };
    expect(job.kind).toBe('annotation.import');
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/${job.id}`);
    const done = await env.server.services.jobs.waitFor(job.id, 30_000);
    expect(done.state, JSON.stringify(done.error)).toBe('completed');
    expect(done.result).toMatchObject({ imported: 12, skipped: 0, task_count: 12, requests: 3 });

    const tasks = env.sim.state.projectTasks.get(Number(externalId)) ?? [];
    expect(tasks.map((t) => t.meta.sample_id).sort()).toEqual(env.sampleIds);
    const image = String(tasks[0]!.data.image);
    expect(image).toMatch(
      new RegExp(`^${env.server.url}/annotation-media/${projectId}/smp_\\d{4}\\?sig=[0-9a-f]{64}$`),
    );
    const links = await env.server.services.orm.em.fork().find(AnnotationTaskLink, { projectId });
    expect(links).toHaveLength(12);
    for (const link of links)
      expect(String(env.sim.state.tasks.get(Number(link.externalTaskId))?.meta.sample_id)).toBe(
        link.sampleId,
      );

    // The validation cache was invalidated by the import.
    const validate = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(validate.body).toMatchObject({ task_count: 12, cached: false });
  });

  it('a second import sends nothing (idempotent)', async () => {
    const requestsBefore = env.sim.state.stats.importCalls;
    const { job } = await env.server.services.annotation.startImport(projectId, { actor: null, sync: true });
    expect(job.state).toBe('completed');
    expect(job.result).toMatchObject({ imported: 0, skipped: 12 });
    expect(env.sim.state.stats.importCalls).toBe(requestsBefore);
    expect(env.sim.state.projectTasks.get(Number(externalId))).toHaveLength(12);
  });

  it('the media link of a task is signed: a tampered signature is refused', async () => {
    const task = env.sim.state.projectTasks.get(Number(externalId))![0]!;
    const url = String(task.data.image);
    const tampered = url.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    const res = await fetch(tampered, { redirect: 'manual' });
    expect(res.status).toBe(403);
    expectEnvelope(await res.json(), 'PRESIGNED_URL_INVALID');
  });

  it('a valid media link redirects to a fresh presigned URL of the sample file', async () => {
    const services = env.server.services;
    const dataset = await services.orm.em.fork().findOneOrFail(Dataset, { id: env.datasetId });
    const storage = await services.storageFiles.storageOf(dataset);
    await storage.put(`datasets/${env.datasetId}/images/3.jpg`, Buffer.from('jpeg bytes of sample 3'));
    const task = env.sim.state.projectTasks
      .get(Number(externalId))!
      .find((t) => t.meta.sample_id === 'smp_0003')!;
    const hop = await fetch(String(task.data.image), { redirect: 'manual' });
    expect(hop.status).toBe(302);
    const location = hop.headers.get('location')!;
    expect(location).not.toBe(String(task.data.image));
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe('jpeg bytes of sample 3');
  });

  it('pull maps annotations by meta.sample_id although the simulator lists tasks shuffled', async () => {
    const tasks = env.sim.state.projectTasks.get(Number(externalId))!;
    // Annotate 8 of 12 tasks; the rectangle's x encodes the sample index.
    const annotated = tasks.filter((t) => Number(String(t.meta.sample_id).slice(4)) < 8);
    for (const task of annotated) {
      const index = Number(String(task.meta.sample_id).slice(4));
      env.sim.state.insertAnnotation(task, { result: resultFor(index) }); // no webhook: pull must find it
    }
    // Pick rule: a cancelled newer annotation never wins; ground truth beats a newer one.
    const t0 = tasks.find((t) => t.meta.sample_id === 'smp_0000')!;
    env.sim.state.insertAnnotation(t0, {
      result: resultFor(99, 'dog'),
      wasCancelled: true,
      updatedAt: '2999-01-01T00:00:00Z',
    });
    const t1 = tasks.find((t) => t.meta.sample_id === 'smp_0001')!;
    env.sim.state.insertAnnotation(t1, {
      result: resultFor(1, 'dog'),
      groundTruth: true,
      updatedAt: '2000-01-01T00:00:00Z',
    });
    // A task whose only annotation is cancelled is not submitted: nothing to pull.
    const t9 = tasks.find((t) => t.meta.sample_id === 'smp_0009')!;
    env.sim.state.insertAnnotation(t9, { result: resultFor(9), wasCancelled: true });

    const res = await env.server.request(`/api/v1/label-studio/projects/${projectId}/pull`, {
      method: 'POST',
      body: {},
    });
    expect(res.status, res.text).toBe(202);
    const versionsBefore = await env.server.services.datasets.listVersions(SYSTEM_ACTOR, env.datasetId);
    const done = await env.server.services.jobs.waitFor((res.body as { job: { id: string } }).job.id, 30_000);
    expect(done.state, JSON.stringify(done.error)).toBe('completed');
    // The pulled labels are recorded as a new immutable dataset version with a different content hash.
    const versionsAfter = await env.server.services.datasets.listVersions(SYSTEM_ACTOR, env.datasetId);
    expect(versionsAfter).toHaveLength(versionsBefore.length + 1);
    expect(versionsAfter[0]!.contentHash).not.toBe(versionsBefore[0]!.contentHash);
    expect(done.result).toMatchObject({
      dataset_version: versionsAfter[0]!.version,
      tasks_seen: 8,
      applied: 8,
      unmapped: 0,
      annotation_count: 8,
      task_count: 12,
    });

    const em = env.server.services.orm.em.fork();
    const rows = await em.find(Annotation, { projectId }, { orderBy: { sampleId: 'asc' } });
    expect(rows.map((r) => r.sampleId)).toEqual(env.sampleIds.slice(0, 8));
    for (const row of rows) {
      const index = Number(row.sampleId.slice(4));
      const task = env.sim.state.tasks.get(Number(row.externalTaskId))!;
      expect(task.meta.sample_id).toBe(row.sampleId);
      const detections = row.labels.detections as {
        detections: Array<{ label: string; bounding_box: number[] }>;
      };
      expect(detections.detections[0]!.bounding_box[0]).toBeCloseTo(index / 100, 6);
      expect(detections.detections[0]!.label).toBe(index === 1 ? 'dog' : 'cat'); // smp_0001: ground truth wins
      expect(row.source).toBe('pull');
      const sample = await em.findOneOrFail(DatasetSample, { datasetId: env.datasetId, id: row.sampleId });
      expect(sample.labels.quality).toMatchObject({
        _cls: 'Classification',
        label: index % 2 === 0 ? 'good' : 'bad',
      });
      expect(sample.labels.detections).toEqual(row.labels.detections);
    }
    const untouched = await em.findOneOrFail(DatasetSample, { datasetId: env.datasetId, id: 'smp_0009' });
    expect(untouched.labels).toEqual({});

    const progress = await env.server.request(`/api/v1/label-studio/projects/${projectId}/progress`);
    expect(progress.body).toMatchObject({
      task_count: 12,
      annotation_count: 8,
      percent: 66.67,
      sync_status: 'synced',
    });
    expect((progress.body as { last_sync_at: string | null }).last_sync_at).not.toBeNull();
  });

  it('pulling again changes nothing', async () => {
    const { job } = await env.server.services.annotation.startPull(projectId, { actor: null, sync: true });
    expect(job.result).toMatchObject({ applied: 0, unchanged: 8 });
    expect(job.result).not.toHaveProperty('dataset_version');
  });

  it('sync one task pulls its newest annotation', async () => {
    const task = env.sim.state.projectTasks
      .get(Number(externalId))!
      .find((t) => t.meta.sample_id === 'smp_0010')!;
    env.sim.state.insertAnnotation(task, { result: resultFor(10, 'dog') });
    const res = await env.server.request(
      `/api/v1/label-studio/projects/${projectId}/tasks/${task.id}/annotations`,
      { method: 'POST', body: {} },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ sample_id: 'smp_0010', synced: true, task_id: String(task.id) });
    const row = await env.server.services.orm.em
      .fork()
      .findOneOrFail(Annotation, { projectId, sampleId: 'smp_0010' });
    expect(row.source).toBe('sync-one');
    const unknown = await env.server.request(
      `/api/v1/label-studio/projects/${projectId}/tasks/999999/annotations`,
      { method: 'POST', body: {} },
    );
    expect(unknown.status).toBe(404);
    expectEnvelope(unknown.body, 'NOT_FOUND');
  });

  it('the periodic reconcile queues one deduplicated pull per ready project', async () => {
    const annotation = env.server.services.annotation;
    const jobs = env.server.services.jobs;
    const active = async () =>
      (await jobs.list({ kind: 'annotation.pull' })).jobs.filter(
        (j) => j.state === 'queued' || j.state === 'in_progress',
      );
    // Hold the project's apply lock (pull.ts, applyTasks) so the reconcile's pull cannot finish before the
    // second start: queued or running, it is still active and must absorb it.
    const gate = new pg.Client({ connectionString: env.server.database!.url });
    await gate.connect();
    const lock = [`annotation.apply:${projectId}`];
    await gate.query('select pg_advisory_lock(hashtext($1))', lock);
    let reconciled: string;
    try {
      expect(await annotation.reconcileOnce()).toBe(1);
      const queued = await active();
      expect(queued).toHaveLength(1);
      reconciled = queued[0]!.id;
      const again = await annotation.startPull(projectId, { actor: null });
      expect(again).toMatchObject({ deduplicated: true, job: { id: reconciled } });
      expect(await annotation.reconcileOnce()).toBe(1);
      expect((await active()).map((j) => j.id)).toEqual([reconciled]);
    } finally {
      await gate.query('select pg_advisory_unlock(hashtext($1))', lock);
      await gate.end();
    }
    const done = await jobs.waitFor(reconciled, 30_000);
    expect(done.state).toBe('completed');
    expect(await active()).toEqual([]);
  });

  it('lists projects with counters, and 404s unknown ones in the envelope', async () => {
    const list = await env.server.request(`/api/v1/label-studio/projects?dataset_id=${env.datasetId}`);
    expect(list.status, list.text).toBe(200);
    expect(list.body).toMatchObject({
      total: 1,
      projects: [
        {
          id: projectId,
          task_count: 12,
          annotation_count: 9,
          external_id: externalId,
          webhook_registered: true,
        },
      ],
    });
    const missing = await env.server.request('/api/v1/label-studio/projects/prj_0000000000000000/validate');
    expect(missing.status).toBe(404);
    expectEnvelope(missing.body, 'PROJECT_NOT_FOUND');
  });
});
