import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount } from './helpers.js';

/**
 * The Platform's hot REST routes are served by a fast lane (http/platform-lane.ts) instead of the generic
 * express → trpc-to-openapi → tRPC path. Both run on one database here, one with the lane and one
 * without, and every request below must get the same answer from each: status, body (apart from the
 * error timestamp and request id) and the headers clients rely on.
 */
let lane: TestServer;
let generic: TestServer;
let key: string;
let readOnlyKey: string;
let publicId: string;
let privateId: string;

beforeAll(async () => {
  const env = { LABELER_RATE_LIMIT_PER_ACCOUNT: '100000', LABELER_RATE_LIMIT_PER_DATASET: '100000' };
  lane = await startTestServer({ env });
  generic = await startTestServer({ env, databaseUrl: lane.database!.url, platformLane: false });
  // The second server's bootstrap admin token replaced the first's, so set up through it.
  key = (await createServiceAccount(generic, ['datasets:read', 'datasets:download', 'datasets:permissions']))
    .api_key;
  readOnlyKey = (await createServiceAccount(generic, ['datasets:read'], 'read-only')).api_key;
  publicId = (
    await createDataset(generic, {
      name: 'parity-public',
      labeled: true,
      tags: ['a', 'b'],
      class_names: ['cat', 'dog'],
      owner_id: 7,
    })
  ).id;
  privateId = (await createDataset(generic, { name: 'parity-private', visibility: 'private', owner_id: 9 }))
    .id;
}, 60_000);

afterAll(async () => {
  await generic?.stop();
  await lane?.stop();
});

const COMPARED_HEADERS = [
  'content-type',
  'etag',
  'cache-control',
  'x-ratelimit-limit',
  'ratelimit-policy',
  'retry-after',
  'location',
];

function normalise(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const b = body as { error?: { timestamp?: string; details?: Record<string, unknown> } };
  if (!b.error) return body;
  const { timestamp: _t, ...error } = b.error;
  const { request_id: _r, ...details } = error.details ?? {};
  return { error: { ...error, details } };
}

async function both(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
) {
  const request = { token: key, ...init };
  const [a, b] = [await lane.request(path, request), await generic.request(path, request)];
  const headers = (h: Headers) => Object.fromEntries(COMPARED_HEADERS.map((name) => [name, h.get(name)]));
  return {
    lane: { status: a.status, body: normalise(a.body), headers: headers(a.headers), raw: a },
    generic: { status: b.status, body: normalise(b.body), headers: headers(b.headers), raw: b },
  };
}

async function expectSame(
  path: string,
  init: Parameters<typeof both>[1] = {},
  expectedStatus?: number,
): Promise<ReturnType<typeof both> extends Promise<infer R> ? R : never> {
  const r = await both(path, init);
  expect(r.lane.status, `${path}: ${r.lane.raw.text}`).toBe(r.generic.status);
  if (expectedStatus !== undefined) expect(r.lane.status).toBe(expectedStatus);
  expect(r.lane.body).toEqual(r.generic.body);
  expect(r.lane.headers).toEqual(r.generic.headers);
  expect(r.lane.raw.headers.get('x-request-id')).toBeTruthy();
  return r;
}

