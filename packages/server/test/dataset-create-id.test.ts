import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import {
  createOrganization,
  createOrgServiceAccount,
  createServiceAccount,
  expectEnvelope,
} from './helpers.js';

/** POST /datasets with an explicit id: the Platform's legacy ids are kept by platform-wide admins only. */
describe('create a dataset with an explicit id', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const body = (id: string) => ({ id, name: 'legacy', format: 'coco', owner_id: 7, visibility: 'public' });

  it('a platform-wide admin keeps the id; GET answers it', async () => {
    const res = await server.request('/api/v1/datasets', { method: 'POST', body: body('ds_legacy0001') });
    expect(res.status, res.text).toBe(201);
    expect((res.body as { id: string }).id).toBe('ds_legacy0001');
    const got = await server.request('/api/v1/datasets/ds_legacy0001');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: 'ds_legacy0001',
      owner_id: 7,
      storage_path: 'datasets/ds_legacy0001/',
    });
  });

  it('an id that exists is 409 DATASET_ALREADY_EXISTS and changes nothing', async () => {
    const res = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: { ...body('ds_legacy0001'), name: 'other' },
    });
    expect(res.status).toBe(409);
    expectEnvelope(res.body, 'DATASET_ALREADY_EXISTS');
    const got = await server.request('/api/v1/datasets/ds_legacy0001');
    expect((got.body as { name: string }).name).toBe('legacy');
  });

  it('an id outside the ds_ pattern is a 400', async () => {
    for (const id of ['0b7c3f5e-1d2a-4c8e-9f00-aa11bb22cc33', 'DS_UPPER', 'ds_', 'ds_with-dash']) {
      const res = await server.request('/api/v1/datasets', { method: 'POST', body: body(id) });
      expect(res.status, id).toBe(400);
      expectEnvelope(res.body, 'VALIDATION_ERROR');
    }
  });

  it("an organization's admin key, or a platform-wide key without admin, sending an id is 403", async () => {
    const org = await createOrganization(server, 'acme-create-id');
    const orgKey = await createOrgServiceAccount(server, org, ['admin', 'datasets:write']);
    const writer = await createServiceAccount(server, ['datasets:write', 'datasets:read'], 'writer');
    for (const token of [orgKey.api_key, writer.api_key]) {
      const res = await server.request('/api/v1/datasets', {
        method: 'POST',
        body: { ...body('ds_legacy0002'), organization_id: token === orgKey.api_key ? org : null },
        token,
      });
      expect(res.status, res.text).toBe(403);
      expectEnvelope(res.body, 'ACCESS_DENIED');
    }
    expect((await server.request('/api/v1/datasets/ds_legacy0002')).status).toBe(404);
    // Without an id the same keys still create (a new random id).
    const res = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: { name: 'fresh', format: 'coco', owner_id: 7 },
      token: writer.api_key,
    });
    expect(res.status).toBe(201);
    expect((res.body as { id: string }).id).toMatch(/^ds_[0-9a-f]{16}$/);
  });
});
