import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope, SYSTEM_ACTOR } from './helpers.js';

let server: TestServer;
let key: string;
let datasetId: string;

beforeAll(async () => {
  server = await startTestServer({ env: { LABELER_MAX_UPLOAD_BYTES: '1048576' } });
  key = (await createServiceAccount(server, ['datasets:read', 'datasets:write'], 'uploader')).api_key;
  datasetId = (await createDataset(server, { name: 'uploaded', visibility: 'private' }, key)).id;
});
afterAll(async () => server?.stop());

describe('uploading dataset files through the API', () => {
  it('presigned PUTs, then complete records sha256, size and a new version', async () => {
    const files = {
      'images/a.png': Buffer.from('png-bytes-a'),
      'annotations.json': Buffer.from('{"images":[]}'),
    };
    const res = await server.request(`/api/v1/datasets/${datasetId}/uploads`, {
      method: 'POST',
      token: key,
      body: { files: Object.keys(files).map((path) => ({ path })) },
    });
    expect(res.status, res.text).toBe(200);
    const { uploads } = res.body as {
      uploads: Array<{ path: string; upload_url: string; headers: Record<string, string> }>;
    };
    expect(uploads.map((u) => u.path)).toEqual(Object.keys(files));
    for (const upload of uploads) {
      const put = await fetch(upload.upload_url, {
        method: 'PUT',
        headers: upload.headers,
        body: files[upload.path as keyof typeof files],
      });
      expect(put.status, await put.text()).toBe(200);
    }
    const tampered = uploads[0]!.upload_url.replace(
      /X-Labeler-Signature=([0-9a-f])/,
      (_m, c: string) => `X-Labeler-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect((await fetch(tampered, { method: 'PUT', body: 'evil' })).status).toBe(403);
    const tooBig = await fetch(uploads[0]!.upload_url, {
      method: 'PUT',
      headers: uploads[0]!.headers,
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(tooBig.status).toBe(413);

    const complete = await server.request(`/api/v1/datasets/${datasetId}/uploads/complete`, {
      method: 'POST',
      token: key,
      body: {},
    });
    expect(complete.status, complete.text).toBe(202);
    const job = await server.services.jobs.waitFor((complete.body as { job: { id: string } }).job.id, 30_000);
    expect(job.state, JSON.stringify(job.error)).toBe('completed');
    expect(job.result).toMatchObject({ adopted: 2, version: 2 });
    const listed = await server.services.storageFiles.listCurrentFiles(SYSTEM_ACTOR, datasetId, {
      limit: 10,
      offset: 0,
    });
    expect(listed.files.map((f) => [f.path, f.size])).toEqual([
      ['annotations.json', 13],
      ['images/a.png', 11],
    ]);
    expect(listed.files[1]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const dataset = await server.request(`/api/v1/datasets/${datasetId}`, { token: key });
    expect(dataset.body).toMatchObject({ version: 2 });
  });

  it('refuses unsafe paths and the reserved archives/ prefix', async () => {
    // A leading slash is normalised away (paths are relative to the dataset root); these are refused.
    for (const path of [
      '../escape.png',
      'archives/v1/archive.zip',
      'a/./b.png',
      'a//b.png',
      'images/../../x.png',
    ]) {
      const res = await server.request(`/api/v1/datasets/${datasetId}/uploads`, {
        method: 'POST',
        token: key,
        body: { files: [{ path }] },
      });
      expect(res.status, path).toBe(400);
      expectEnvelope(res.body, 'VALIDATION_ERROR');
    }
  });
});
