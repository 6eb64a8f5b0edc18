import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope } from './helpers.js';

/** Replays every example request of the Platform's spec (labeler-dataset-api.md) and checks shapes and codes. */
const SPEC_DATASET_KEYS = [
  'id',
  'name',
  'description',
  'format',
  'labeled',
  'storage_type',
  'storage_path',
  'annotation_path',
  'num_classes',
  'num_images',
  'class_names',
  'tags',
  'visibility',
  'owner_id',
  'created_at',
  'updated_at',
  'version',
  'content_hash',
];
const SPEC_LIST_ITEM_KEYS = [
  'id',
  'name',
  'description',
  'format',
  'labeled',
  'num_images',
  'num_classes',
  'visibility',
  'owner_id',
  'storage_type',
  'created_at',
];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let server: TestServer;
let platformKey: string;
let bottle: { id: string };

beforeAll(async () => {
  server = await startTestServer();
  platformKey = (
    await createServiceAccount(
      server,
      ['datasets:read', 'datasets:download', 'datasets:permissions'],
      'vision-platform',
    )
  ).api_key;
  bottle = await createDataset(server, {
    name: 'mvtec-bottle-detection',
    description: 'MVTec Bottle Detection Dataset',
    format: 'coco',
    labeled: true,
    class_names: ['broken', 'normal'],
    tags: ['mvtec', 'bottle', 'detection'],
    visibility: 'public',
    owner_id: 1,
    num_images: 1000,
  });
  for (let i = 0; i < 12; i++)
    await createDataset(server, {
      name: `coco-${i}`,
      format: 'coco',
      labeled: true,
      visibility: 'public',
      tags: ['detection'],
    });
  await createDataset(server, { name: 'private-yolo', format: 'yolo', visibility: 'private', owner_id: 7 });
});
afterAll(async () => server?.stop());

