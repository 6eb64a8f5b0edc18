import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '../src/simulator/index.js';
import { call, LABEL_CONFIG } from './helpers.js';

type Obj = Record<string, unknown>;

describe('Label Studio simulator', () => {
  let sim: LabelStudioSimulator;
  beforeEach(async () => {
    sim = await startLabelStudioSimulator({ accessTokenTtlSeconds: 300 });
  });
  afterEach(async () => {
    await sim.stop();
  });

  const createProject = async (extra: Obj = {}): Promise<Obj> => {
    const res = await call(sim, 'POST', '/api/projects/', {
      body: { title: 'Sim test', label_config: LABEL_CONFIG, ...extra },
    });
    expect(res.status).toBe(201);
    return res.body as Obj;
  };

  describe('auth', () => {
    it('accepts the legacy token and answers LS 401 texts in the envelope', async () => {
      expect((await call(sim, 'GET', '/api/current-user/whoami')).status).toBe(200);
      const none = await call(sim, 'GET', '/api/current-user/whoami', { auth: null });
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({
        status_code: 401,
        detail: 'Authentication credentials were not provided.',
        exc_info: null,
        version: '1.19.0',
      });
      expect((none.body as Obj).id).toMatch(/^[0-9a-f-]{36}$/);
      expect((none.body as Obj).validation_errors).toBeUndefined();
      const wrong = await call(sim, 'GET', '/api/current-user/whoami', { auth: 'Token 0000' });
      expect(wrong.body).toMatchObject({ status_code: 401, detail: 'Invalid token.' });
    });

    it('a PAT works only after exchange; sent as Token it is invalid, as Bearer it is "not provided"', async () => {
      expect(
        (await call(sim, 'GET', '/api/projects/', { auth: `Token ${sim.personalAccessToken}` })).body,
      ).toMatchObject({ detail: 'Invalid token.' });
      expect(
        (await call(sim, 'GET', '/api/projects/', { auth: `Bearer ${sim.personalAccessToken}` })).body,
      ).toMatchObject({
        detail: 'Authentication credentials were not provided.',
      });
      const refreshed = await call(sim, 'POST', '/api/token/refresh', {
        auth: null,
        body: { refresh: sim.personalAccessToken },
      });
      expect(refreshed.status).toBe(200);
      const access = (refreshed.body as { access: string }).access;
      const claims = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()) as {
        exp: number;
        token_type: string;
      };
      expect(claims.token_type).toBe('access');
      expect(claims.exp - Date.now() / 1000).toBeGreaterThan(290);
      expect((await call(sim, 'GET', '/api/projects/', { auth: `Bearer ${access}` })).status).toBe(200);
      sim.state.expireAccessTokens();
      expect((await call(sim, 'GET', '/api/projects/', { auth: `Bearer ${access}` })).body).toMatchObject({
        status_code: 401,
        detail: 'Authentication credentials were not provided.',
      });
      const bad = await call(sim, 'POST', '/api/token/refresh/', { auth: null, body: { refresh: 'a.b.c' } });
      expect(bad.status).toBe(401);
    });

    it('legacy tokens can be disabled (new organisations) with LS detail text', async () => {
      await sim.stop();
      sim = await startLabelStudioSimulator({ legacyTokensEnabled: false });
      const res = await call(sim, 'GET', '/api/current-user/whoami');
      expect(res.status).toBe(401);
      expect((res.body as Obj).detail).toBe(
        'Authentication token no longer valid: legacy token authentication has been disabled for this organization',
      );
    });

    it('second POST /api/token answers 409; X-Api-Key is accepted', async () => {
      expect((await call(sim, 'POST', '/api/token/')).status).toBe(201);
      expect((await call(sim, 'POST', '/api/token/')).status).toBe(409);
      expect(
        (
          await call(sim, 'GET', '/api/current-user/whoami', {
            auth: null,
            headers: { 'x-api-key': sim.legacyToken },
          })
        ).status,
      ).toBe(200);
    });
  });

  it('serves /health and /api/version without auth, with and without trailing slash', async () => {
    expect((await call(sim, 'GET', '/health', { auth: null })).body).toEqual({ status: 'UP' });
    for (const path of ['/api/version', '/api/version/']) {
      const res = await call(sim, 'GET', path, { auth: null });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ release: '1.19.0', edition: 'Community' });
    }
  });

  describe('projects', () => {
    it('CRUD with status codes and counters', async () => {
      const project = await createProject();
      expect(project).toMatchObject({
        task_number: 0,
        total_annotations_number: 0,
        num_tasks_with_annotations: 0,
      });
      const id = project.id as number;
      const imported = await call(sim, 'POST', `/api/projects/${id}/import`, {
        body: [{ data: { image: 'a' } }, { image: 'b' }],
      });
      const [t1, t2] = sim.state.projectTasks.get(id)!;
      expect(t2!.data).toEqual({ image: 'b' }); // a task without "data" is used whole
      expect(imported.status).toBe(201);
      sim.state.addAnnotation(t1!.id, { result: [] });
      sim.state.addAnnotation(t2!.id, { result: [], wasCancelled: true });
      const read = (await call(sim, 'GET', `/api/projects/${id}`)).body as Obj;
      expect(read).toMatchObject({
        task_number: 2,
        total_annotations_number: 2,
        num_tasks_with_annotations: 1,
        skipped_annotations_number: 1,
        useful_annotation_number: 1,
      });
      const patched = await call(sim, 'PATCH', `/api/projects/${id}/`, { body: { title: 'Renamed' } });
      expect(patched.status).toBe(200);
      expect((patched.body as Obj).title).toBe('Renamed');
      expect((await call(sim, 'DELETE', `/api/projects/${id}/`)).status).toBe(204);
      const gone = await call(sim, 'GET', `/api/projects/${id}/`);
      expect(gone.status).toBe(404);
      expect(gone.body).toMatchObject({ detail: 'Not found.', status_code: 404 });
    });

    it('lists projects in DRF pages with 404 past the last page', async () => {
      for (let i = 0; i < 3; i++) await createProject({ title: `P${i}` });
      const page = (await call(sim, 'GET', '/api/projects/?page_size=2')).body as Obj;
      expect(page).toMatchObject({ count: 3 });
      expect((page.results as unknown[]).length).toBe(2);
      expect(page.next).toContain('page=2');
      expect((await call(sim, 'GET', '/api/projects/?page_size=2&page=3')).status).toBe(404);
      const filtered = (await call(sim, 'GET', '/api/projects/?title=p1')).body as Obj;
      expect(filtered.count).toBe(1);
    });

    it('validates label configs with LS-shaped 400 bodies', async () => {
      const wrongTarget = await call(sim, 'POST', '/api/projects/', {
        body: {
          title: 'x',
          label_config:
            '<View><Image name="img" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>',
        },
      });
      expect(wrongTarget.status).toBe(400);
      expect(wrongTarget.body).toMatchObject({
        detail: 'Validation error',
        validation_errors: {
          label_config: [expect.stringContaining(`toName="image" not found in names: ['img']`)],
        },
      });
      const unknownTag = await call(sim, 'POST', '/api/projects/', {
        body: { label_config: '<View><Picture name="i" value="$i"/></View>' },
      });
      expect((unknownTag.body as Obj).validation_errors).toMatchObject({
        label_config: [expect.stringContaining('Picture')],
      });
      const malformed = await call(sim, 'POST', '/api/projects/', {
        body: { label_config: '<View><Image name="i" value="$i"></View>' },
      });
      // As 1.7.3 answers (checked on the real server): the parser's message under validation_errors.
      expect(malformed.status).toBe(400);
      expect((malformed.body as Obj).validation_errors).toMatchObject({
        label_config: [expect.stringMatching(/mismatch/)],
      });
      // /api/projects/validate/: no auth, raw DRF body, 204 on success.
      expect(
        (
          await call(sim, 'POST', '/api/projects/validate/', {
            auth: null,
            body: { label_config: LABEL_CONFIG },
          })
        ).status,
      ).toBe(204);
      const raw = await call(sim, 'POST', '/api/projects/validate', {
        auth: null,
        body: { label_config: '<View><Foo/></View>' },
      });
      expect(raw.status).toBe(400);
      expect(raw.body).toEqual({ label_config: [expect.stringContaining('Foo')] });
    });

    it('rejects a PATCH that drops labels used by annotations', async () => {
      const project = await createProject();
      const id = project.id as number;
      const [task] = sim.state.seedTasks(id, [{ data: { image: 'x' } }]);
      sim.state.addAnnotation(task!.id, {
        result: [
          {
            from_name: 'detections',
            to_name: 'image',
            type: 'rectanglelabels',
            value: { rectanglelabels: ['dog'] },
          },
        ],
      });
      const onlyCat = LABEL_CONFIG.replace('<Label value="dog"/>', '');
      const res = await call(sim, 'PATCH', `/api/projects/${id}`, { body: { label_config: onlyCat } });
      expect(res.status).toBe(400);
      expect(JSON.stringify((res.body as Obj).validation_errors)).toContain('dog');
    });

    it('answers 422 on (title, created_by) when unique titles are enforced', async () => {
      await sim.stop();
      sim = await startLabelStudioSimulator({ uniqueTitles: true });
      await createProject({ title: 'Same' });
      const dup = await call(sim, 'POST', '/api/projects/', { body: { title: 'Same' } });
      expect(dup.status).toBe(422);
      expect((dup.body as Obj).detail).toContain('Project with the same name already exists');
    });
  });

  describe('import, tasks, export', () => {
    it('import is synchronous with the Community response fields', async () => {
      const { id } = await createProject();
      const res = await call(sim, 'POST', `/api/projects/${id}/import?return_task_ids=true`, {
        body: [
          {
            data: { image: 'a' },
            meta: { sample_id: 's1' },
            predictions: [{ result: [], score: 0.5, model_version: 'm' }],
          },
          { data: { image: 'b' }, annotations: [{ result: [] }] },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        task_count: 2,
        annotation_count: 1,
        prediction_count: 1,
        file_upload_ids: [],
        found_formats: [],
        data_columns: ['image'],
      });
      expect(typeof (res.body as Obj).duration).toBe('number');
      expect((res.body as Obj).task_ids).toHaveLength(2);
      const noIds = await call(sim, 'POST', `/api/projects/${id}/import`, { body: [{ image: 'c' }] });
      expect((noIds.body as Obj).task_ids).toBeUndefined();
      const empty = await call(sim, 'POST', `/api/projects/${id}/import`, { body: [] });
      expect(empty.status).toBe(400);
      expect(empty.body).toMatchObject({
        validation_errors: { non_field_errors: ['load_tasks: No tasks added'] },
      });
      const missingVar = await call(sim, 'POST', `/api/projects/${id}/import`, {
        body: [{ data: { other: 1 } }],
      });
      expect(missingVar.status).toBe(400);
    });

    it('GET /api/tasks pages as {tasks,total,...}, omits annotations unless fields=all, 404 past the end', async () => {
      const { id } = await createProject();
      const tasks = sim.state.seedTasks(
        id as number,
        Array.from({ length: 250 }, (_, i) => ({ data: { image: `${i}` } })),
      );
      sim.state.addAnnotation(tasks[3]!.id, { result: [] });
      const first = (await call(sim, 'GET', `/api/tasks/?project=${id}&page_size=1000`)).body as {
        tasks: Obj[];
        total: number;
        total_annotations: number;
      };
      expect(first.tasks).toHaveLength(100); // capped by TASK_API_PAGE_SIZE_MAX
      expect(first.total).toBe(250);
      expect(first.total_annotations).toBe(1);
      expect(first.tasks[3]!.annotations).toBeUndefined();
      const full = (await call(sim, 'GET', `/api/tasks?project=${id}&fields=all`)).body as { tasks: Obj[] };
      expect(full.tasks[3]!.annotations).toHaveLength(1);
      expect((await call(sim, 'GET', `/api/tasks?project=${id}&page=3`)).status).toBe(200);
      const past = await call(sim, 'GET', `/api/tasks?project=${id}&page=4`);
      expect(past.status).toBe(404);
      const query = encodeURIComponent(
        JSON.stringify({
          filters: {
            conjunction: 'and',
            items: [
              { filter: 'filter:tasks:total_annotations', operator: 'greater', type: 'Number', value: 0 },
            ],
          },
        }),
      );
      const annotated = (
        await call(sim, 'GET', `/api/tasks?project=${id}&query=${query}&only_annotated=false`)
      ).body as { total: number };
      expect(annotated.total).toBe(1);
      const legacy = (await call(sim, 'GET', `/api/projects/${id}/tasks/`)).body;
      expect(Array.isArray(legacy) && legacy.length).toBe(50);
      const detail = (await call(sim, 'GET', `/api/tasks/${tasks[3]!.id}`)).body as Obj;
      expect(detail.annotations).toHaveLength(1);
      expect((await call(sim, 'DELETE', `/api/projects/${id}/tasks/`)).status).toBe(204);
      expect(sim.state.projectTasks.get(id as number)).toHaveLength(0);
    });

    it('shuffles listing order on request, consistently across pages', async () => {
      await sim.stop();
      sim = await startLabelStudioSimulator({ shuffleTaskOrder: true });
      const { id } = await createProject();
      sim.state.seedTasks(
        id as number,
        Array.from({ length: 150 }, (_, i) => ({ data: { image: `${i}` } })),
      );
      const ids: number[] = [];
      for (const page of [1, 2])
        ids.push(
          ...(
            (await call(sim, 'GET', `/api/tasks?project=${id}&page=${page}`)).body as { tasks: Obj[] }
          ).tasks.map((t) => t.id as number),
        );
      expect(new Set(ids).size).toBe(150);
      expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
    });

    it('easy export returns only annotated tasks by default, as application/.json', async () => {
      const { id } = await createProject();
      const [a] = sim.state.seedTasks(id as number, [{ data: { image: 'a' } }, { data: { image: 'b' } }]);
      sim.state.addAnnotation(a!.id, {
        result: [{ from_name: 'detections', type: 'rectanglelabels', value: { rectanglelabels: ['cat'] } }],
      });
      const res = await call(sim, 'GET', `/api/projects/${id}/export?exportType=JSON`);
      expect(res.headers.get('content-type')).toBe('application/.json');
      expect(res.body).toHaveLength(1);
      const all = await call(
        sim,
        'GET',
        `/api/projects/${id}/export?exportType=JSON&download_all_tasks=true`,
      );
      expect(all.body).toHaveLength(2);
      const min = (await call(sim, 'GET', `/api/projects/${id}/export?exportType=JSON_MIN`)).body as Obj[];
      expect(min[0]).toMatchObject({
        image: 'a',
        detections: [expect.objectContaining({ rectanglelabels: ['cat'] })],
      });
    });

    it('annotations CRUD with was_cancelled and ground_truth', async () => {
      const { id } = await createProject();
      const [task] = sim.state.seedTasks(id as number, [{ data: { image: 'a' } }]);
      const created = await call(sim, 'POST', `/api/tasks/${task!.id}/annotations/`, {
        body: { result: [], ground_truth: true },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ ground_truth: true, was_cancelled: false, completed_by: 1 });
      const skipped = await call(sim, 'POST', `/api/tasks/${task!.id}/annotations?was_cancelled=1`, {
        body: { result: [] },
      });
      expect(skipped.body).toMatchObject({ was_cancelled: true });
      const annId = (created.body as Obj).id;
      expect(
        (await call(sim, 'PATCH', `/api/annotations/${annId}`, { body: { ground_truth: false } })).body,
      ).toMatchObject({ ground_truth: false });
      expect(((await call(sim, 'GET', `/api/tasks/${task!.id}/annotations`)).body as unknown[]).length).toBe(
        2,
      );
      expect((await call(sim, 'DELETE', `/api/annotations/${annId}/`)).status).toBe(204);
      expect((await call(sim, 'GET', `/api/annotations/${annId}`)).status).toBe(404);
    });
  });

  describe('storages and local files', () => {
    it('local-files storage must sit in the document root; sync creates tasks; status fields', async () => {
      const { id } = await createProject();
      const dir = join(sim.documentRoot, 'ds1');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'a.png'), 'png');
      const outside = await call(sim, 'POST', '/api/storages/localfiles', {
        body: { project: id, path: '/etc' },
      });
      expect(outside.status).toBe(400);
      expect(JSON.stringify(outside.body)).toContain('LOCAL_FILES_DOCUMENT_ROOT');
      const created = await call(sim, 'POST', '/api/storages/localfiles/', {
        body: { project: id, path: dir, use_blob_urls: true, title: 'src' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'initialized', last_sync: null });
      const synced = await call(sim, 'POST', `/api/storages/localfiles/${(created.body as Obj).id}/sync`);
      expect(synced.body).toMatchObject({ status: 'completed', last_sync_count: 1 });
      expect(sim.state.projectTasks.get(id as number)![0]!.data).toEqual({
        image: '/data/local-files/?d=ds1/a.png',
      });
      const s3 = await call(sim, 'POST', '/api/storages/export/s3', {
        body: { project: id, bucket: 'b', prefix: 'p', aws_secret_access_key: 'secret' },
      });
      expect(s3.status).toBe(201);
      expect((s3.body as Obj).aws_secret_access_key).toBeNull();
      expect(
        ((await call(sim, 'GET', `/api/storages/export/s3?project=${id}`)).body as unknown[]).length,
      ).toBe(1);
      expect(((await call(sim, 'GET', `/api/storages/?project=${id}`)).body as unknown[]).length).toBe(1);
    });

    it('/data/local-files/ applies LS gates in order', async () => {
      const root = sim.documentRoot;
      const off = await call(sim, 'GET', '/data/local-files/?d=ds/a.png');
      expect(off.status).toBe(403);
      expect(off.body).toContain('LOCAL_FILES_SERVING_ENABLED');
      await sim.stop();
      sim = await startLabelStudioSimulator({
        localFiles: { servingEnabled: true, documentRoot: root, acceptTokenAuth: false },
      });
      mkdirSync(join(root, 'ds'), { recursive: true });
      writeFileSync(join(root, 'ds', 'a.png'), 'PNGDATA');
      const { id } = await createProject();
      const session = sim.state.createSession();
      const cookie = { auth: null, headers: { cookie: `sessionid=${session}` } };
      expect((await call(sim, 'GET', '/data/local-files/?d=ds/a.png', { auth: null })).status).toBe(403);
      const tokenOnly = await call(sim, 'GET', '/data/local-files/?d=ds/a.png'); // 1.7-era: token-only is 403
      expect(tokenOnly.status).toBe(403);
      expect(tokenOnly.body).toBeNull();
      expect((await call(sim, 'GET', '/data/local-files/?d=ds/a.png', cookie)).status).toBe(404); // no storage yet
      await call(sim, 'POST', '/api/storages/localfiles', { body: { project: id, path: join(root, 'ds') } });
      const served = await call(sim, 'GET', '/data/local-files/?d=ds/a.png', cookie);
      expect(served.status).toBe(200);
      expect(served.body).toBe('PNGDATA');
      expect((await call(sim, 'GET', '/data/local-files/?d=ds/missing.png', cookie)).status).toBe(404);
    });
  });

  it('webhooks: project required, custom headers, unsigned payload, 1 s timeout, no retry', async () => {
    const received: Array<{ headers: Obj; body: Obj }> = [];
    let slow = false;
    const target = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => {
        data += c.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers as Obj, body: JSON.parse(data) as Obj });
        if (slow) setTimeout(() => res.end('late'), 1500);
        else res.end('ok');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
    try {
      expect((await call(sim, 'POST', '/api/webhooks/', { body: { url } })).body).toMatchObject({
        status_code: 404,
        detail: 'Project not found.',
      });
      const { id } = await createProject();
      const hook = await call(sim, 'POST', '/api/webhooks/', {
        body: {
          url,
          project: id,
          headers: { 'X-Secret': 's3cret' },
          send_for_all_actions: false,
          actions: ['ANNOTATION_CREATED'],
        },
      });
      expect(hook.status).toBe(201);
      const [task] = sim.state.seedTasks(id as number, [{ data: { image: 'a' } }]);
      await call(sim, 'POST', `/api/tasks/${task!.id}/annotations`, { body: { result: [] } });
      expect(received).toHaveLength(1);
      expect(received[0]!.headers['x-secret']).toBe('s3cret');
      expect(Object.keys(received[0]!.headers).some((h) => /signature/i.test(h))).toBe(false);
      expect(received[0]!.body).toMatchObject({
        action: 'ANNOTATION_CREATED',
        annotation: { task: task!.id },
        task: { id: task!.id },
        project: { id },
      });
      slow = true;
      const started = Date.now();
      sim.state.addAnnotation(task!.id, { result: [] });
      await sim.state.flushWebhooks();
      expect(Date.now() - started).toBeLessThan(1400);
      expect(received).toHaveLength(2); // delivered once, no retry
      expect(sim.state.webhookDeliveries.at(-1)!.error).toBeTruthy();
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });

  describe('fault injection', () => {
    it('injects statuses, drops and latency, before or after the handler', async () => {
      sim.faults.set({ errorRate: 1, statuses: [504], phase: 'before' });
      const res = await call(sim, 'GET', '/api/version', { auth: null });
      expect(res.status).toBe(504);
      sim.faults.set({ dropRate: 1, phase: 'after' });
      await expect(call(sim, 'POST', '/api/projects/', { body: { title: 'Dropped' } })).rejects.toThrow();
      expect([...sim.state.projects.values()].map((p) => p.title)).toContain('Dropped'); // processed, answer lost
      sim.faults.set({ latencyMs: 50 });
      const started = Date.now();
      await call(sim, 'GET', '/api/version', { auth: null });
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
      sim.faults.clear();
      expect((await call(sim, 'GET', '/api/version', { auth: null })).status).toBe(200);
      expect(sim.faults.injected.drops).toBe(1);
    });
  });
});
