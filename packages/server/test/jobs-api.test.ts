import { jobSchema, type Principal } from '@labeler/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createInternalContext } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/app-router.js';
import { createCallerFactory } from '../src/trpc/init.js';
import { registerTestJobs } from './fixtures/jobs-defs.js';

const ADMIN: Principal = {
  kind: 'admin_user',
  id: 'usr_admin',
  name: 'admin',
  organizationId: null,
  roles: ['admin'],
  scopes: ['admin'],
  authenticatedBy: 'test',
};
const READER: Principal = {
  kind: 'service_account',
  id: 'sa_reader',
  name: 'reader',
  organizationId: null,
  roles: [],
  scopes: ['datasets:read'],
  authenticatedBy: 'test',
};

/** tRPC procedures (console) and the REST status route GET /api/v1/jobs/{job_id}. Workers are off: jobs stay queued unless run sync. */
describe('jobs API', () => {
  let server: TestServer;
  const keys: Record<string, { id: string; key: string }> = {};
  const caller = (principal: Principal) =>
    createCallerFactory(appRouter)(createInternalContext(server.services, principal));

  beforeAll(async () => {
    server = await startTestServer({ workers: false });
    registerTestJobs(server.services.jobs, server.services.orm);
    for (const [name, scopes] of [
      ['owner', ['datasets:read']],
      ['other', ['datasets:read']],
      ['downloader', ['datasets:download']],
    ] as const) {
      const created = await server.services.serviceAccounts.create({ name, scopes: [...scopes] }, null);
      keys[name] = { id: created.service_account_id, key: created.api_key };
    }
  });
  afterAll(async () => server?.stop());

  it('GET /api/v1/jobs/{job_id}: admin sees any job; output matches the job schema', async () => {
    const { job } = await server.services.jobs.startJob('test.echo', { n: 4 }, { sync: true });
    const res = await server.request(`/api/v1/jobs/${job.id}`);
    expect(res.status, res.text).toBe(200);
    expect(jobSchema.parse(res.body)).toMatchObject({
      id: job.id,
      state: 'completed',
      result: { n: 4, attempt: 1 },
    });
  });

  it('GET /api/v1/jobs/{job_id}: a key sees the jobs it started, not other ones (404, like missing)', async () => {
    const { job } = await server.services.jobs.startJob(
      'test.echo',
      { n: 1 },
      { createdBy: keys.owner?.id ?? null },
    );
    expect((await server.request(`/api/v1/jobs/${job.id}`, { token: keys.owner?.key ?? null })).status).toBe(
      200,
    );
    const hidden = await server.request(`/api/v1/jobs/${job.id}`, { token: keys.other?.key ?? null });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { code: 'JOB_NOT_FOUND' } });
    expect(
      (await server.request(`/api/v1/jobs/${job.id}`, { token: keys.downloader?.key ?? null })).status,
    ).toBe(404);
    expect((await server.request(`/api/v1/jobs/${job.id}`, { token: null })).status).toBe(401);
    expect((await server.request('/api/v1/jobs/job_0000000000000000')).body).toMatchObject({
      error: { code: 'JOB_NOT_FOUND' },
    });
    expect((await server.request('/api/v1/jobs/not-a-job')).status).toBe(400);
  });

  it('GET /api/v1/jobs/{job_id}: a datasets:download key reads archive builds (the 202 download-url target)', async () => {
    const { job } = await server.services.jobs.startJob(
      'dataset.archive',
      { dataset_id: 'ds_0123456789abcdef', version: 1 },
      { createdBy: 'sa_someone_else' },
    );
    const res = await server.request(`/api/v1/jobs/${job.id}`, { token: keys.downloader?.key ?? null });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: job.id, kind: 'dataset.archive' });
    await server.services.jobs.cancel(job.id);
  });

  it('list, progress, cancel and retry (admin only)', async () => {
    const admin = caller(ADMIN);
    const a = (await server.services.jobs.startJob('test.slow', { ms: 100, key: 'api-a' })).job;
    const b = (await server.services.jobs.startJob('test.echo', { n: 2 })).job;
    const listed = await admin.jobs.list({ state: 'queued', kind: 'test.slow' });
    expect(listed.jobs.map((j) => j.id)).toContain(a.id);
    expect(listed.jobs.every((j) => j.state === 'queued' && j.kind === 'test.slow')).toBe(true);

    const progress = await admin.jobs.progress({ ids: [a.id, b.id] });
    expect(progress.all_final).toBe(false);
    expect(progress.jobs.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());

    expect(await admin.jobs.cancel({ job_id: a.id })).toMatchObject({ id: a.id, state: 'cancelled' });
    await admin.jobs.cancel({ job_id: b.id });
    expect((await admin.jobs.progress({ ids: [a.id, b.id] })).all_final).toBe(true);
    await expect(admin.jobs.cancel({ job_id: a.id })).rejects.toMatchObject({
      cause: { code: 'JOB_NOT_CANCELLABLE' },
    });

    const retried = await admin.jobs.retry({ job_id: a.id });
    expect(retried).toMatchObject({ kind: 'test.slow', state: 'queued', dedup_key: 'test.slow:api-a' });
    expect(retried.id).not.toBe(a.id);
    await admin.jobs.cancel({ job_id: retried.id });

    const reader = caller(READER);
    await expect(reader.jobs.list({})).rejects.toMatchObject({ cause: { code: 'INSUFFICIENT_SCOPE' } });
    await expect(reader.jobs.cancel({ job_id: b.id })).rejects.toMatchObject({
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
  });

  it('watch yields the jobs and ends once they are final', async () => {
    const { job } = await server.services.jobs.startJob('test.echo', { n: 8 }, { sync: true });
    const feed = await caller(ADMIN).jobs.watch({ ids: [job.id] });
    const seen: unknown[] = [];
    for await (const update of feed) seen.push(update);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ all_final: true, jobs: [{ id: job.id, state: 'completed' }] });
  });
});
