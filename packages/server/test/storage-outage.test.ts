import { Readable } from 'node:stream';
import { type S3TestServer, startS3TestServer } from '@labeler/plugin-r2/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope } from './helpers.js';

let s3: S3TestServer;
let server: TestServer;
let key: string;
let datasetId: string;

beforeAll(async () => {
  s3 = await startS3TestServer();
  // Every download-url checks storage here; archive-presence.test.ts covers remembered archives in an outage.
  server = await startTestServer({ env: { LABELER_ARCHIVE_CHECK_SECONDS: '0' } });
  const r2 = await server.services.plugins.create({
    pluginId: 'r2',
    name: 'r2-test',
    config: s3.pluginConfig,
    isDefault: true,
  });
  expect(r2.health.status).toBe('healthy');
  key = (
    await createServiceAccount(
      server,
      ['datasets:read', 'datasets:download', 'datasets:permissions'],
      'platform',
    )
  ).api_key;
  const dataset = await createDataset(server, { name: 'on r2', visibility: 'public' });
  datasetId = dataset.id;
  expect(dataset.storage_type).toBe('r2');
  async function* files() {
    for (let i = 0; i < 5; i++) {
      const data = Buffer.alloc(64 * 1024, i);
      yield { path: `images/${i}.png`, open: () => Readable.from([data]), size: data.length };
    }
  }
  await server.services.storageFiles.importFiles(datasetId, files(), null);
  const first = await server.request(`/api/v1/datasets/${datasetId}/download-url`, {
    method: 'POST',
    body: {},
    token: key,
  });
  expect(first.status, first.text).toBe(202);
  expect((await server.services.jobs.waitFor((first.body as { job_id: string }).job_id, 30_000)).state).toBe(
    'completed',
  );
});
afterAll(async () => {
  await server?.stop();
  await s3?.close();
});

describe('storage outage', () => {
  it('metadata keeps answering, download-url is 503 R2_UNAVAILABLE, and recovery needs no server restart', async () => {
    const ok = await server.request(`/api/v1/datasets/${datasetId}/download-url`, {
      method: 'POST',
      body: { expiration_seconds: 600 },
      token: key,
    });
    expect(ok.status, ok.text).toBe(200);
    const url = (ok.body as { download_url: string }).download_url;
    expect(url.startsWith(s3.endpoint)).toBe(true);
    expect((await fetch(url)).status).toBe(200);

    await s3.stop();
    const started = Date.now();
    for (const path of [
      `/api/v1/datasets/${datasetId}`,
      '/api/v1/datasets',
      `/api/v1/datasets/${datasetId}/permissions/5`,
    ]) {
      const res = await server.request(path, { token: key });
      expect(res.status, path).toBe(200);
    }
    const batch = await server.request('/api/v1/datasets/batch', {
      method: 'POST',
      body: { dataset_ids: [datasetId] },
      token: key,
    });
    expect(batch.status).toBe(200);
    const down = await server.request(`/api/v1/datasets/${datasetId}/download-url`, {
      method: 'POST',
      body: {},
      token: key,
    });
    expect(down.status).toBe(503);
    expectEnvelope(down.body, 'R2_UNAVAILABLE');
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(20_000);

    await s3.restart();
    const back = await server.request(`/api/v1/datasets/${datasetId}/download-url`, {
      method: 'POST',
      body: {},
      token: key,
    });
    expect(back.status, back.text).toBe(200);
    expect((await fetch((back.body as { download_url: string }).download_url)).status).toBe(200);
  });

  it('an archive never built: download-url is 503 R2_UNAVAILABLE while storage is down, starts no job per poll, and builds once storage is back', async () => {
    const dataset = await createDataset(server, { name: 'never built', visibility: 'public' });
    async function* files() {
      yield { path: 'images/a.png', open: () => Readable.from([Buffer.alloc(1024, 7)]), size: 1024 };
    }
    await server.services.storageFiles.importFiles(dataset.id, files(), null);
    const buildJobs = async () =>
      (
        (await server.services.orm.em
          .fork()
          .getConnection()
          .execute(
            `select count(*)::int as n from job where kind = 'dataset.archive' and payload->>'dataset_id' = ?`,
            [dataset.id],
          )) as Array<{ n: number }>
      )[0]!.n;
    expect(await buildJobs()).toBe(0);

    await s3.stop();
    for (let poll = 0; poll < 5; poll++) {
      const down = await server.request(`/api/v1/datasets/${dataset.id}/download-url`, {
        method: 'POST',
        body: {},
        token: key,
      });
      expect(down.status, down.text).toBe(503);
      expectEnvelope(down.body, 'R2_UNAVAILABLE');
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await buildJobs()).toBe(0);

    await s3.restart();
    const building = await server.request(`/api/v1/datasets/${dataset.id}/download-url`, {
      method: 'POST',
      body: {},
      token: key,
    });
    expect(building.status, building.text).toBe(202);
    const jobId = (building.body as { job_id: string }).job_id;
    expect((await server.services.jobs.waitFor(jobId, 30_000)).state).toBe('completed');
    expect(await buildJobs()).toBe(1);
    const ready = await server.request(`/api/v1/datasets/${dataset.id}/download-url`, {
      method: 'POST',
      body: {},
      token: key,
    });
    expect(ready.status, ready.text).toBe(200);
  });
});
