/**
 * Tenant isolation of writes (issue 17, items 1, 10, 13): who may write a dataset, org-scoped service
 * accounts, and the scope checks the probe found missing. Org A owns the datasets; org B tries to write them.
 */
import type { Principal } from '@labeler/core';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnotationProject } from '../src/modules/annotation/entities.js';
import { Dataset } from '../src/modules/datasets/entities.js';
import { DatasetPermission } from '../src/modules/permissions/entities.js';
import { JobRecord } from '../src/modules/jobs/entities.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createInternalContext } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/app-router.js';
import { createCallerFactory } from '../src/trpc/init.js';
import {
  createDataset,
  createOrganization,
  createOrgServiceAccount,
  createServiceAccount,
  expectEnvelope,
  SYSTEM_ACTOR,
} from './helpers.js';
import { LABEL_SCHEMA } from './annotation-helpers.js';

let server: TestServer;
let sim: LabelStudioSimulator;
let backendId: string;
let orgA: string;
let orgB: string;
const keys: Record<string, string> = {};

const caller = (principal: Principal) =>
  createCallerFactory(appRouter)(createInternalContext(server.services, principal));
const principalOf = (name: string) => server.services.serviceAccounts.authenticate(keys[name]!);

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  sim = await startLabelStudioSimulator({});
  backendId = (
    await server.services.plugins.create({
      pluginId: 'label-studio',
      name: 'label-studio',
      config: { url: sim.url, apiKey: sim.legacyToken, retryBaseDelayMs: 5, maxRetries: 2 },
    })
  ).id;
  orgA = await createOrganization(server, 'org-a');
  orgB = await createOrganization(server, 'org-b');
  const rw = ['datasets:read', 'datasets:write'] as const;
  const all = ['datasets:read', 'datasets:write', 'datasets:download', 'datasets:permissions'] as const;
  keys.aWriter = (await createOrgServiceAccount(server, orgA, [...rw], 'a-writer')).api_key;
  keys.aDownloader = (await createOrgServiceAccount(server, orgA, ['datasets:download'], 'a-dl')).api_key;
  keys.aAdmin = (await createOrgServiceAccount(server, orgA, ['admin'], 'a-admin')).api_key;
  keys.bWriter = (await createOrgServiceAccount(server, orgB, [...all], 'b-writer')).api_key;
  keys.bAdmin = (await createOrgServiceAccount(server, orgB, ['admin'], 'b-admin')).api_key;
  keys.readOnly = (await createServiceAccount(server, ['datasets:read'], 'read-only')).api_key;
  keys.downloadOnly = (await createServiceAccount(server, ['datasets:download'], 'dl-only')).api_key;
});
afterAll(async () => {
  await server?.stop();
  await sim?.stop();
});

let seq = 0;
/** A dataset of org A, registered by the platform-wide admin. */
async function seed(visibility: 'public' | 'private') {
  seq += 1;
  return createDataset(server, {
    name: `a-${visibility}-${seq}`,
    visibility,
    organization_id: orgA,
    class_names: ['cat'],
  });
}

/** What org A sees of its dataset: the row, its versions and its explicit permissions. */
async function asOrgA(id: string) {
  const dataset = await server.request(`/api/v1/datasets/${id}`, { token: keys.aWriter! });
  const versions = await server.request(`/api/v1/datasets/${id}/versions`, { token: keys.aWriter! });
  expect(dataset.status, dataset.text).toBe(200);
  const em = server.services.orm.em.fork();
  return {
    dataset: dataset.body,
    versions: versions.body,
    permissions: (await em.find(DatasetPermission, { datasetId: id })).map((p) => [p.userId, p.role]),
    jobs: await em.count(JobRecord, { payload: { dataset_id: id } }),
    projects: await em.count(AnnotationProject, { datasetId: id }),
  };
}

