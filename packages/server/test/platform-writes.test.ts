/**
 * The writes the Platform needs (issue 22): explicit dataset permissions and organization memberships
 * over REST (the same tRPC procedures the console calls), with their own scopes, the dataset write rule,
 * idempotency, audit rows, and a permission answer that reflects a write at once on every replica.
 * Two server processes share one database: writes go to A, reads to B, with no sleep in between.
 */
import type { Principal } from '@labeler/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEvent } from '../src/modules/audit/entities.js';
import { Membership } from '../src/modules/organizations/entities.js';
import { DatasetPermission } from '../src/modules/permissions/entities.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { appRouter } from '../src/trpc/app-router.js';
import { createInternalContext } from '../src/trpc/context.js';
import { createCallerFactory } from '../src/trpc/init.js';
import {
  createDataset,
  createOrganization,
  createOrgServiceAccount,
  expectEnvelope,
  SYSTEM_ACTOR,
} from './helpers.js';

let a: TestServer;
let b: TestServer;
let orgA: string;
let orgB: string;
const keys: Record<string, string> = {};

const PLATFORM_SCOPES = [
  'datasets:read',
  'datasets:permissions',
  'permissions:write',
  'memberships:write',
] as const satisfies ReadonlyArray<Principal['scopes'][number]>;

async function platformWideKey(scopes: Array<Principal['scopes'][number]>, name: string): Promise<string> {
  return (await a.services.serviceAccounts.create({ name, scopes, organizationId: null }, SYSTEM_ACTOR))
    .api_key;
}

