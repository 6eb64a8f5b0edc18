/**
 * The annotation workflow under stress and failure: concurrent ensures, interrupted and flaky imports,
 * a rejected token, webhooks (secret, malformed body, follow-up sync), launch links, and the validation
 * cache being invalidated by changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Annotation, AnnotationTaskLink } from '../src/modules/annotation/entities.js';
import { mintLaunchLink } from '../src/modules/annotation/launch.js';
import { webhookSecret } from '../src/modules/annotation/webhooks.js';
import { type ChildServer, startChildServer } from './child-server.js';
import {
  type AnnotationEnv,
  createProject,
  resultFor,
  startAnnotationEnv,
  waitUntil,
} from './annotation-helpers.js';
import { expectEnvelope, SYSTEM_ACTOR } from './helpers.js';

const ensure = (env: AnnotationEnv, projectId: string) =>
  env.server.request('/api/v1/label-studio/projects/ensure', {
    method: 'POST',
    body: { project_id: projectId },
  });

function sampleIdsOf(env: AnnotationEnv, externalId: string): string[] {
  return (env.sim.state.projectTasks.get(Number(externalId)) ?? []).map((t) => String(t.meta.sample_id));
}

describe('annotation robustness', () => {
  let env: AnnotationEnv;

  beforeAll(async () => {
    env = await startAnnotationEnv({ samples: 40 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('50 concurrent ensures of one project create exactly one Label Studio project', async () => {
    const projectId = await createProject(env, 'concurrent');
    const results = await Promise.all(Array.from({ length: 50 }, () => ensure(env, projectId)));
    for (const res of results) expect(res.status, res.text).toBe(200);
    const bodies = results.map((r) => r.body as { external_id: string; created: boolean });
    expect(new Set(bodies.map((b) => b.external_id)).size).toBe(1);
    expect(bodies.filter((b) => b.created)).toHaveLength(1);
    const titled = [...env.sim.state.projects.values()].filter((p) => p.title.includes(projectId));
    expect(titled).toHaveLength(1);
    const hooks = [...env.sim.state.webhooks.values()].filter((w) => w.project === titled[0]!.id);
    expect(hooks).toHaveLength(1); // registered under the same lock: never twice
  });

  it('two server processes ensuring one project concurrently still create one (advisory lock)', async () => {
    // The plugin's own lock is per process; only the PostgreSQL advisory lock spans processes.
    const child: ChildServer = await startChildServer({
      DATABASE_URL: env.server.database!.url,
      LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
    });
    try {
      const projectId = await createProject(env, 'two processes');
      // Warm the child up (plugin instance started, connections open) so both processes race for real.
      const warm = await fetch(`${child.url}/api/v1/label-studio/projects/${projectId}/validate`, {
        headers: { authorization: `Bearer ${env.server.adminToken}` },
      });
      expect(warm.status).toBe(200);
      env.sim.faults.set({ match: /^\/api\/projects/, latencyMs: 200 }); // widen the race window
      const viaChild = (i: number) =>
        fetch(`${child.url}/api/v1/label-studio/projects/ensure`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${env.server.adminToken}`,
            'content-type': 'application/json',
            'x-request-id': `child-${i}`,
          },
          body: JSON.stringify({ project_id: projectId }),
        }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { external_id: string; created: boolean },
        }));
      const viaMain = () =>
        ensure(env, projectId).then((r) => ({
          status: r.status,
          body: r.body as { external_id: string; created: boolean },
        }));
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? viaChild(i) : viaMain())),
      );
      for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(new Set(results.map((r) => r.body.external_id)).size).toBe(1);
      expect(results.filter((r) => r.body.created)).toHaveLength(1);
      expect([...env.sim.state.projects.values()].filter((p) => p.title.includes(projectId))).toHaveLength(1);
    } finally {
      env.sim.faults.clear();
      await child.stop();
    }
  }, 90_000);

  it('an interrupted import resumes without duplicates', async () => {
    const projectId = await createProject(env, 'resume');
    const { external_id: externalId } = (await ensure(env, projectId)).body as { external_id: string };
    const controller = new AbortController();
    let reports = 0;
    await expect(
      env.server.services.annotation.runImport(projectId, {
        batchSize: 4,
        signal: controller.signal,
        progress: async () => {
          reports += 1;
          if (reports === 3) controller.abort(new Error('simulated shutdown'));
        },
      }),
    ).rejects.toThrow();
    const partial = sampleIdsOf(env, externalId);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(40);

    const { job } = await env.server.services.annotation.startImport(projectId, {
      batchSize: 4,
      actor: null,
      sync: true,
    });
    expect(job.state, JSON.stringify(job.error)).toBe('completed');
    const ids = sampleIdsOf(env, externalId);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    expect(ids.sort()).toEqual(env.sampleIds);
    expect(job.result).toMatchObject({
      skipped: partial.length,
      imported: 40 - partial.length,
      task_count: 40,
    });
    expect(await env.server.services.orm.em.fork().count(AnnotationTaskLink, { projectId })).toBe(40);
  });

  it('import answers lost by the network are re-checked, never resent blindly', async () => {
    const projectId = await createProject(env, 'flaky');
    const { external_id: externalId } = (await ensure(env, projectId)).body as { external_id: string };
    // Label Studio commits the batch, then the answer is lost (500 after the work), for half the batches.
    env.sim.faults.set({ match: /\/import$/, errorRate: 0.5, phase: 'after', statuses: [500] });
    try {
      const { job } = await env.server.services.annotation.startImport(projectId, {
        batchSize: 5,
        actor: null,
        sync: true,
      });
      expect(job.state, JSON.stringify(job.error)).toBe('completed');
    } finally {
      env.sim.faults.clear();
    }
    const ids = sampleIdsOf(env, externalId);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });

  it('validation is cached for a minute and invalidated by ensure', async () => {
    const projectId = await createProject(env, 'cache');
    const { external_id: first } = (await ensure(env, projectId)).body as { external_id: string };
    const fresh = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(fresh.body).toMatchObject({ exists: true, cached: false, external_id: first });
    // Someone deletes the project in Label Studio: the cache still answers for up to a minute.
    env.sim.state.deleteProject(Number(first));
    const cached = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(cached.body).toMatchObject({ exists: true, cached: true });
    // Ensure sees the 404 on the recorded id, creates a new project and invalidates the cache.
    const again = (await ensure(env, projectId)).body as { external_id: string; created: boolean };
    expect(again.created).toBe(true);
    expect(again.external_id).not.toBe(first);
    const after = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(after.body).toMatchObject({ exists: true, cached: false, external_id: again.external_id });
    // A project deleted behind our back is reported (once the cache is invalidated by a change).
    env.sim.state.deleteProject(Number(again.external_id));
    env.server.services.annotation.invalidate(projectId);
    const gone = await env.server.request(`/api/v1/label-studio/projects/${projectId}/validate`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ exists: false, status: 'not_found' });
  });

  describe('webhooks', () => {
    let projectId: string;
    let externalId: string;

    beforeAll(async () => {
      projectId = await createProject(env, 'webhooks');
      externalId = ((await ensure(env, projectId)).body as { external_id: string }).external_id;
      await env.server.services.annotation.startImport(projectId, { actor: null, sync: true });
    });

    it('refuses a missing or wrong secret', async () => {
      const url = `/webhooks/annotation/${projectId}`;
      const none = await env.server.request(url, {
        method: 'POST',
        body: { action: 'ANNOTATION_CREATED' },
        token: null,
      });
      expect(none.status).toBe(401);
      expectEnvelope(none.body, 'UNAUTHENTICATED');
      const wrong = await env.server.request(url, {
        method: 'POST',
        body: { action: 'ANNOTATION_CREATED' },
        token: null,
        headers: { 'X-Labeler-Webhook-Secret': 'f'.repeat(64) },
      });
      expect(wrong.status).toBe(401);
      // Another project's secret does not open this project's receiver.
      const other = await env.server.request(url, {
        method: 'POST',
        body: { action: 'ANNOTATION_CREATED' },
        token: null,
        headers: { 'X-Labeler-Webhook-Secret': webhookSecret(env.server.services, 'prj_0000000000000000') },
      });
      expect(other.status).toBe(401);
    });

    it('answers a malformed body with a 400 envelope, never a crash', async () => {
      const headers = { 'X-Labeler-Webhook-Secret': webhookSecret(env.server.services, projectId) };
      const notJson = await env.server.request(`/webhooks/annotation/${projectId}`, {
        method: 'POST',
        body: '{"action": ',
        token: null,
        headers,
      });
      expect(notJson.status).toBe(400);
      expectEnvelope(notJson.body, 'VALIDATION_ERROR');
      const wrongShape = await env.server.request(`/webhooks/annotation/${projectId}`, {
        method: 'POST',
        body: { action: 42, task: 'x' },
        token: null,
        headers,
      });
      expect(wrongShape.status).toBe(400);
      expectEnvelope(wrongShape.body, 'VALIDATION_ERROR');
    });

    it('a Label Studio delivery with the right secret is acknowledged at once and the task gets synced', async () => {
      const task = env.sim.state.projectTasks
        .get(Number(externalId))!
        .find((t) => t.meta.sample_id === 'smp_0007')!;
      const started = Date.now();
      env.sim.state.addAnnotation(task.id, { result: resultFor(7, 'dog') }); // fires ANNOTATION_CREATED
      await env.sim.state.flushWebhooks();
      const delivery = env.sim.state.webhookDeliveries.find(
        (d) => d.url.endsWith(`/webhooks/annotation/${projectId}`) && d.action === 'ANNOTATION_CREATED',
      );
      expect(delivery?.status, delivery?.error ?? '').toBe(200);
      expect(Date.now() - started).toBeLessThan(1000); // within Label Studio's 1 s webhook timeout
      const row = await waitUntil(
        () => env.server.services.orm.em.fork().findOne(Annotation, { projectId, sampleId: 'smp_0007' }),
        15_000,
      );
      expect(row.source).toBe('webhook');
      expect(row.externalTaskId).toBe(String(task.id));
      expect((row.labels.detections as { detections: Array<{ label: string }> }).detections[0]!.label).toBe(
        'dog',
      );
    });
  });

  describe('launch links', () => {
    let projectId: string;
    let externalId: string;

    beforeAll(async () => {
      projectId = await createProject(env, 'launch');
      externalId = ((await ensure(env, projectId)).body as { external_id: string }).external_id;
    });

    it('auth-url returns a 1-hour Labeler link that redirects to the Label Studio project', async () => {
      const res = await env.server.request(`/api/v1/label-studio/projects/${projectId}/auth-url`);
      expect(res.status, res.text).toBe(200);
      const body = res.body as { url: string; expires_at: string; backend_url: string; external_id: string };
      expect(body.url.startsWith(`${env.server.url}/launch/`)).toBe(true);
      expect(body.url).not.toContain('lang=');
      const ttl = Date.parse(body.expires_at) - Date.now();
      expect(ttl).toBeGreaterThan(3500_000);
      expect(ttl).toBeLessThanOrEqual(3600_000);
      expect(body.backend_url).toBe(`${env.sim.url}/projects/${externalId}/data`);
      const visit = await fetch(body.url, { redirect: 'manual' });
      expect(visit.status).toBe(302);
      expect(visit.headers.get('location')).toBe(`${env.sim.url}/projects/${externalId}/data`);
    });

    it('refuses tampered and expired links without redirecting', async () => {
      const { url } = (await env.server.request(`/api/v1/label-studio/projects/${projectId}/auth-url`))
        .body as { url: string };
      const last = url.at(-1) === '0' ? '1' : '0';
      const tampered = await fetch(`${url.slice(0, -1)}${last}`, { redirect: 'manual' });
      expect(tampered.status).toBe(403);
      expect(tampered.headers.get('location')).toBeNull();
      expectEnvelope(await tampered.json(), 'PRESIGNED_URL_INVALID');

      const principal = SYSTEM_ACTOR;
      const expired = mintLaunchLink(env.server.services, projectId, principal, Date.now() - 2 * 3600_000);
      const res = await fetch(expired.url, { redirect: 'manual' });
      expect(res.status).toBe(403);
      const envelope = expectEnvelope(await res.json(), 'PRESIGNED_URL_INVALID');
      expect(envelope.error.details.reason).toBe('expired');
    });

    it('a link issued to a service account stops working once the account is revoked', async () => {
      const created = await env.server.request('/api/v1/auth/service-accounts', {
        method: 'POST',
        body: { service_name: 'launcher', scopes: ['admin'] },
      });
      expect([200, 201], created.text).toContain(created.status);
      const { service_account_id: accountId, api_key: key } = created.body as {
        service_account_id: string;
        api_key: string;
      };
      const { url } = (
        await env.server.request(`/api/v1/label-studio/projects/${projectId}/auth-url`, { token: key })
      ).body as { url: string };
      expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
      await env.server.services.serviceAccounts.revoke(accountId, null);
      const refused = await fetch(url, { redirect: 'manual' });
      expect(refused.status).toBe(403);
      expectEnvelope(await refused.json(), 'ACCESS_DENIED');
    });
  });
});

describe('annotation backend with a rejected token', () => {
  let env: AnnotationEnv;

  beforeAll(async () => {
    env = await startAnnotationEnv({ samples: 2, apiKey: () => '0123456789abcdef0123456789abcdef01234567' });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('ensure answers BACKEND_AUTH_FAILED with how to fix the token, and nothing is created', async () => {
    const projectId = await createProject(env, 'bad token');
    const res = await ensure(env, projectId);
    expect(res.status, res.text).toBe(502);
    const envelope = expectEnvelope(res.body, 'BACKEND_AUTH_FAILED');
    expect(envelope.error.message).toMatch(/re-authentication/i);
    expect(envelope.error.message).toMatch(/token/i);
    expect(envelope.error.details.backend_instance_id).toBe(env.backendId);
    expect(String(envelope.error.details.fix)).toMatch(/token/i);
    expect(envelope.error.message).not.toContain('0123456789abcdef');
    expect(env.sim.state.projects.size).toBe(0);
  });
});