const REST_WRITES: Array<{
  name: string;
  method: string;
  path: (id: string) => string;
  body?: () => unknown;
}> = [
  {
    name: 'PATCH',
    method: 'PATCH',
    path: (id) => `/api/v1/datasets/${id}`,
    body: () => ({ description: 'taken over', class_names: ['evil'] }),
  },
  {
    name: 'PATCH organization_id (take over)',
    method: 'PATCH',
    path: (id) => `/api/v1/datasets/${id}`,
    body: () => ({ organization_id: orgB, visibility: 'private' }),
  },
  { name: 'DELETE', method: 'DELETE', path: (id) => `/api/v1/datasets/${id}` },
  {
    name: 'create version',
    method: 'POST',
    path: (id) => `/api/v1/datasets/${id}/versions`,
    body: () => ({ note: 'x' }),
  },
  {
    name: 'upload URLs',
    method: 'POST',
    path: (id) => `/api/v1/datasets/${id}/uploads`,
    body: () => ({ files: [{ path: 'images/evil.png' }] }),
  },
  {
    name: 'complete uploads',
    method: 'POST',
    path: (id) => `/api/v1/datasets/${id}/uploads/complete`,
    body: () => ({}),
  },
];

/** Console procedures that write a dataset (admin scope); each returns a promise of the call. */
const CONSOLE_WRITES: Array<{
  name: string;
  call: (c: ReturnType<typeof caller>, id: string) => Promise<unknown>;
}> = [
  { name: 'grant', call: (c, id) => c.datasets.grant({ dataset_id: id, user_id: 77, role: 'editor' }) },
  {
    name: 'revoke permission',
    call: (c, id) => c.datasets.revokePermission({ dataset_id: id, user_id: 55 }),
  },
  { name: 'adopt storage', call: (c, id) => c.files.adoptExisting({ dataset_id: id }) },
  { name: 'build archive', call: (c, id) => c.files.buildArchive({ dataset_id: id }) },
  {
    name: 'annotation project',
    call: (c, id) =>
      c.annotation.create({
        dataset_id: id,
        backend_instance_id: backendId,
        name: 'steal',
        label_schema: LABEL_SCHEMA,
      }),
  },
  { name: 'update', call: (c, id) => c.datasets.update({ dataset_id: id, name: 'mine now' }) },
];

/** The refusal an org-scoped caller gets: 404 when it cannot see the dataset, 403 when it can (public). */
const refusal = (visibility: 'public' | 'private') =>
  visibility === 'public'
    ? { status: 403, code: 'ACCESS_DENIED' }
    : { status: 404, code: 'DATASET_NOT_FOUND' };

