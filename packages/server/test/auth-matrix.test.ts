import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServiceAccountKey } from '../src/modules/service-accounts/keys.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope, SYSTEM_ACTOR } from './helpers.js';

let server: TestServer;
let publicDs!: { id: string };
let privateDs!: { id: string };
const keys: Record<string, string> = {};

interface Route {
  name: string;
  method: string;
  path: () => string;
  body?: () => unknown;
  scope: 'datasets:read' | 'datasets:download' | 'datasets:permissions' | 'datasets:write' | 'admin';
}

const ROUTES: Route[] = [
  {
    name: 'get dataset',
    method: 'GET',
    path: () => `/api/v1/datasets/${privateDs.id}`,
    scope: 'datasets:read',
  },
  { name: 'list datasets', method: 'GET', path: () => '/api/v1/datasets', scope: 'datasets:read' },
  {
    name: 'permission check',
    method: 'GET',
    path: () => `/api/v1/datasets/${privateDs.id}/permissions/5`,
    scope: 'datasets:permissions',
  },
  {
    name: 'download url',
    method: 'POST',
    path: () => `/api/v1/datasets/${privateDs.id}/download-url`,
    body: () => ({ expiration_seconds: 600 }),
    scope: 'datasets:download',
  },
  {
    name: 'batch',
    method: 'POST',
    path: () => '/api/v1/datasets/batch',
    body: () => ({ dataset_ids: [privateDs.id] }),
    scope: 'datasets:read',
  },
  {
    name: 'versions',
    method: 'GET',
    path: () => `/api/v1/datasets/${privateDs.id}/versions`,
    scope: 'datasets:read',
  },
  {
    name: 'create dataset',
    method: 'POST',
    path: () => '/api/v1/datasets',
    body: () => ({ name: 'x', format: 'coco', owner_id: 1 }),
    scope: 'datasets:write',
  },
  {
    name: 'update dataset',
    method: 'PATCH',
    path: () => `/api/v1/datasets/${privateDs.id}`,
    body: () => ({ description: 'changed' }),
    scope: 'datasets:write',
  },
  {
    name: 'create service account',
    method: 'POST',
    path: () => '/api/v1/auth/service-accounts',
    body: () => ({ service_name: 'x', scopes: ['datasets:read'] }),
    scope: 'admin',
  },
  {
    name: 'list service accounts',
    method: 'GET',
    path: () => '/api/v1/auth/service-accounts',
    scope: 'admin',
  },
];

beforeAll(async () => {
  server = await startTestServer();
  const org = await server.services.organizations.create('Acme', 'acme', SYSTEM_ACTOR);
  publicDs = await createDataset(server, { name: 'public', visibility: 'public', owner_id: 1 });
  privateDs = await createDataset(server, {
    name: 'private',
    visibility: 'private',
    owner_id: 1,
    organization_id: org.id,
  });
  const all = ['datasets:read', 'datasets:download', 'datasets:permissions', 'datasets:write'];
  keys.full = (await createServiceAccount(server, all, 'full')).api_key;
  keys.revoked = (await createServiceAccount(server, all, 'revoked')).api_key;
  keys.expired = (await createServiceAccount(server, all, 'expired')).api_key;
  keys.otherOrg = (await createServiceAccount(server, all, 'other-org')).api_key;
  const conn = server.services.orm.em.getConnection();
  await conn.execute(`update service_account set revoked_at = now() where name = 'revoked'`);
  await conn.execute(
    `update service_account set expires_at = now() - interval '1 minute' where name = 'expired'`,
  );
  await conn.execute(`update service_account set organization_id = 'org_other' where name = 'other-org'`);
  for (const scope of ['datasets:read', 'datasets:download', 'datasets:permissions', 'datasets:write']) {
    keys[scope] = (await createServiceAccount(server, [scope], `only-${scope}`)).api_key;
  }
});
afterAll(async () => server?.stop());

async function call(route: Route, headers: Record<string, string>) {
  return server.request(route.path(), {
    method: route.method,
    ...(route.body ? { body: route.body() } : {}),
    token: null,
    headers,
  });
}