beforeAll(async () => {
  const env = { LABELER_RATE_LIMIT_PER_ACCOUNT: '100000', LABELER_RATE_LIMIT_PER_DATASET: '100000' };
  a = await startTestServer({ env, workers: false });
  b = await startTestServer({ env, workers: false, databaseUrl: a.database!.url });
  orgA = await createOrganization(a, 'pw-org-a');
  orgB = await createOrganization(a, 'pw-org-b');
  keys.platform = await platformWideKey([...PLATFORM_SCOPES], 'platform');
  keys.noWrites = await platformWideKey(['datasets:read', 'datasets:write'], 'no-writes');
  keys.writesOnly = await platformWideKey(['permissions:write', 'memberships:write'], 'writes-only');
  keys.orgA = (await createOrgServiceAccount(a, orgA, [...PLATFORM_SCOPES], 'org-a')).api_key;
  keys.orgB = (await createOrgServiceAccount(a, orgB, [...PLATFORM_SCOPES], 'org-b')).api_key;
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

let seq = 0;
/** A dataset of org A (owner 1), created through server B's admin token (the last one booted). */
async function seed(visibility: 'public' | 'private' | 'organization') {
  seq += 1;
  return createDataset(b, {
    name: `pw-${visibility}-${seq}`,
    visibility,
    organization_id: orgA,
    owner_id: 1,
  });
}

type Server = TestServer;
const put = (s: Server, path: string, body: unknown, key = keys.platform!) =>
  s.request(`/api/v1${path}`, { method: 'PUT', body, token: key });
const del = (s: Server, path: string, key = keys.platform!) =>
  s.request(`/api/v1${path}`, { method: 'DELETE', token: key });
const get = (s: Server, path: string, key = keys.platform!) => s.request(`/api/v1${path}`, { token: key });

async function auditRows(action: string, targetId: string, userId: number) {
  const rows = await a.services.orm.em
    .fork()
    .find(AuditEvent, { action, targetId }, { orderBy: { at: 'asc' } });
  return rows.filter((r) => r.details.user_id === userId);
}

async function permissionRows(datasetId: string) {
  const rows = await a.services.orm.em
    .fork()
    .find(DatasetPermission, { datasetId }, { orderBy: { userId: 'asc' } });
  return rows.map((p) => [p.userId, p.role]);
}

async function memberRows(organizationId: string) {
  const rows = await a.services.orm.em
    .fork()
    .find(Membership, { organizationId }, { orderBy: { userId: 'asc' } });
  return rows.map((m) => [m.userId, m.role]);
}

describe('PUT/DELETE /datasets/{id}/permissions/{user_id}', () => {
  it('grants, answers the same when repeated, changes the role, and audits each change once', async () => {
    const ds = await seed('private');
    const first = await put(a, `/datasets/${ds.id}/permissions/42`, { role: 'viewer' });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ dataset_id: ds.id, user_id: 42, role: 'viewer' });
    expect(Object.keys(first.body as object).sort()).toEqual([
      'created_at',
      'dataset_id',
      'granted_by',
      'role',
      'user_id',
    ]);
    const again = await put(a, `/datasets/${ds.id}/permissions/42`, { role: 'viewer' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await permissionRows(ds.id)).toEqual([[42, 'viewer']]);
    expect(await auditRows('dataset.permission_granted', ds.id, 42)).toHaveLength(1);

    const editor = await put(a, `/datasets/${ds.id}/permissions/42`, { role: 'editor' });
    expect(editor.status).toBe(200);
    expect(editor.body).toMatchObject({
      role: 'editor',
      created_at: (first.body as { created_at: string }).created_at,
    });
    const audits = await auditRows('dataset.permission_granted', ds.id, 42);
    expect(audits.map((r) => [r.details.role, r.details.previous_role])).toEqual([
      ['viewer', null],
      ['editor', 'viewer'],
    ]);
    expect(audits.every((r) => r.organizationId === orgA && r.actorKind === 'service_account')).toBe(true);

    const listed = await get(b, `/datasets/${ds.id}/permissions`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toMatchObject({ permissions: [{ user_id: 42, role: 'editor' }] });
  });

  it('revokes: removed true, then false on a repeat; one audit row', async () => {
    const ds = await seed('public');
    await put(a, `/datasets/${ds.id}/permissions/43`, { role: 'editor' });
    const removed = await del(a, `/datasets/${ds.id}/permissions/43`);
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body).toEqual({ dataset_id: ds.id, user_id: 43, removed: true });
    const again = await del(a, `/datasets/${ds.id}/permissions/43`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ dataset_id: ds.id, user_id: 43, removed: false });
    expect(await permissionRows(ds.id)).toEqual([]);
    expect(await auditRows('dataset.permission_revoked', ds.id, 43)).toHaveLength(1);
  });

  it('concurrent identical grants leave one row and one audit row', async () => {
    const ds = await seed('private');
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        put(i % 2 ? a : b, `/datasets/${ds.id}/permissions/44`, { role: 'viewer' }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(answers.map((r) => r.text)).size).toBe(1);
    expect(await permissionRows(ds.id)).toEqual([[44, 'viewer']]);
    expect(await auditRows('dataset.permission_granted', ds.id, 44)).toHaveLength(1);
  });

  it('an Idempotency-Key repeat replays the same answer', async () => {
    const ds = await seed('private');
    const init = {
      method: 'PUT',
      body: { role: 'viewer' },
      token: keys.platform!,
      headers: { 'Idempotency-Key': `grant-${ds.id}` },
    };
    const first = await a.request(`/api/v1/datasets/${ds.id}/permissions/45`, init);
    const second = await b.request(`/api/v1/datasets/${ds.id}/permissions/45`, init);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toEqual(first.body);
    expect(await permissionRows(ds.id)).toEqual([[45, 'viewer']]);
  });

  it('needs permissions:write (403 INSUFFICIENT_SCOPE, unchanged), even with datasets:write', async () => {
    const ds = await seed('public');
    await put(a, `/datasets/${ds.id}/permissions/46`, { role: 'viewer' });
    for (const res of [
      await put(a, `/datasets/${ds.id}/permissions/46`, { role: 'owner' }, keys.noWrites),
      await put(a, `/datasets/${ds.id}/permissions/47`, { role: 'owner' }, keys.noWrites),
      await del(a, `/datasets/${ds.id}/permissions/46`, keys.noWrites),
    ]) {
      expect(res.status, res.text).toBe(403);
      expect(expectEnvelope(res.body, 'INSUFFICIENT_SCOPE').error.details).toMatchObject({
        required_scope: 'permissions:write',
      });
    }
    const list = await get(a, `/datasets/${ds.id}/permissions`, keys.writesOnly);
    expect(list.status).toBe(403);
    expect(expectEnvelope(list.body, 'INSUFFICIENT_SCOPE').error.details).toMatchObject({
      required_scope: 'datasets:permissions',
    });
    expect(await permissionRows(ds.id)).toEqual([[46, 'viewer']]);
  });

  it("another organization's key: 404 on a private dataset, 403 on a public one; its own organization's key writes", async () => {
    for (const [visibility, status, code] of [
      ['private', 404, 'DATASET_NOT_FOUND'],
      ['public', 403, 'ACCESS_DENIED'],
    ] as const) {
      const ds = await seed(visibility);
      await put(a, `/datasets/${ds.id}/permissions/48`, { role: 'viewer' });
      for (const res of [
        await put(a, `/datasets/${ds.id}/permissions/48`, { role: 'owner' }, keys.orgB),
        await put(a, `/datasets/${ds.id}/permissions/49`, { role: 'owner' }, keys.orgB),
        await del(a, `/datasets/${ds.id}/permissions/48`, keys.orgB),
      ]) {
        expect(res.status, `${visibility}: ${res.text}`).toBe(status);
        expectEnvelope(res.body, code);
      }
      expect(await permissionRows(ds.id)).toEqual([[48, 'viewer']]);
      const own = await put(a, `/datasets/${ds.id}/permissions/49`, { role: 'editor' }, keys.orgA);
      expect(own.status, own.text).toBe(200);
      expect((await del(a, `/datasets/${ds.id}/permissions/48`, keys.orgA)).body).toMatchObject({
        removed: true,
      });
      expect(await permissionRows(ds.id)).toEqual([[49, 'editor']]);
    }
  });

  it('bad input is a 400 or 404 envelope, never a 500', async () => {
    const ds = await seed('private');
    const cases = [
      [await put(a, `/datasets/${ds.id}/permissions/50`, { role: 'superuser' }), 400, 'VALIDATION_ERROR'],
      [await put(a, `/datasets/${ds.id}/permissions/50`, {}), 400, 'VALIDATION_ERROR'],
      [await put(a, `/datasets/${ds.id}/permissions/abc`, { role: 'viewer' }), 400, 'VALIDATION_ERROR'],
      [await put(a, `/datasets/${ds.id}/permissions/-1`, { role: 'viewer' }), 400, 'VALIDATION_ERROR'],
      [await del(a, `/datasets/${ds.id}/permissions/99999999999`), 400, 'VALIDATION_ERROR'],
      [
        await put(a, '/datasets/ds_0000000000000000/permissions/50', { role: 'viewer' }),
        404,
        'DATASET_NOT_FOUND',
      ],
    ] as const;
    for (const [res, status, code] of cases) {
      expect(res.status, res.text).toBe(status);
      expectEnvelope(res.body, code);
    }
    expect(await permissionRows(ds.id)).toEqual([]);
  });
});

