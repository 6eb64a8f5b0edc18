/**
 * The Label Studio contract: what the plugin relies on, pinned as Label Studio answers it. The same code
 * runs against the simulator (test/contract-simulator.test.ts) and a real Label Studio 1.7.3
 * (test/contract-real.test.ts), so a behaviour where the simulator differs from the real server fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLabelerError } from '@labeler/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLabelStudioBackend } from '../../src/backend.js';
import { labelStudioConfigSchema } from '../../src/config.js';
import { importSamplesIdempotently } from '../../src/importer.js';
import { LS_ROUTES, lsPath } from '../../src/routes.js';
import { backendOf, type ContractTarget, LABEL_CONFIG, loginSession, raw } from './target.js';
import { hasPersonalAccessTokens as isModern } from '../../src/versions.js';

const run = Date.now().toString(36);
const asRecord = (v: unknown): Record<string, unknown> => (v ?? {}) as Record<string, unknown>;

export function runLabelStudioContract(getTarget: () => ContractTarget): void {
  let t: ContractTarget;
  let project: number;
  let task: number;
  let storageDir: string;
  beforeAll(async () => {
    t = getTarget();
    const created = await raw(t, 'POST', lsPath('projects'), {
      body: { title: `contract-${run}-${Math.random()}`, label_config: LABEL_CONFIG },
    });
    expect(created.status).toBe(201);
    project = Number(asRecord(created.json).id);
    const imported = await raw(t, 'POST', lsPath('projectImport', { id: project }), {
      body: [{ data: { image: 'a.png' }, meta: { sample_id: 's-1' } }],
    });
    expect(imported.status).toBe(201);
    const page = await raw(t, 'GET', `${lsPath('tasks')}?project=${project}`);
    task = Number(asRecord((asRecord(page.json).tasks as unknown[])[0]).id);
    storageDir = join(t.documentRoot, `contract-${run}-${project}`);
    mkdirSync(storageDir, { recursive: true });
    writeFileSync(join(storageDir, 'c.png'), 'png');
    writeFileSync(join(storageDir, 'a#b.png'), 'hash');
  });

  describe('identity', () => {
    it('GET /api/version answers with and without the slash, naming the release', async () => {
      for (const path of ['/api/version', '/api/version/']) {
        const answer = await raw(t, 'GET', path, { auth: null });
        expect(answer.status).toBe(200);
        expect(asRecord(answer.json).release).toEqual(expect.stringMatching(/^\d+\.\d+/));
        expect(asRecord(asRecord(answer.json)['label-studio-os-package']).version).toBeTypeOf('string');
      }
    });

    it('whoami is declared without a slash: /whoami → 200, /whoami/ → 404 HTML', async () => {
      const ok = await raw(t, 'GET', '/api/current-user/whoami');
      expect(ok.status).toBe(200);
      expect(asRecord(ok.json)).toMatchObject({ id: expect.any(Number), email: expect.any(String) });
      const slashed = await raw(t, 'GET', '/api/current-user/whoami/');
      expect(slashed.status).toBe(404);
      expect(slashed.contentType).toMatch(/text\/html/);
    });

    it('a wrong token → 401 "Invalid token." in the envelope; Bearer garbage → "not provided"', async () => {
      const wrong = await raw(t, 'GET', lsPath('whoami'), {
        auth: 'Token 0000000000000000000000000000000000000bad',
      });
      expect(wrong.status).toBe(401);
      expect(asRecord(wrong.json)).toMatchObject({ status_code: 401, detail: 'Invalid token.' });
      expect(Object.keys(asRecord(wrong.json)).sort()).toEqual([
        'detail',
        'exc_info',
        'id',
        'status_code',
        'version',
      ]);
      const bearer = await raw(t, 'GET', lsPath('whoami'), { auth: 'Bearer abc' });
      expect(bearer.status).toBe(401);
      expect(asRecord(bearer.json).detail).toBe('Authentication credentials were not provided.');
    });

    it(`POST ${LS_ROUTES.tokenRefresh}: 404 without Personal Access Tokens (1.7), an access token on modern versions`, async () => {
      for (const path of ['/api/token/refresh', '/api/token/refresh/']) {
        const answer = await raw(t, 'POST', path, {
          auth: null,
          body: { refresh: t.personalAccessToken ?? 'x.y.z' },
        });
        if (isModern(t.version)) {
          expect(answer.status).toBe(200);
          expect(asRecord(answer.json).access).toBeTypeOf('string');
        } else {
          expect(answer.status).toBe(404);
          expect(answer.contentType).toMatch(/text\/html/);
        }
      }
    });
  });

  describe('slash rules', () => {
    // Routes declared without a slash: the slashed form is a 404 HTML page, the declared form works.
    const noSlash = (): Array<[string, string, string, unknown?]> => [
      ['GET', '/api/current-user/whoami', 'whoami'],
      ['POST', '/api/storages/localfiles/validate', 'validate', { project, path: storageDir }],
      ['GET', `/api/storages/export/localfiles?project=${project}`, 'export list'],
      ['POST', `/api/projects/${project}/import`, 'import', [{ data: { image: 'slash.png' } }]],
    ];
    it('a route declared without a slash 404s (HTML) when called with one', async () => {
      for (const [method, path, , body] of noSlash()) {
        const [p, q = ''] = path.split('?');
        const slashed = await raw(t, method, `${p}/${q ? `?${q}` : ''}`, { body });
        expect([method, path, slashed.status, slashed.contentType.split(';')[0]]).toEqual([
          method,
          path,
          404,
          'text/html',
        ]);
        const declared = await raw(t, method, path, { body });
        expect([method, path, declared.status < 300]).toEqual([method, path, true]);
      }
    });

    it('a storage detail /api/storages/localfiles/<id> has no slash; its /sync neither', async () => {
      const created = await raw(t, 'POST', lsPath('localFilesStorages'), {
        body: { project, path: storageDir, title: 'slash', use_blob_urls: true },
      });
      expect(created.status).toBe(201);
      const id = Number(asRecord(created.json).id);
      expect((await raw(t, 'GET', `/api/storages/localfiles/${id}`)).status).toBe(200);
      expect((await raw(t, 'GET', `/api/storages/localfiles/${id}/`)).status).toBe(404);
      expect((await raw(t, 'POST', `/api/storages/localfiles/${id}/sync/`)).status).toBe(404);
      expect((await raw(t, 'DELETE', `/api/storages/localfiles/${id}`)).status).toBe(204);
    });

    it('a route declared with a slash answers both forms, GET and POST alike, without a redirect', async () => {
      for (const path of [
        '/api/projects',
        '/api/projects/',
        `/api/projects/${project}`,
        `/api/tasks?project=${project}`,
        `/api/webhooks?project=${project}`,
        `/api/tasks/${task}/annotations`,
      ]) {
        const answer = await raw(t, 'GET', path);
        expect([path, answer.status]).toEqual([path, 200]);
      }
      for (const path of ['/api/projects/validate', '/api/projects/validate/']) {
        const answer = await raw(t, 'POST', path, { body: { label_config: LABEL_CONFIG } });
        expect([path, answer.status]).toEqual([path, 204]);
      }
    });
  });

  describe('projects', () => {
    it('create → get → patch → delete; a deleted project is a JSON 404 "Not found."', async () => {
      const created = await raw(t, 'POST', '/api/projects', {
        body: { title: `crud-${run}`, label_config: LABEL_CONFIG },
      });
      expect(created.status).toBe(201);
      const body = asRecord(created.json);
      expect(body).toMatchObject({
        id: expect.any(Number),
        title: `crud-${run}`,
        label_config: LABEL_CONFIG,
      });
      const id = Number(body.id);
      const got = await raw(t, 'GET', lsPath('project', { id }));
      expect(asRecord(got.json)).toMatchObject({ id, task_number: 0 });
      const patched = await raw(t, 'PATCH', lsPath('project', { id }), { body: { title: `crud-${run}-b` } });
      expect([patched.status, asRecord(patched.json).title]).toEqual([200, `crud-${run}-b`]);
      const listed = await raw(t, 'GET', `${lsPath('projects')}?ids=${id}`);
      expect(asRecord(listed.json)).toMatchObject({
        count: 1,
        next: null,
        results: [expect.objectContaining({ id })],
      });
      // 1.7 has no title filter (only `ids`): the plugin matches titles itself, over every page.
      const byTitle = await raw(t, 'GET', `${lsPath('projects')}?title=no-such-title-${run}`);
      const count = Number(asRecord(byTitle.json).count);
      if (isModern(t.version)) expect(count).toBe(0);
      else expect(count).toBeGreaterThanOrEqual(2);
      expect((await raw(t, 'DELETE', lsPath('project', { id }))).status).toBe(204);
      const gone = await raw(t, 'GET', lsPath('project', { id }));
      expect(gone.status).toBe(404);
      expect(asRecord(gone.json)).toMatchObject({ status_code: 404, detail: 'Not found.' });
    });

    it('a bad label config: 400 envelope on create, the bare DRF body on /api/projects/validate/', async () => {
      const created = await raw(t, 'POST', lsPath('projects'), {
        body: { title: 'bad', label_config: '<View>' },
      });
      expect(created.status).toBe(400);
      expect(asRecord(created.json)).toMatchObject({
        status_code: 400,
        detail: 'Validation error',
        validation_errors: { label_config: [expect.any(String)] },
      });
      const validated = await raw(t, 'POST', lsPath('labelConfigValidate'), {
        auth: null,
        body: {
          label_config:
            '<View><Image name="i" value="$image"/><Choices name="c" toName="nope"><Choice value="a"/></Choices></View>',
        },
      });
      expect(validated.status).toBe(400);
      expect(validated.json).toEqual({ label_config: [expect.stringContaining('nope')] });
      const backend = backendOf(t);
      const error = await backend.validateLabelConfig('<View>').catch((e: unknown) => e);
      expect(isLabelerError(error) && error.code).toBe('LABEL_CONFIG_INVALID');
      // 1.7.3 parses a PATCHed config before validating it: malformed XML is an HTTP 400 whose envelope
      // says 500, with lxml's message as detail, a traceback, and no validation_errors.
      const patched = await raw(t, 'PATCH', lsPath('project', { id: project }), {
        body: { label_config: '<View><Image name="i" value="$i"></View>' },
      });
      expect(patched.status).toBe(400);
      expect(asRecord(patched.json)).toMatchObject({
        status_code: 500,
        detail: expect.stringMatching(/mismatch.*line 1, column \d+/i),
        exc_info: expect.stringContaining('Traceback'),
      });
      expect(asRecord(patched.json).validation_errors).toBeUndefined();
      const adopted = await backend
        .ensureProject({
          title: `patch-${run}`,
          externalId: String(project),
          labelConfig: '<View><Image name="i" value="$i"></View>',
        })
        .catch((e: unknown) => e);
      expect(isLabelerError(adopted) && [adopted.code, adopted.retryable]).toEqual([
        'LABEL_CONFIG_INVALID',
        false,
      ]);
      expect(backend.client.stats.retries).toBe(0);
    });
  });

  describe('tasks and annotations', () => {
    it('import answers its counts; /api/tasks pages are {total, tasks}, a page past the end is a JSON 404', async () => {
      const imported = await raw(
        t,
        'POST',
        `${lsPath('projectImport', { id: project })}?return_task_ids=true`,
        {
          body: [{ data: { image: 'b.png' } }, { data: { image: 'c.png' } }],
        },
      );
      expect(imported.status).toBe(201);
      expect(asRecord(imported.json)).toMatchObject({
        task_count: 2,
        annotation_count: 0,
        prediction_count: 0,
      });
      const page = await raw(
        t,
        'GET',
        `${lsPath('tasks')}?project=${project}&page=1&page_size=2&fields=task_only`,
      );
      const body = asRecord(page.json);
      expect(body.total).toBeGreaterThanOrEqual(3);
      expect((body.tasks as unknown[]).length).toBe(2);
      expect(asRecord((body.tasks as unknown[])[0])).toMatchObject({
        id: expect.any(Number),
        data: expect.any(Object),
      });
      const past = await raw(t, 'GET', `${lsPath('tasks')}?project=${project}&page=99&page_size=2`);
      expect(past.status).toBe(404);
      expect(asRecord(past.json)).toMatchObject({ status_code: 404, detail: 'Invalid page.' });
    });

    it('annotations: create 201, listed on the task', async () => {
      const result = [{ from_name: 'c', to_name: 'image', type: 'choices', value: { choices: ['a'] } }];
      const created = await raw(t, 'POST', lsPath('taskAnnotations', { id: task }), { body: { result } });
      expect(created.status).toBe(201);
      expect(asRecord(created.json)).toMatchObject({
        id: expect.any(Number),
        task,
        result,
        was_cancelled: false,
        ground_truth: false,
      });
      const listed = await raw(t, 'GET', lsPath('taskAnnotations', { id: task }));
      expect(listed.json).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: asRecord(created.json).id })]),
      );
    });
  });

  describe('local-files storage and serving', () => {
    it('validate: a folder strictly inside the document root only; project required', async () => {
      const validate = (body: unknown) => raw(t, 'POST', lsPath('localFilesStorageValidate'), { body });
      expect((await validate({ project, path: storageDir })).status).toBe(200);
      for (const path of [t.documentRoot, '/tmp', join(t.documentRoot, 'no-such-dir')]) {
        const answer = await validate({ project, path });
        expect([path, answer.status, asRecord(answer.json).detail]).toEqual([path, 400, 'Validation error']);
      }
      const noProject = await validate({ path: storageDir });
      if (isModern(t.version)) expect(noProject.status).toBe(200);
      else
        expect(asRecord(asRecord(noProject.json).validation_errors)).toEqual({
          project: ['This field is required.'],
        });
    });

    it('source create + sync imports the files; an export storage is created (synced) at /export/localfiles', async () => {
      const created = await raw(t, 'POST', lsPath('localFilesStorages'), {
        body: { project, path: storageDir, title: 'src', use_blob_urls: true },
      });
      expect(created.status).toBe(201);
      expect(asRecord(created.json)).toMatchObject({
        type: 'localfiles',
        path: storageDir,
        project,
        last_sync: null,
      });
      const id = Number(asRecord(created.json).id);
      const synced = await raw(t, 'POST', lsPath('localFilesStorageSync', { id }));
      expect(synced.status).toBe(200);
      expect(asRecord(synced.json)).toMatchObject({ id, last_sync_count: 2 });
      const exported = await raw(t, 'POST', lsPath('localFilesExportStorages'), {
        body: { project, path: storageDir, title: 'dst' },
      });
      expect(exported.status).toBe(201);
      expect(asRecord(exported.json)).toMatchObject({ type: 'localfiles', project });
      const list = await raw(t, 'GET', `${lsPath('localFilesExportStorages')}?project=${project}`);
      expect((list.json as unknown[]).length).toBe(1);
    });

    it('/data/local-files/?d=: token only → 403; a logged-in session → 200; %23 works, a raw # 404s; outside the root 400', async () => {
      const rel = `${storageDir.slice(t.documentRoot.length + 1)}`;
      const file = `${lsPath('localFilesData')}?d=${rel}/c.png`;
      // 1.7's view knows only sessions; modern versions also take the API token.
      expect((await raw(t, 'GET', file)).status).toBe(isModern(t.version) ? 200 : 403);
      const cookie = await loginSession(t);
      const served = await raw(t, 'GET', file, { auth: null, cookie });
      expect([served.status, served.text]).toEqual([200, 'png']);
      const encoded = await raw(t, 'GET', `${lsPath('localFilesData')}?d=${rel}/a%23b.png`, {
        auth: null,
        cookie,
      });
      expect([encoded.status, encoded.text]).toEqual([200, 'hash']);
      const hash = await fetch(`${t.url}${lsPath('localFilesData')}?d=${rel}/a#b.png`, {
        headers: { cookie },
      });
      expect(hash.status).toBe(404);
      expect(
        (await raw(t, 'GET', `${lsPath('localFilesData')}?d=${rel}/missing.png`, { auth: null, cookie }))
          .status,
      ).toBe(404);
      expect(
        (await raw(t, 'GET', `${lsPath('localFilesData')}?d=../outside.png`, { auth: null, cookie })).status,
      ).toBe(400);
    });
  });

  describe('webhooks', () => {
    it('create and list per project; a one-digit port is not a valid URL', async () => {
      const created = await raw(t, 'POST', lsPath('webhooks'), {
        body: {
          url: 'http://127.0.0.1:9999/hook',
          project,
          send_payload: true,
          send_for_all_actions: true,
          headers: { 'x-secret': 's' },
        },
      });
      expect(created.status).toBe(201);
      expect(asRecord(created.json)).toMatchObject({
        id: expect.any(Number),
        project,
        url: 'http://127.0.0.1:9999/hook',
        headers: { 'x-secret': 's' },
        is_active: true,
      });
      const listed = await raw(t, 'GET', `${lsPath('webhooks')}?project=${project}`);
      expect(listed.json).toEqual([expect.objectContaining({ id: asRecord(created.json).id })]);
      const bad = await raw(t, 'POST', lsPath('webhooks'), {
        body: { url: 'http://127.0.0.1:9/hook', project },
      });
      expect(bad.status).toBe(400);
      expect(asRecord(asRecord(bad.json).validation_errors)).toEqual({ url: ['Enter a valid URL.'] });
    });
  });

  describe('the plugin against it', () => {
    it('health is healthy and diagnose() passes with the right token', async () => {
      const backend = backendOf(t, { documentRoot: t.documentRoot });
      const health = await backend.health();
      expect([health.status, health.message]).toEqual(['healthy', expect.stringContaining('token accepted')]);
      const diagnosis = await backend.diagnose();
      expect(diagnosis.checks.filter((c) => !c.ok)).toEqual([]);
      expect(diagnosis.user).toMatchObject({ email: t.login.email });
    });

    it('a wrong token: "Invalid token" and where to find the right one', async () => {
      const diagnosis = await backendOf(t, { apiKey: '0000000000000000000000000000000000000bad' }).diagnose();
      const check = diagnosis.checks.find((c) => !c.ok);
      expect(check).toMatchObject({
        id: 'credentials',
        category: 'credentials',
        message: expect.stringContaining('Invalid token'),
      });
      expect(check?.fix).toContain('Account & Settings → Access Token');
      expect(check?.fix).toContain(`${t.url}/user/account`);
      expect(check?.message).not.toContain('has no route');
    });

    it('a 404 on a route (the old whoami/ call) is named as a missing route, never as a refused token', async () => {
      // The issue-18 bug, replayed: whoami called with the trailing slash 1.7.3 does not declare.
      const slashing: typeof fetch = (input, init) =>
        fetch(String(input).replace('/api/current-user/whoami', '/api/current-user/whoami/'), init);
      const backend = createLabelStudioBackend(
        labelStudioConfigSchema.parse({ url: t.url, apiKey: t.token, maxRetries: 0 }),
        { fetch: slashing },
      );
      const diagnosis = await backend.diagnose();
      const check = diagnosis.checks.find((c) => !c.ok);
      expect(check).toMatchObject({ id: 'api-route', category: 'api' });
      expect(check?.message).toContain('Label Studio has no route GET /api/current-user/whoami (404)');
      expect(diagnosis.checks.some((c) => c.id === 'credentials')).toBe(false);
      expect(JSON.stringify(diagnosis)).not.toMatch(/rejected the token|Invalid token/i);
      const health = await backend.health();
      expect(health.message).toContain('has no route');
    });

    it('a wrong port: "cannot reach Label Studio at URL"', async () => {
      const url = 'http://127.0.0.1:1';
      const diagnosis = await backendOf(t, { url, maxRetries: 0 }).diagnose();
      const check = diagnosis.checks.find((c) => !c.ok);
      expect(check?.id).toBe('reachable');
      expect(check?.message.toLowerCase()).toContain(`cannot reach label studio at ${url}`);
      expect(diagnosis.checks.some((c) => c.id === 'credentials')).toBe(false);
    });

    it('setupStorage + importSamplesIdempotently + iterateTasks work end to end', async () => {
      const backend = backendOf(t);
      const { project: p } = await backend.ensureProject({ title: `e2e-${run}`, labelConfig: LABEL_CONFIG });
      const source = await backend.setupStorage(p.externalId, {
        type: 'local-files',
        role: 'source',
        title: 'src',
        path: storageDir,
      });
      const target = await backend.setupStorage(p.externalId, {
        type: 'local-files',
        role: 'target',
        title: 'dst',
        path: storageDir,
      });
      expect([source.created, target.created]).toEqual([true, true]);
      expect(
        (
          await backend.setupStorage(p.externalId, {
            type: 'local-files',
            role: 'source',
            title: 'src',
            path: storageDir,
          })
        ).created,
      ).toBe(false);
      expect((await backend.listStorages(p.externalId)).map((s) => s.role).sort()).toEqual([
        'source',
        'target',
      ]);
      const samples = Array.from({ length: 25 }, (_, i) => ({
        sampleId: `e-${i}`,
        data: { image: `${i}.png` },
      }));
      const result = await importSamplesIdempotently(backend, p.externalId, samples, { batchSize: 10 });
      expect(result).toMatchObject({ imported: 25, requests: 3 });
      const again = await importSamplesIdempotently(backend, p.externalId, samples, { batchSize: 10 });
      expect(again).toMatchObject({ imported: 0, skipped: 25, requests: 0 });
      const hook = await backend.registerWebhook({
        url: 'http://127.0.0.1:9999/e2e',
        projectExternalId: p.externalId,
        headers: { 'x-s': '1' },
        events: ['ANNOTATION_CREATED'],
      });
      expect(hook.created).toBe(true);
      await backend.deleteProject(p.externalId);
      expect(await backend.getProject(p.externalId)).toBeNull();
    });
  });
}