describe('§2.1.1 GET /api/v1/datasets/{dataset_id}', () => {
  it('returns the spec Dataset field for field', async () => {
    const res = await server.request(`/api/v1/datasets/${bottle.id}`, { token: platformKey });
    expect(res.status).toBe(200);
    const body = res.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(SPEC_DATASET_KEYS);
    expect(body).toMatchObject({
      id: bottle.id,
      name: 'mvtec-bottle-detection',
      description: 'MVTec Bottle Detection Dataset',
      format: 'coco',
      labeled: true,
      storage_path: `datasets/${bottle.id}/`,
      num_classes: 2,
      num_images: 1000,
      class_names: ['broken', 'normal'],
      tags: ['mvtec', 'bottle', 'detection'],
      visibility: 'public',
      owner_id: 1,
      version: 1,
    });
    expect(body.id).toMatch(/^ds_[0-9a-f]{16}$/);
    expect(body.created_at).toMatch(ISO);
    expect(body.content_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.headers.get('x-ratelimit-limit')).toBe('100');
    expect(res.headers.get('etag')).toMatch(/^W\/"/);
  });

  it('404 DATASET_NOT_FOUND in the envelope', async () => {
    const res = await server.request('/api/v1/datasets/ds_xyz789', { token: platformKey });
    expect(res.status).toBe(404);
    const envelope = expectEnvelope(res.body, 'DATASET_NOT_FOUND');
    expect(envelope.error.message).toBe('Dataset ds_xyz789 not found');
    expect(envelope.error.details.dataset_id).toBe('ds_xyz789');
  });

  it('400 INVALID_DATASET_ID for a malformed id', async () => {
    const res = await server.request('/api/v1/datasets/not-a-dataset', { token: platformKey });
    expect(res.status).toBe(400);
    expectEnvelope(res.body, 'INVALID_DATASET_ID');
  });

  it('304 on If-None-Match with the ETag', async () => {
    const first = await server.request(`/api/v1/datasets/${bottle.id}`, { token: platformKey });
    const again = await server.request(`/api/v1/datasets/${bottle.id}`, {
      token: platformKey,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });
});

describe('§2.1.2 GET /api/v1/datasets', () => {
  it('filters and paginates like the example request', async () => {
    const res = await server.request('/api/v1/datasets?visibility=public&labeled=true&format=coco&limit=10', {
      token: platformKey,
    });
    expect(res.status).toBe(200);
    const body = res.body as {
      total: number;
      page: number;
      limit: number;
      datasets: Array<Record<string, unknown>>;
    };
    expect(Object.keys(body)).toEqual(['total', 'page', 'limit', 'datasets']);
    expect(body).toMatchObject({ total: 13, page: 1, limit: 10 });
    expect(body.datasets).toHaveLength(10);
    for (const item of body.datasets) {
      expect(Object.keys(item)).toEqual(SPEC_LIST_ITEM_KEYS);
      expect(item).toMatchObject({ format: 'coco', labeled: true, visibility: 'public' });
    }
    const page2 = (
      await server.request('/api/v1/datasets?visibility=public&labeled=true&format=coco&limit=10&page=2', {
        token: platformKey,
      })
    ).body as typeof body;
    expect(page2.datasets).toHaveLength(3);
    const ids = new Set([...body.datasets, ...page2.datasets].map((d) => d.id));
    expect(ids.size).toBe(13);
  });

  it('defaults page=1 limit=50, filters by user_id and tags (all must match)', async () => {
    const all = (await server.request('/api/v1/datasets', { token: platformKey })).body as {
      page: number;
      limit: number;
      total: number;
    };
    expect(all).toMatchObject({ page: 1, limit: 50, total: 14 });
    const owned = (await server.request('/api/v1/datasets?user_id=7', { token: platformKey })).body as {
      total: number;
      datasets: Array<{ name: string }>;
    };
    expect(owned.total).toBe(1);
    expect(owned.datasets[0]!.name).toBe('private-yolo');
    const tagged = (await server.request('/api/v1/datasets?tags=detection,mvtec', { token: platformKey }))
      .body as { total: number };
    expect(tagged.total).toBe(1);
  });

  it('refuses limit above 200 and bad enums with VALIDATION_ERROR', async () => {
    for (const query of [
      'limit=201',
      'page=0',
      'format=pascal',
      'visibility=secret',
      'labeled=maybe',
      'user_id=abc',
    ]) {
      const res = await server.request(`/api/v1/datasets?${query}`, { token: platformKey });
      expect(res.status, query).toBe(400);
      expectEnvelope(res.body, 'VALIDATION_ERROR');
    }
  });
});

describe('§2.1.3 GET /api/v1/datasets/{dataset_id}/permissions/{user_id}', () => {
  it('answers like the example (public dataset → viewer)', async () => {
    const res = await server.request(`/api/v1/datasets/${bottle.id}/permissions/42`, { token: platformKey });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      dataset_id: bottle.id,
      user_id: 42,
      has_access: true,
      role: 'viewer',
      reason: 'public_dataset',
    });
  });
});

describe('§2.2.1 POST /api/v1/datasets/{dataset_id}/download-url', () => {
  it('202 while the archive builds, then a presigned URL that downloads the zip', async () => {
    const files = [
      { path: 'images/0001.jpg', data: Buffer.from('fake-jpeg-1') },
      { path: 'images/0002.jpg', data: Buffer.from('fake-jpeg-2') },
      {
        path: 'annotations_detection.json',
        data: Buffer.from('{"images":[],"annotations":[],"categories":[]}'),
      },
    ];
    async function* source() {
      for (const f of files) yield { path: f.path, open: () => Readable.from([f.data]), size: f.data.length };
    }
    await server.services.storageFiles.importFiles(bottle.id, source(), null, {
      annotationPath: `datasets/${bottle.id}/annotations_detection.json`,
    });
    const request = { user_id: 42, expiration_seconds: 3600, purpose: 'training_job_123' };
    const first = await server.request(`/api/v1/datasets/${bottle.id}/download-url`, {
      method: 'POST',
      body: request,
      token: platformKey,
    });
    expect(first.status, first.text).toBe(202);
    const building = first.body as { status: string; job_id: string; retry_after_seconds: number };
    expect(building.status).toBe('building');
    expect(first.headers.get('retry-after')).toBe(String(building.retry_after_seconds));
    const job = await server.services.jobs.waitFor(building.job_id, 30_000);
    expect(job.state).toBe('completed');

    const second = await server.request(`/api/v1/datasets/${bottle.id}/download-url`, {
      method: 'POST',
      body: request,
      token: platformKey,
    });
    expect(second.status, second.text).toBe(200);
    const body = second.body as Record<string, unknown>;
    for (const key of ['dataset_id', 'download_url', 'expires_at', 'format', 'size_bytes', 'manifest'])
      expect(body).toHaveProperty(key);
    expect(body).toMatchObject({
      dataset_id: bottle.id,
      format: 'zip',
      manifest: { images: 'images/', annotations: 'annotations_detection.json', readme: 'README.md' },
    });
    expect(body.expires_at).toMatch(ISO);
    const expiresIn = (Date.parse(String(body.expires_at)) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(3500);
    expect(expiresIn).toBeLessThanOrEqual(3601);
    const zip = Buffer.from(await (await fetch(String(body.download_url))).arrayBuffer());
    expect(zip.length).toBe(body.size_bytes);
    expect(zip.subarray(0, 4).toString('hex')).toBe('504b0304');
    for (const name of ['images/0001.jpg', 'images/0002.jpg', 'annotations_detection.json', 'README.md'])
      expect(zip.includes(Buffer.from(name))).toBe(true);

    const tampered = String(body.download_url).replace(
      /X-Labeler-Signature=([0-9a-f])/,
      (_m, c: string) => `X-Labeler-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect((await fetch(tampered)).status).toBe(403);

    const audit = await server.services.audit.list({ action: 'dataset.download_url_issued' });
    expect(audit.events[0]).toMatchObject({
      target_id: bottle.id,
      details: { user_id: 42, purpose: 'training_job_123' },
    });
  });

  it('403 ACCESS_DENIED when the named user cannot access the dataset', async () => {
    const privateDs = await createDataset(server, { name: 'secret', visibility: 'private', owner_id: 9 });
    const res = await server.request(`/api/v1/datasets/${privateDs.id}/download-url`, {
      method: 'POST',
      body: { user_id: 42, expiration_seconds: 3600 },
      token: platformKey,
    });
    expect(res.status).toBe(403);
    expectEnvelope(res.body, 'ACCESS_DENIED');
  });
});

describe('§2.3.1 POST /api/v1/datasets/batch', () => {
  it('returns requested fields, null plus an error for missing ids', async () => {
    const res = await server.request('/api/v1/datasets/batch', {
      method: 'POST',
      token: platformKey,
      body: {
        dataset_ids: [bottle.id, 'ds_abc123', 'ds_xyz789'],
        fields: ['id', 'name', 'num_images', 'format', 'storage_path'],
      },
    });
    expect(res.status).toBe(200);
    const body = res.body as { datasets: Record<string, unknown>; errors: Record<string, string> };
    expect(Object.keys(body)).toEqual(['datasets', 'errors']);
    expect(body.datasets[bottle.id]).toEqual({
      id: bottle.id,
      name: 'mvtec-bottle-detection',
      num_images: 2,
      format: 'coco',
      storage_path: `datasets/${bottle.id}/`,
    });
    expect(body.datasets.ds_abc123).toBeNull();
    expect(body.datasets.ds_xyz789).toBeNull();
    expect(body.errors).toEqual({ ds_abc123: 'Dataset not found', ds_xyz789: 'Dataset not found' });
  });

  it('refuses more than 50 ids and malformed ids', async () => {
    const tooMany = await server.request('/api/v1/datasets/batch', {
      method: 'POST',
      token: platformKey,
      body: { dataset_ids: Array.from({ length: 51 }, (_, i) => `ds_${i}`) },
    });
    expect(tooMany.status).toBe(400);
    expectEnvelope(tooMany.body, 'INVALID_DATASET_ID');
    const malformed = await server.request('/api/v1/datasets/batch', {
      method: 'POST',
      token: platformKey,
      body: { dataset_ids: ['DS-1'] },
    });
    expect(malformed.status).toBe(400);
    expectEnvelope(malformed.body, 'INVALID_DATASET_ID');
  });
});

describe('§3.1 POST /api/v1/auth/service-accounts', () => {
  it('returns the key once with the example fields; the key works; only a hash is stored', async () => {
    const res = await server.request('/api/v1/auth/service-accounts', {
      method: 'POST',
      body: {
        service_name: 'vision-platform',
        scopes: ['datasets:read', 'datasets:download', 'datasets:permissions'],
      },
    });
    expect(res.status).toBe(201);
    const body = res.body as {
      service_account_id: string;
      api_key: string;
      scopes: string[];
      expires_at: null;
    };
    for (const key of ['service_account_id', 'api_key', 'scopes', 'expires_at'])
      expect(body).toHaveProperty(key);
    expect(body.service_account_id).toMatch(/^sa_[0-9a-f]{16}$/);
    expect(body.api_key).toMatch(/^lbl_sa_[0-9A-Za-z]{38}$/);
    expect(body.expires_at).toBeNull();
    const ok = await server.request(`/api/v1/datasets/${bottle.id}`, { token: body.api_key });
    expect(ok.status).toBe(200);
    const rows = (await server.services.orm.em
      .getConnection()
      .execute('select * from service_account where id = ?', [body.service_account_id])) as Array<
      Record<string, unknown>
    >;
    expect(JSON.stringify(rows)).not.toContain(body.api_key);
    const list = await server.request('/api/v1/auth/service-accounts');
    expect(list.text).not.toContain(body.api_key);
  });
});