describe('item 1: another organization cannot write a dataset', () => {
  for (const visibility of ['public', 'private'] as const) {
    for (const write of REST_WRITES) {
      it(`${write.name} of org A's ${visibility} dataset by org B's key and admin → refused, unchanged`, async () => {
        const ds = await seed(visibility);
        const before = await asOrgA(ds.id);
        for (const key of ['bWriter', 'bAdmin']) {
          const res = await server.request(write.path(ds.id), {
            method: write.method,
            token: keys[key]!,
            ...(write.body ? { body: write.body() } : {}),
          });
          const expected = refusal(visibility);
          expect(res.status, `${key}: ${res.text}`).toBe(expected.status);
          expectEnvelope(res.body, expected.code);
        }
        expect(await asOrgA(ds.id)).toEqual(before);
      });
    }
    for (const write of CONSOLE_WRITES) {
      it(`console ${write.name} on org A's ${visibility} dataset by org B's admin → refused, unchanged`, async () => {
        const ds = await seed(visibility);
        await server.services.datasets.grant(ds.id, 55, 'viewer', SYSTEM_ACTOR);
        const before = await asOrgA(ds.id);
        const expected = refusal(visibility);
        await expect(write.call(caller(await principalOf('bAdmin')), ds.id)).rejects.toMatchObject({
          cause: { code: expected.code, status: expected.status },
        });
        expect(await asOrgA(ds.id)).toEqual(before);
      });
    }
  }

  it("org A's datasets:write key writes its own datasets (every REST write)", async () => {
    for (const visibility of ['public', 'private'] as const) {
      const ds = await seed(visibility);
      const expected: Record<string, number> = {
        PATCH: 200,
        'create version': 201,
        'upload URLs': 200,
        'complete uploads': 202,
        DELETE: 200,
      };
      for (const write of REST_WRITES.filter((w) => w.name in expected).sort(
        (x, y) => Number(x.name === 'DELETE') - Number(y.name === 'DELETE'),
      )) {
        const res = await server.request(write.path(ds.id), {
          method: write.method,
          token: keys.aWriter!,
          ...(write.body ? { body: write.body() } : {}),
        });
        expect(res.status, `${write.name}: ${res.text}`).toBe(expected[write.name]);
      }
    }
  });

  it("org A's admin runs the console writes on its own dataset", async () => {
    const ds = await seed('private');
    await server.services.datasets.grant(ds.id, 55, 'viewer', SYSTEM_ACTOR);
    const c = caller(await principalOf('aAdmin'));
    for (const write of CONSOLE_WRITES) await expect(write.call(c, ds.id), write.name).resolves.toBeTruthy();
  });

  it('a platform-wide admin writes any organization’s dataset and may move it between organizations', async () => {
    const ds = await seed('private');
    const patched = await server.request(`/api/v1/datasets/${ds.id}`, {
      method: 'PATCH',
      body: { description: 'by the operator' },
    });
    expect(patched.status, patched.text).toBe(200);
    const moved = await server.request(`/api/v1/datasets/${ds.id}`, {
      method: 'PATCH',
      body: { organization_id: orgB },
    });
    expect(moved.status, moved.text).toBe(200);
    expect((await server.request(`/api/v1/datasets/${ds.id}`, { token: keys.aWriter! })).status).toBe(404);
    expect((await server.request(`/api/v1/datasets/${ds.id}`, { token: keys.bWriter! })).status).toBe(200);
    const unknown = await server.request(`/api/v1/datasets/${ds.id}`, {
      method: 'PATCH',
      body: { organization_id: 'org_doesnotexist00' },
    });
    expect(unknown.status, unknown.text).toBe(404);
    expectEnvelope(unknown.body, 'NOT_FOUND');
  });

  it('an organization key cannot move its own dataset out of its organization', async () => {
    const ds = await seed('private');
    const before = await asOrgA(ds.id);
    for (const organization_id of [orgB, null]) {
      const res = await server.request(`/api/v1/datasets/${ds.id}`, {
        method: 'PATCH',
        token: keys.aWriter!,
        body: { organization_id },
      });
      expect(res.status, res.text).toBe(403);
      expectEnvelope(res.body, 'ACCESS_DENIED');
    }
    expect(await asOrgA(ds.id)).toEqual(before);
    const same = await server.request(`/api/v1/datasets/${ds.id}`, {
      method: 'PATCH',
      token: keys.aWriter!,
      body: { organization_id: orgA, description: 'still ours' },
    });
    expect(same.status, same.text).toBe(200);
  });

  it('POST /datasets: an organization key creates only in its own organization', async () => {
    const em = () => server.services.orm.em.fork();
    const foreign = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: keys.bWriter!,
      body: { name: 'planted-in-a', format: 'coco', owner_id: 1, organization_id: orgA },
    });
    expect(foreign.status, foreign.text).toBe(403);
    expectEnvelope(foreign.body, 'ACCESS_DENIED');
    const platformWide = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: keys.bWriter!,
      body: { name: 'planted-nowhere', format: 'coco', owner_id: 1, organization_id: null },
    });
    expect(platformWide.status, platformWide.text).toBe(403);
    expect(await em().count(Dataset, { name: { $in: ['planted-in-a', 'planted-nowhere'] } })).toBe(0);

    const own = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: keys.bWriter!,
      body: { name: 'b-own', format: 'coco', owner_id: 1, visibility: 'private' },
    });
    expect(own.status, own.text).toBe(201);
    const id = (own.body as { id: string }).id;
    expect((await em().findOneOrFail(Dataset, { id })).organizationId).toBe(orgB);
    expect((await server.request(`/api/v1/datasets/${id}`, { token: keys.aWriter! })).status).toBe(404);

    const unknown = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: { name: 'nowhere', format: 'coco', owner_id: 1, organization_id: 'org_doesnotexist00' },
    });
    expect(unknown.status, unknown.text).toBe(404);
    expectEnvelope(unknown.body, 'NOT_FOUND');
  });
});