describe('the REST fast lane answers exactly like the generic adapter', () => {
  it('get: found, ETag/304, malformed, missing, other organization', async () => {
    const found = await expectSame(`/api/v1/datasets/${publicId}`, {}, 200);
    expect((found.lane.body as { class_names: string[] }).class_names).toEqual(['cat', 'dog']);
    const etag = found.lane.headers.etag!;
    await expectSame(`/api/v1/datasets/${publicId}`, { headers: { 'if-none-match': etag } }, 304);
    await expectSame('/api/v1/datasets/not-a-dataset-id', {}, 400);
    await expectSame('/api/v1/datasets/ds_0000000000000000', {}, 404);
    await expectSame(`/api/v1/datasets/${publicId}%00`, {}, 400);
  });

  it('list: filters, paging and invalid queries', async () => {
    await expectSame('/api/v1/datasets?visibility=public&labeled=true&tags=a,b&page=1&limit=2', {}, 200);
    await expectSame('/api/v1/datasets?user_id=9', {}, 200);
    await expectSame('/api/v1/datasets?limit=500', {}, 400);
    await expectSame('/api/v1/datasets?labeled=maybe', {}, 400);
    await expectSame('/api/v1/datasets?format=pdf', {}, 400);
    await expectSame('/api/v1/datasets?tags=a&tags=b', {}, 400);
    await expectSame('/api/v1/datasets?page=0', {}, 400);
  });

  it('permissions: each reason and bad user ids', async () => {
    const owner = await expectSame(`/api/v1/datasets/${publicId}/permissions/7`, {}, 200);
    expect((owner.lane.body as { reason: string }).reason).toBe('owner');
    const viewer = await expectSame(`/api/v1/datasets/${publicId}/permissions/8`, {}, 200);
    expect((viewer.lane.body as { reason: string }).reason).toBe('public_dataset');
    await expectSame(`/api/v1/datasets/${privateId}/permissions/8`, {}, 200);
    await expectSame(`/api/v1/datasets/${publicId}/permissions/abc`, {}, 400);
    await expectSame(`/api/v1/datasets/${publicId}/permissions/-1`, {}, 400);
  });

  it('batch: found, missing, field selection and bad bodies', async () => {
    const missing = 'ds_0000000000000000';
    const r = await expectSame(
      '/api/v1/datasets/batch',
      { method: 'POST', body: { dataset_ids: [publicId, missing], fields: ['id', 'name'] } },
      200,
    );
    expect(r.lane.body).toEqual({
      datasets: { [publicId]: { id: publicId, name: 'parity-public' }, [missing]: null },
      errors: { [missing]: 'Dataset not found' },
    });
    await expectSame('/api/v1/datasets/batch', { method: 'POST', body: { dataset_ids: ['nope'] } }, 400);
    await expectSame('/api/v1/datasets/batch', { method: 'POST', body: { dataset_ids: [] } }, 400);
    await expectSame('/api/v1/datasets/batch', { method: 'POST', body: { fields: ['id'] } }, 400);
    await expectSame('/api/v1/datasets/batch', { method: 'POST', body: [publicId] }, 400);
    await expectSame(
      '/api/v1/datasets/batch',
      { method: 'POST', body: '{"dataset_ids": [', headers: { 'content-type': 'application/json' } },
      400,
    );
    await expectSame(
      '/api/v1/datasets/batch',
      { method: 'POST', body: 'dataset_ids=x', headers: { 'content-type': 'text/plain' } },
      415,
    );
    await expectSame(
      '/api/v1/datasets/batch',
      { method: 'POST', body: { dataset_ids: [publicId], note: 'x'.repeat(1_100_000) } },
      413,
    );
    await expectSame('/api/v1/datasets/batch', { method: 'POST', body: { dataset_ids: ['ds_\u0000'] } }, 400);
  });

  it('download-url: the build answer and its validation', async () => {
    const first = await both(`/api/v1/datasets/${publicId}/download-url`, {
      method: 'POST',
      body: { user_id: 8, expiration_seconds: 3600 },
    });
    expect([200, 202]).toContain(first.lane.status);
    expect([200, 202]).toContain(first.generic.status);
    expect(Object.keys(first.lane.body as object).sort()).toEqual(
      Object.keys(first.generic.body as object).sort(),
    );
    await expectSame(
      `/api/v1/datasets/${privateId}/download-url`,
      { method: 'POST', body: { user_id: 8 } },
      403,
    );
    await expectSame(
      `/api/v1/datasets/${publicId}/download-url`,
      { method: 'POST', body: { expiration_seconds: 5 } },
      400,
    );
  });

  it('authentication and scopes', async () => {
    await expectSame(`/api/v1/datasets/${publicId}`, { token: null }, 401);
    await expectSame(
      `/api/v1/datasets/${publicId}`,
      { token: null, headers: { authorization: 'Basic abc' } },
      401,
    );
    await expectSame(`/api/v1/datasets/${publicId}`, { token: 'lbl_sa_unknown' }, 401);
    await expectSame(`/api/v1/datasets/${publicId}/permissions/1`, { token: readOnlyKey }, 403);
    await expectSame(
      `/api/v1/datasets/${publicId}/download-url`,
      { method: 'POST', body: {}, token: readOnlyKey },
      403,
    );
  });

  it('the lane really serves these routes (express never authenticates them)', async () => {
    // Both paths label metrics with the route template; only express goes through auth.authenticate(req).
    const laneExpress = vi.spyOn(lane.services.auth, 'authenticate');
    const genericExpress = vi.spyOn(generic.services.auth, 'authenticate');
    for (const server of [lane, generic]) {
      const res = await server.request(`/api/v1/datasets/${publicId}`, { token: key });
      expect(res.status).toBe(200);
    }
    expect(laneExpress).not.toHaveBeenCalled();
    expect(genericExpress).toHaveBeenCalledTimes(1);
    const metrics = await (await fetch(`${lane.url}/metrics`)).text();
    expect(metrics).toMatch(/labeler_http_requests_total\{[^}]*route="\/api\/v1\/datasets\/\{dataset_id\}"/);
    laneExpress.mockRestore();
    genericExpress.mockRestore();
  });
});

describe('on embedded PGlite (the default `npm start` database)', () => {
  let embedded: TestServer;
  beforeAll(async () => {
    embedded = await startTestServer({ pglite: true });
  }, 60_000);
  afterAll(async () => {
    await embedded?.stop();
  });

  it('serves every Platform route with the same statements (arrays, unnest, lateral join)', async () => {
    const platform = (
      await createServiceAccount(embedded, ['datasets:read', 'datasets:download', 'datasets:permissions'])
    ).api_key;
    const { id } = await createDataset(embedded, { name: 'embedded', tags: ['x', 'y'], owner_id: 3 });
    const get = await embedded.request(`/api/v1/datasets/${id}`, { token: platform });
    expect(get.status, get.text).toBe(200);
    expect((get.body as { tags: string[] }).tags).toEqual(['x', 'y']);
    expect(get.headers.get('x-ratelimit-remaining')).toBe('99'); // the dataset bucket governs
    const list = await embedded.request('/api/v1/datasets?tags=x,y', { token: platform });
    expect((list.body as { total: number }).total).toBe(1);
    const batch = await embedded.request('/api/v1/datasets/batch', {
      token: platform,
      body: { dataset_ids: [id, 'ds_0000000000000000'], fields: ['id'] },
    });
    expect(batch.body).toEqual({
      datasets: { [id]: { id }, ds_0000000000000000: null },
      errors: { ds_0000000000000000: 'Dataset not found' },
    });
    const permission = await embedded.request(`/api/v1/datasets/${id}/permissions/3`, { token: platform });
    expect((permission.body as { reason: string }).reason).toBe('owner');
    const download = await embedded.request(`/api/v1/datasets/${id}/download-url`, {
      token: platform,
      body: { user_id: 3 },
    });
    expect([200, 202], download.text).toContain(download.status);
  });
});