describe('PUT/DELETE/GET /organizations/{id}/members', () => {
  it('adds, answers the same when repeated, changes the role, removes; audited once per change', async () => {
    const first = await put(a, `/organizations/${orgA}/members/60`, { role: 'member' });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ organization_id: orgA, user_id: 60, role: 'member' });
    expect((await put(b, `/organizations/${orgA}/members/60`, { role: 'member' })).body).toEqual(first.body);
    const admin = await put(a, `/organizations/${orgA}/members/60`, { role: 'admin' });
    expect(admin.body).toMatchObject({ role: 'admin' });
    expect(await memberRows(orgA)).toContainEqual([60, 'admin']);

    const listed = await get(b, `/organizations/${orgA}/members`);
    expect(listed.status, listed.text).toBe(200);
    expect((listed.body as { members: unknown[] }).members).toContainEqual(admin.body);

    expect((await del(a, `/organizations/${orgA}/members/60`)).body).toEqual({
      organization_id: orgA,
      user_id: 60,
      removed: true,
    });
    expect((await del(b, `/organizations/${orgA}/members/60`)).body).toMatchObject({ removed: false });
    expect(await memberRows(orgA)).not.toContainEqual([60, 'admin']);
    const sets = await auditRows('organization.member_set', orgA, 60);
    expect(sets.map((r) => [r.details.role, r.details.previous_role])).toEqual([
      ['member', null],
      ['admin', 'member'],
    ]);
    expect(await auditRows('organization.member_removed', orgA, 60)).toHaveLength(1);
  });

  it('role defaults to member', async () => {
    const res = await put(a, `/organizations/${orgA}/members/61`, {});
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ role: 'member' });
  });

  it('needs memberships:write to write and datasets:permissions to list', async () => {
    for (const res of [
      await put(a, `/organizations/${orgA}/members/62`, { role: 'admin' }, keys.noWrites),
      await del(a, `/organizations/${orgA}/members/61`, keys.noWrites),
    ]) {
      expect(res.status, res.text).toBe(403);
      expect(expectEnvelope(res.body, 'INSUFFICIENT_SCOPE').error.details).toMatchObject({
        required_scope: 'memberships:write',
      });
    }
    const list = await get(a, `/organizations/${orgA}/members`, keys.writesOnly);
    expect(list.status).toBe(403);
    expectEnvelope(list.body, 'INSUFFICIENT_SCOPE');
    expect(await memberRows(orgA)).not.toContainEqual([62, 'admin']);
  });

  it("an organization's key acts in its own organization only; an unknown organization is 404", async () => {
    const before = await memberRows(orgA);
    for (const res of [
      await put(a, `/organizations/${orgA}/members/63`, { role: 'admin' }, keys.orgB),
      await del(a, `/organizations/${orgA}/members/61`, keys.orgB),
      await get(a, `/organizations/${orgA}/members`, keys.orgB),
    ]) {
      expect(res.status, res.text).toBe(403);
      expectEnvelope(res.body, 'ACCESS_DENIED');
    }
    expect(await memberRows(orgA)).toEqual(before);
    const own = await put(a, `/organizations/${orgB}/members/63`, { role: 'admin' }, keys.orgB);
    expect(own.status, own.text).toBe(200);
    expect(
      ((await get(a, `/organizations/${orgB}/members`, keys.orgB)).body as { members: unknown[] }).members,
    ).toEqual([own.body]);
    for (const res of [
      await put(a, '/organizations/org_missing/members/63', { role: 'admin' }),
      await del(a, '/organizations/org_missing/members/63'),
      await get(a, '/organizations/org_missing/members'),
    ]) {
      expect(res.status, res.text).toBe(404);
      expectEnvelope(res.body, 'NOT_FOUND');
    }
    const bad = await put(a, `/organizations/${orgA}/members/64`, { role: 'owner' });
    expect(bad.status).toBe(400);
    expectEnvelope(bad.body, 'VALIDATION_ERROR');
  });
});