describe('item 10: scope checks and tenant checks on reads the probe found open', () => {
  it('files.list needs datasets:read', async () => {
    const ds = await seed('public');
    const dl = await server.services.serviceAccounts.authenticate(keys.downloadOnly!);
    await expect(caller(dl).files.list({ dataset_id: ds.id })).rejects.toMatchObject({
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
    const reader = await server.services.serviceAccounts.authenticate(keys.readOnly!);
    await expect(caller(reader).files.list({ dataset_id: ds.id })).resolves.toMatchObject({ total: 0 });
  });

  it('datasets.permissionsList needs datasets:permissions and a visible dataset', async () => {
    const ds = await seed('private');
    await server.services.datasets.grant(ds.id, 55, 'viewer', SYSTEM_ACTOR);
    const reader = await server.services.serviceAccounts.authenticate(keys.readOnly!);
    await expect(caller(reader).datasets.permissionsList({ dataset_id: ds.id })).rejects.toMatchObject({
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
    await expect(
      caller(await principalOf('bWriter')).datasets.permissionsList({ dataset_id: ds.id }),
    ).rejects.toMatchObject({ cause: { code: 'DATASET_NOT_FOUND' } });
    const own = await createOrgServiceAccount(server, orgA, ['datasets:permissions'], 'a-perm');
    const principal = await server.services.serviceAccounts.authenticate(own.api_key);
    const listed = await caller(principal).datasets.permissionsList({ dataset_id: ds.id });
    expect(listed.permissions.map((p) => p.user_id)).toEqual([55]);
  });

  it("jobs.get: another organization's key or admin cannot read a job of org A's private dataset", async () => {
    const priv = await seed('private');
    const pub = await seed('public');
    const hidden = (await server.services.storageFiles.startArchiveBuild(priv.id, 1, 'sa_someone_else')).job;
    const shared = (await server.services.storageFiles.startArchiveBuild(pub.id, 1, 'sa_someone_else')).job;
    for (const key of ['bWriter', 'bAdmin']) {
      const res = await server.request(`/api/v1/jobs/${hidden.id}`, { token: keys[key]! });
      expect(res.status, `${key}: ${res.text}`).toBe(404);
      expectEnvelope(res.body, 'JOB_NOT_FOUND');
    }
    // The archive job of a dataset the caller may download is what download-url hands out.
    expect((await server.request(`/api/v1/jobs/${shared.id}`, { token: keys.bWriter! })).status).toBe(200);
    expect((await server.request(`/api/v1/jobs/${hidden.id}`, { token: keys.aDownloader! })).status).toBe(
      200,
    );
    expect((await server.request(`/api/v1/jobs/${hidden.id}`, { token: keys.aAdmin! })).status).toBe(200);
    expect((await server.request(`/api/v1/jobs/${hidden.id}`)).status).toBe(200);
    // A job whose dataset an organization's admin cannot see (here: none by that id) stays hidden from it.
    const other = (
      await server.services.jobs.startJob('dataset.adopt-files', { dataset_id: 'ds_0000000000000000' })
    ).job;
    expect((await server.request(`/api/v1/jobs/${other.id}`, { token: keys.aAdmin! })).status).toBe(404);
  });

  it('plugin-instance procedures with an unknown id → 404 PLUGIN_INSTANCE_NOT_FOUND, never 500', async () => {
    const admin = caller(SYSTEM_ACTOR);
    const id = 'pi_0000000000000000';
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['setDefault', () => admin.plugins.setDefault({ id })],
      ['remove', () => admin.plugins.remove({ id })],
      ['checkHealth', () => admin.plugins.checkHealth({ id })],
      ['get', () => admin.plugins.get({ id })],
      ['update', () => admin.plugins.update({ id, name: 'x' })],
      ['test', () => admin.plugins.test({ plugin_id: 'label-studio', config: {}, instance_id: id })],
    ];
    for (const [name, call] of calls) {
      await expect(call(), name).rejects.toMatchObject({
        cause: { code: 'PLUGIN_INSTANCE_NOT_FOUND', status: 404 },
      });
    }
    const rest = await server.request('/trpc/plugins.setDefault', { method: 'POST', body: { id } });
    expect(rest.status, rest.text).toBe(404);
  });
});

describe('item 13: organization-scoped service accounts through the API', () => {
  it('a platform-wide admin creates a key in an organization; the key acts there', async () => {
    const res = await server.request('/api/v1/auth/service-accounts', {
      method: 'POST',
      body: {
        service_name: 'org-a-platform',
        scopes: ['datasets:read', 'datasets:write'],
        organization_id: orgA,
      },
    });
    expect(res.status, res.text).toBe(201);
    const created = res.body as { service_account_id: string; api_key: string; organization_id: string };
    expect(created.organization_id).toBe(orgA);
    const own = await seed('private');
    expect((await server.request(`/api/v1/datasets/${own.id}`, { token: created.api_key })).status).toBe(200);
    const bPrivate = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: keys.bWriter!,
      body: { name: 'b-secret', format: 'coco', owner_id: 1, visibility: 'private' },
    });
    const bPublic = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: keys.bWriter!,
      body: { name: 'b-open', format: 'coco', owner_id: 1, visibility: 'public' },
    });
    const bPrivateId = (bPrivate.body as { id: string }).id;
    const bPublicId = (bPublic.body as { id: string }).id;
    expect((await server.request(`/api/v1/datasets/${bPrivateId}`, { token: created.api_key })).status).toBe(
      404,
    );
    expect((await server.request(`/api/v1/datasets/${bPublicId}`, { token: created.api_key })).status).toBe(
      200,
    );
    const write = await server.request(`/api/v1/datasets/${bPublicId}`, {
      method: 'PATCH',
      token: created.api_key,
      body: { description: 'nope' },
    });
    expect(write.status, write.text).toBe(403);

    const listed = await server.request('/api/v1/auth/service-accounts');
    const row = (
      listed.body as { service_accounts: Array<{ id: string; organization_id: string | null }> }
    ).service_accounts.find((s) => s.id === created.service_account_id);
    expect(row?.organization_id).toBe(orgA);
  });

  it('unknown organization → 404 NOT_FOUND, nothing created', async () => {
    const res = await server.request('/api/v1/auth/service-accounts', {
      method: 'POST',
      body: { service_name: 'ghost-org', scopes: ['datasets:read'], organization_id: 'org_doesnotexist00' },
    });
    expect(res.status, res.text).toBe(404);
    expectEnvelope(res.body, 'NOT_FOUND');
    const listed = await server.request('/api/v1/auth/service-accounts');
    const names = (listed.body as { service_accounts: Array<{ name: string }> }).service_accounts.map(
      (s) => s.name,
    );
    expect(names).not.toContain('ghost-org');
  });

  it("an organization's admin creates keys only in its own organization and lists only those", async () => {
    const own = await server.request('/api/v1/auth/service-accounts', {
      method: 'POST',
      token: keys.aAdmin!,
      body: { service_name: 'a-made', scopes: ['datasets:read'] },
    });
    expect(own.status, own.text).toBe(201);
    expect((own.body as { organization_id: string }).organization_id).toBe(orgA);
    for (const organization_id of [orgB, null]) {
      const res = await server.request('/api/v1/auth/service-accounts', {
        method: 'POST',
        token: keys.aAdmin!,
        body: { service_name: 'a-made-elsewhere', scopes: ['datasets:read'], organization_id },
      });
      expect(res.status, res.text).toBe(403);
      expectEnvelope(res.body, 'ACCESS_DENIED');
    }
    const listed = await server.request('/api/v1/auth/service-accounts', { token: keys.aAdmin! });
    expect(listed.status, listed.text).toBe(200);
    const rows = (
      listed.body as { service_accounts: Array<{ name: string; organization_id: string | null }> }
    ).service_accounts;
    expect(rows.map((r) => r.name)).toContain('a-made');
    expect(rows.map((r) => r.name)).not.toContain('a-made-elsewhere');
    expect(new Set(rows.map((r) => r.organization_id))).toEqual(new Set([orgA]));
    // Another organization's account is not there to revoke or rotate.
    const bId = (await server.services.serviceAccounts.list()).find((s) => s.name === 'b-writer')!.id;
    for (const action of ['revoke', 'rotate']) {
      const res = await server.request(`/api/v1/auth/service-accounts/${bId}/${action}`, {
        method: 'POST',
        token: keys.aAdmin!,
        body: {},
      });
      expect(res.status, `${action}: ${res.text}`).toBe(404);
      expectEnvelope(res.body, 'SERVICE_ACCOUNT_NOT_FOUND');
    }
  });
});