describe('authorization matrix: every route × every credential problem', () => {
  const unknownKey = generateServiceAccountKey().key;
  const cases: Array<[string, () => Record<string, string>, string]> = [
    ['no key', () => ({}), 'UNAUTHENTICATED'],
    ['malformed key', () => ({ authorization: 'Bearer lbl_sa_tooshort' }), 'UNAUTHENTICATED'],
    ['malformed scheme', () => ({ authorization: 'Basic dXNlcjpwYXNz' }), 'UNAUTHENTICATED'],
    ['unknown key', () => ({ authorization: `Bearer ${unknownKey}` }), 'UNAUTHENTICATED'],
    ['revoked key', () => ({ authorization: `Bearer ${keys.revoked}` }), 'UNAUTHENTICATED'],
    ['expired key', () => ({ authorization: `Bearer ${keys.expired}` }), 'UNAUTHENTICATED'],
  ];
  for (const route of ROUTES) {
    for (const [label, headers, code] of cases) {
      it(`${route.name}: ${label} → 401 ${code}`, async () => {
        const res = await call(route, headers());
        expect(res.status).toBe(401);
        expectEnvelope(res.body, code);
      });
    }
    it(`${route.name}: wrong scope → 403 INSUFFICIENT_SCOPE`, async () => {
      const wrong = ['datasets:read', 'datasets:download', 'datasets:permissions', 'datasets:write'].find(
        (s) => s !== route.scope,
      )!;
      const res = await call(route, { authorization: `Bearer ${keys[wrong]}` });
      expect(res.status).toBe(403);
      const envelope = expectEnvelope(res.body, 'INSUFFICIENT_SCOPE');
      expect(envelope.error.details.required_scope).toBe(route.scope);
    });
    it(`${route.name}: the right scope is accepted`, async () => {
      const res = await call(route, {
        authorization: `Bearer ${route.scope === 'admin' ? server.adminToken : keys.full}`,
      });
      expect(res.status, res.text).toBeLessThan(400);
    });
  }

  it('another organization cannot see a private dataset: 404, never 403 (no existence leak)', async () => {
    for (const route of ROUTES.filter((r) => r.path().includes(privateDs.id) && r.scope !== 'admin')) {
      const res = await call(route, { authorization: `Bearer ${keys.otherOrg}` });
      expect(res.status, route.name).toBe(404);
      expectEnvelope(res.body, 'DATASET_NOT_FOUND');
    }
    const list = await call(ROUTES[1]!, { authorization: `Bearer ${keys.otherOrg}` });
    const ids = (list.body as { datasets: Array<{ id: string }> }).datasets.map((d) => d.id);
    expect(ids).toContain(publicDs.id);
    expect(ids).not.toContain(privateDs.id);
    const batch = await call(ROUTES[4]!, { authorization: `Bearer ${keys.otherOrg}` });
    expect((batch.body as { errors: Record<string, string> }).errors[privateDs.id]).toBe('Dataset not found');
  });

  it('revocation is immediate', async () => {
    const sa = await createServiceAccount(server, ['datasets:read'], 'to-revoke');
    expect((await server.request(`/api/v1/datasets/${publicDs.id}`, { token: sa.api_key })).status).toBe(200);
    const revoke = await server.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/revoke`, {
      method: 'POST',
      body: {},
    });
    expect(revoke.status, revoke.text).toBe(200);
    const after = await server.request(`/api/v1/datasets/${publicDs.id}`, { token: sa.api_key });
    expect(after.status).toBe(401);
    expect(expectEnvelope(after.body, 'UNAUTHENTICATED').error.details.reason).toBe('revoked');
  });

  it('rotation keeps the old key valid only inside the overlap window', async () => {
    const sa = await createServiceAccount(server, ['datasets:read'], 'to-rotate');
    const rotated = await server.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/rotate`, {
      method: 'POST',
      body: { overlap_seconds: 3600 },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const newKey = (rotated.body as { api_key: string }).api_key;
    expect(newKey).not.toBe(sa.api_key);
    expect((await server.request(`/api/v1/datasets/${publicDs.id}`, { token: sa.api_key })).status).toBe(200);
    expect((await server.request(`/api/v1/datasets/${publicDs.id}`, { token: newKey })).status).toBe(200);
    await server.services.orm.em
      .getConnection()
      .execute(
        `update service_account set previous_key_expires_at = now() - interval '1 second' where id = ?`,
        [sa.service_account_id],
      );
    // Labeler's own writes notify every process; a direct database edit has to say so itself.
    await server.services.serviceAccounts.invalidateKeys();
    expect((await server.request(`/api/v1/datasets/${publicDs.id}`, { token: sa.api_key })).status).toBe(401);
    expect((await server.request(`/api/v1/datasets/${publicDs.id}`, { token: newKey })).status).toBe(200);
  });
});

describe('the four permission reasons', () => {
  it('owner, explicit_permission, organization_member, public_dataset, no_access', async () => {
    const actor = SYSTEM_ACTOR;
    const org = await server.services.organizations.create('Org B', 'org-b', actor);
    await server.services.organizations.setMember(org.id, 21, 'member', actor);
    const orgDs = await createDataset(server, {
      name: 'org',
      visibility: 'organization',
      owner_id: 20,
      organization_id: org.id,
    });
    const privDs = await createDataset(server, { name: 'priv', visibility: 'private', owner_id: 20 });
    await server.services.datasets.grant(privDs.id, 22, 'editor', actor);
    const check = async (id: string, user: number) =>
      (await server.request(`/api/v1/datasets/${id}/permissions/${user}`, { token: keys.full })).body;
    expect(await check(privDs.id, 20)).toMatchObject({ has_access: true, role: 'owner', reason: 'owner' });
    expect(await check(privDs.id, 22)).toMatchObject({
      has_access: true,
      role: 'editor',
      reason: 'explicit_permission',
    });
    expect(await check(orgDs.id, 21)).toMatchObject({
      has_access: true,
      role: 'viewer',
      reason: 'organization_member',
    });
    expect(await check(publicDs.id, 99)).toMatchObject({
      has_access: true,
      role: 'viewer',
      reason: 'public_dataset',
    });
    expect(await check(privDs.id, 99)).toEqual({
      dataset_id: privDs.id,
      user_id: 99,
      has_access: false,
      role: null,
      reason: 'no_access',
    });
    expect(await check(orgDs.id, 99)).toMatchObject({ has_access: false, reason: 'no_access' });
  });
});