describe('the permission answer reflects a write at once on every replica', () => {
  const check = async (datasetId: string, userId: number) => {
    const res = await get(b, `/datasets/${datasetId}/permissions/${userId}`);
    expect(res.status, res.text).toBe(200);
    const { has_access, role, reason } = res.body as Record<string, unknown>;
    return { has_access, role, reason };
  };

  it('grant and revoke on A → B answers the new state at once', async () => {
    const ds = await seed('private');
    const none = { has_access: false, role: null, reason: 'no_access' };
    // Read first on B (and repeat it), so any per-process cache would hold the old answer.
    expect(await check(ds.id, 70)).toEqual(none);
    expect(await check(ds.id, 70)).toEqual(none);
    await put(a, `/datasets/${ds.id}/permissions/70`, { role: 'editor' });
    expect(await check(ds.id, 70)).toEqual({
      has_access: true,
      role: 'editor',
      reason: 'explicit_permission',
    });
    await put(a, `/datasets/${ds.id}/permissions/70`, { role: 'viewer' });
    expect(await check(ds.id, 70)).toEqual({
      has_access: true,
      role: 'viewer',
      reason: 'explicit_permission',
    });
    await del(a, `/datasets/${ds.id}/permissions/70`);
    expect(await check(ds.id, 70)).toEqual(none);
  });

  it('membership add, role change and removal on A → B answers the new state at once', async () => {
    const ds = await seed('organization');
    const none = { has_access: false, role: null, reason: 'no_access' };
    expect(await check(ds.id, 71)).toEqual(none);
    expect(await check(ds.id, 71)).toEqual(none);
    await put(a, `/organizations/${orgA}/members/71`, { role: 'member' });
    expect(await check(ds.id, 71)).toEqual({
      has_access: true,
      role: 'viewer',
      reason: 'organization_member',
    });
    await put(a, `/organizations/${orgA}/members/71`, { role: 'admin' });
    expect(await check(ds.id, 71)).toEqual({
      has_access: true,
      role: 'editor',
      reason: 'organization_member',
    });
    await del(a, `/organizations/${orgA}/members/71`);
    expect(await check(ds.id, 71)).toEqual(none);
  });
});