describe("other organizations' resources an organization's admin must not change", () => {
  it("annotation project writes on org A's project by org B's admin → refused, project untouched", async () => {
    const ds = await seed('public');
    const { project } = await server.services.annotation.create(
      { dataset_id: ds.id, backend_instance_id: backendId, name: 'a-project', label_schema: LABEL_SCHEMA },
      SYSTEM_ACTOR,
    );
    const before = await asOrgA(ds.id);
    const c = caller(await principalOf('bAdmin'));
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ensure', () => c.annotation.ensure({ project_id: project.id })],
      ['importTasks', () => c.annotation.importTasks({ project_id: project.id })],
      ['pull', () => c.annotation.pull({ project_id: project.id })],
      ['delete', () => c.annotation.delete({ project_id: project.id, delete_in_backend: false })],
    ];
    for (const [name, call] of calls)
      await expect(call(), name).rejects.toMatchObject({ cause: { code: 'ACCESS_DENIED', status: 403 } });
    const em = server.services.orm.em.fork();
    expect(await em.count(JobRecord, { payload: { project_id: project.id } })).toBe(0);
    expect((await em.findOneOrFail(AnnotationProject, { id: project.id })).externalId).toBeNull();
    expect(await asOrgA(ds.id)).toEqual(before);
    // Org A's own admin may.
    await expect(
      caller(await principalOf('aAdmin')).annotation.importTasks({ project_id: project.id }),
    ).resolves.toMatchObject({ project_id: project.id });
  });

  it("jobs: org B's admin cannot cancel, retry or list org A's jobs", async () => {
    const ds = await seed('private');
    const job = (await server.services.storageFiles.startArchiveBuild(ds.id, 1, 'sa_someone_else')).job;
    const b = caller(await principalOf('bAdmin'));
    await expect(b.jobs.cancel({ job_id: job.id })).rejects.toMatchObject({
      cause: { code: 'JOB_NOT_FOUND' },
    });
    await expect(b.jobs.retry({ job_id: job.id })).rejects.toMatchObject({
      cause: { code: 'JOB_NOT_FOUND' },
    });
    expect((await b.jobs.list({ limit: 200 })).jobs.map((j) => j.id)).not.toContain(job.id);
    expect((await b.jobs.progress({ ids: [job.id] })).jobs).toEqual([]);
    expect((await server.services.jobs.get(job.id)).state).toBe('queued');
    const a = caller(await principalOf('aAdmin'));
    expect((await a.jobs.list({ limit: 200 })).jobs.map((j) => j.id)).toContain(job.id);
    await expect(a.jobs.cancel({ job_id: job.id })).resolves.toMatchObject({ state: 'cancelled' });
  });

  it("plugin instances are the platform's: an organization's admin cannot create or change them", async () => {
    const b = caller(await principalOf('bAdmin'));
    const before = await server.services.plugins.view(backendId);
    const calls: Array<[string, () => Promise<unknown>]> = [
      [
        'create',
        () => b.plugins.create({ plugin_id: 'label-studio', name: 'mine', config: { url: sim.url } }),
      ],
      ['update', () => b.plugins.update({ id: backendId, name: 'renamed' })],
      ['setDefault', () => b.plugins.setDefault({ id: backendId })],
      ['remove', () => b.plugins.remove({ id: backendId })],
    ];
    for (const [name, call] of calls)
      await expect(call(), name).rejects.toMatchObject({ cause: { code: 'ACCESS_DENIED', status: 403 } });
    expect(await server.services.plugins.view(backendId)).toEqual(before);
  });

  it("organizations: an organization's admin sees and manages only its own", async () => {
    const b = caller(await principalOf('bAdmin'));
    await expect(b.organizations.create({ name: 'New', slug: 'new-org' })).rejects.toMatchObject({
      cause: { code: 'ACCESS_DENIED' },
    });
    await expect(
      b.organizations.setMember({ organization_id: orgA, user_id: 9, role: 'admin' }),
    ).rejects.toMatchObject({ cause: { code: 'ACCESS_DENIED' } });
    await expect(b.organizations.removeMember({ organization_id: orgA, user_id: 9 })).rejects.toMatchObject({
      cause: { code: 'ACCESS_DENIED' },
    });
    expect((await b.organizations.list()).map((o) => o.id)).toEqual([orgB]);
    await expect(
      b.organizations.setMember({ organization_id: orgB, user_id: 9, role: 'member' }),
    ).resolves.toMatchObject({ organization_id: orgB, user_id: 9, role: 'member' });
    expect((await caller(SYSTEM_ACTOR).organizations.list()).map((o) => o.slug).sort()).toEqual([
      'org-a',
      'org-b',
    ]);
  });
});
