import { Readable } from 'node:stream';
import { isLabelerError, type StorageInstance } from '@labeler/core';
import { type S3TestServer, startS3TestServer } from '@labeler/plugin-r2/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchivePresence } from '../src/modules/storage-files/archive-presence.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount } from './helpers.js';

/**
 * download-url's memory of which archives storage holds (modules/storage-files/archive-presence.ts), on
 * the r2 plugin against the SigV4-verifying S3 test server.
 */
let s3: S3TestServer;
let server: TestServer;
let storage: StorageInstance;
let key: string;

const TTL_SECONDS = 2;

async function downloadUrl(datasetId: string) {
  return server.request(`/api/v1/datasets/${datasetId}/download-url`, {
    method: 'POST',
    body: {},
    token: key,
  });
}

/** A dataset on r2 with its archive built; returns its id and the archive's key. */
async function datasetWithArchive(name: string): Promise<{ id: string; archiveKey: string }> {
  const dataset = await createDataset(server, { name, visibility: 'public' });
  async function* files() {
    const data = Buffer.alloc(1024, 7);
    yield { path: 'images/0.png', open: () => Readable.from([data]), size: data.length };
  }
  await server.services.storageFiles.importFiles(dataset.id, files(), null);
  const first = await downloadUrl(dataset.id);
  expect(first.status, first.text).toBe(202);
  const job = await server.services.jobs.waitFor((first.body as { job_id: string }).job_id, 30_000);
  expect(job.state).toBe('completed');
  const version = (first.body as { version: number }).version;
  const archiveKey = `datasets/${dataset.id}/archives/v${version}/archive.zip`;
  expect(await storage.head(archiveKey)).not.toBeNull();
  return { id: dataset.id, archiveKey };
}

beforeAll(async () => {
  s3 = await startS3TestServer();
  server = await startTestServer({ env: { LABELER_ARCHIVE_CHECK_SECONDS: String(TTL_SECONDS) } });
  const r2 = await server.services.plugins.create({
    pluginId: 'r2',
    name: 'r2-presence',
    config: s3.pluginConfig,
    isDefault: true,
  });
  storage = await server.services.plugins.get(r2.id, 'storage');
  key = (await createServiceAccount(server, ['datasets:download'], 'platform')).api_key;
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await s3?.close();
});

describe('archive presence', () => {
  it('download-url trusts a seen archive for the configured time, then notices it is gone and rebuilds', async () => {
    const { id, archiveKey } = await datasetWithArchive('presence ttl');
    const seen = await downloadUrl(id);
    expect(seen.status, seen.text).toBe(200);
    const seenAt = Date.now();

    // Deleted behind Labeler's back: within the time, the archive is not asked for again.
    await storage.delete(archiveKey);
    const trusted = await downloadUrl(id);
    expect(Date.now() - seenAt).toBeLessThan(TTL_SECONDS * 1000);
    expect(trusted.status, trusted.text).toBe(200);

    await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 200));
    const rebuilt = await downloadUrl(id);
    expect(rebuilt.status, rebuilt.text).toBe(202);
    const job = await server.services.jobs.waitFor((rebuilt.body as { job_id: string }).job_id, 30_000);
    expect(job.state).toBe('completed');
    const after = await downloadUrl(id);
    expect(after.status, after.text).toBe(200);
    expect((await fetch((after.body as { download_url: string }).download_url)).status).toBe(200);
  });

  it('concurrent checks of one archive share one request; absence is not remembered', async () => {
    const presence = new ArchivePresence(60_000);
    await storage.put('presence/shared.bin', Readable.from([Buffer.from('x')]));
    const first = presence.head(storage, 'presence/shared.bin');
    const second = presence.head(storage, 'presence/shared.bin');
    expect(second).toBe(first);
    expect((await first)?.size).toBe(1);

    expect(await presence.head(storage, 'presence/later.bin')).toBeNull();
    await storage.put('presence/later.bin', Readable.from([Buffer.from('yy')]));
    expect((await presence.head(storage, 'presence/later.bin'))?.size).toBe(2);
  });

  it('a check that fails during an outage makes every archive on that storage be checked again', async () => {
    const presence = new ArchivePresence(60_000);
    for (const name of ['a', 'b', 'c'])
      await storage.put(`presence/outage-${name}.bin`, Readable.from([Buffer.from(name)]));
    expect(await presence.head(storage, 'presence/outage-a.bin')).not.toBeNull();
    expect(await presence.head(storage, 'presence/outage-b.bin')).not.toBeNull();

    await s3.stop();
    try {
      // Remembered: answered without storage.
      expect(await presence.head(storage, 'presence/outage-a.bin')).not.toBeNull();
      // Not remembered: the check fails, and with it everything remembered on this storage.
      const failed = await presence.head(storage, 'presence/outage-c.bin').catch((error: unknown) => error);
      expect(isLabelerError(failed) && failed.retryable).toBe(true);
      for (const name of ['a', 'b']) {
        const error = await presence.head(storage, `presence/outage-${name}.bin`).catch((e: unknown) => e);
        expect(isLabelerError(error), name).toBe(true);
      }
    } finally {
      await s3.restart();
    }
    expect(await presence.head(storage, 'presence/outage-a.bin')).not.toBeNull();
  }, 60_000);
});