describe('tRPC: the same procedures', () => {
  const caller = async (key: string) =>
    createCallerFactory(appRouter)(
      createInternalContext(a.services, await a.services.serviceAccounts.authenticate(key)),
    );

  it('an organization key with the new scopes (no admin) grants, revokes and sets members over tRPC', async () => {
    const ds = await seed('private');
    const c = await caller(keys.orgA!);
    await expect(c.datasets.grant({ dataset_id: ds.id, user_id: 80, role: 'viewer' })).resolves.toMatchObject(
      {
        dataset_id: ds.id,
        user_id: 80,
        role: 'viewer',
      },
    );
    expect((await c.datasets.permissionsList({ dataset_id: ds.id })).permissions).toMatchObject([
      { user_id: 80, role: 'viewer' },
    ]);
    await expect(c.datasets.revokePermission({ dataset_id: ds.id, user_id: 80 })).resolves.toMatchObject({
      removed: true,
    });
    await expect(
      c.organizations.setMember({ organization_id: orgA, user_id: 81, role: 'admin' }),
    ).resolves.toMatchObject({
      role: 'admin',
    });
    expect((await c.organizations.members({ organization_id: orgA })).members).toContainEqual(
      expect.objectContaining({ user_id: 81, role: 'admin' }),
    );
    const other = await caller(keys.noWrites!);
    await expect(
      other.datasets.grant({ dataset_id: ds.id, user_id: 80, role: 'viewer' }),
    ).rejects.toMatchObject({
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
    await expect(
      other.organizations.removeMember({ organization_id: orgA, user_id: 81 }),
    ).rejects.toMatchObject({
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
    expect(await permissionRows(ds.id)).toEqual([]);
    expect(await memberRows(orgA)).toContainEqual([81, 'admin']);
  });
});

describe('OpenAPI document', () => {
  it('describes every new route with its tag', async () => {
    const doc = (await a.request('/api/v1/openapi.json')).body as {
      paths: Record<
        string,
        Record<
          string,
          {
            tags?: string[];
            responses: Record<string, unknown>;
            requestBody?: {
              content: Record<string, { schema?: { properties?: Record<string, { enum?: string[] }> } }>;
            };
          }
        >
      >;
    };
    const expected: Array<[string, string, string]> = [
      ['/datasets/{dataset_id}/permissions', 'get', 'Datasets'],
      ['/datasets/{dataset_id}/permissions/{user_id}', 'put', 'Datasets'],
      ['/datasets/{dataset_id}/permissions/{user_id}', 'delete', 'Datasets'],
      ['/organizations/{organization_id}/members', 'get', 'Organizations'],
      ['/organizations/{organization_id}/members/{user_id}', 'put', 'Organizations'],
      ['/organizations/{organization_id}/members/{user_id}', 'delete', 'Organizations'],
    ];
    for (const [path, method, tag] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op!.tags).toEqual([tag]);
      expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['200', '403', '404']));
    }
    for (const [path, roles] of [
      ['/datasets/{dataset_id}/permissions/{user_id}', ['owner', 'editor', 'viewer']],
      ['/organizations/{organization_id}/members/{user_id}', ['admin', 'member']],
    ] as const) {
      const body = doc.paths[path]!.put!.requestBody?.content['application/json']?.schema;
      expect(body?.properties?.role?.enum, path).toEqual(roles);
    }
  });
});
