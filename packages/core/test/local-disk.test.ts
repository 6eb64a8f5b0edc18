import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isLabelerError } from '../src/errors.js';
import {
  localDiskStoragePlugin,
  parseLocalStoragePath,
  PRESIGN_QUERY,
  RESERVED_DIR,
} from '../src/local-disk/index.js';
import { assertPluginCompatible, parsePluginConfig } from '../src/plugin.js';
import { startLocalDiskHarness } from './local-disk-helpers.js';

const harness = await startLocalDiskHarness();
afterAll(() => harness.close());

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return isLabelerError(error) ? error.code : `non-Labeler error: ${String(error)}`;
  }
}

function queryOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

describe('local-disk plugin definition', () => {
  it('is a compatible storage plugin with id local-disk', () => {
    expect(() => assertPluginCompatible(localDiskStoragePlugin)).not.toThrow();
    expect(localDiskStoragePlugin.id).toBe('local-disk');
    expect(localDiskStoragePlugin.kind).toBe('storage');
  });

  it('rejects config without a root, naming the field', () => {
    expect(() => parsePluginConfig(localDiskStoragePlugin, {})).toThrow(/config field "root"/);
    expect(() => parsePluginConfig(localDiskStoragePlugin, { root: '' })).toThrow(
      /"root" must name a folder/,
    );
  });

  it('resolves a relative root against the data directory', async () => {
    const storage = await harness.create({ root: 'rel/dir' });
    expect(storage.root).toBe(path.join(harness.dataDir, 'rel/dir'));
  });
});

describe('local-disk storage behaviour', () => {
  it('keeps the previous object when a streamed write fails midway, and leaves no temp files', async () => {
    const storage = await harness.create({ root: 'atomic' });
    await storage.put('a.txt', 'original');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial ');
      throw new Error('client went away');
    }
    await expect(storage.put('a.txt', failing())).rejects.toThrow('client went away');
    const got = await storage.get('a.txt');
    expect(Buffer.concat(await got.body.toArray()).toString()).toBe('original');
    expect(await readdir(path.join(storage.root, RESERVED_DIR, 'tmp'))).toEqual([]);
  });

  it('refuses a body whose length differs from contentLength and stores nothing', async () => {
    const storage = await harness.create({ root: 'length' });
    expect(
      await codeOf(storage.put('x.bin', Readable.from([Buffer.from('abc')]), { contentLength: 4 })),
    ).toBe('VALIDATION_ERROR');
    expect(await storage.head('x.bin')).toBeNull();
  });

  it('derives the content type from the extension when none was given', async () => {
    const storage = await harness.create({ root: 'ctype' });
    await storage.put('img/a.PNG', 'x');
    expect((await storage.head('img/a.PNG'))?.contentType).toBe('image/png');
    await storage.put('noext', 'x');
    expect((await storage.head('noext'))?.contentType).toBe('application/octet-stream');
  });

  it('never follows a symlink out of root', async () => {
    const storage = await harness.create({ root: 'links' });
    const outside = path.join(harness.dataDir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), 'top secret');
    await symlink(outside, path.join(storage.root, 'linkdir'));
    await symlink(path.join(outside, 'secret.txt'), path.join(storage.root, 'linkfile'));
    expect(await codeOf(storage.get('linkdir/secret.txt'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.put('linkdir/new.txt', 'x'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.get('linkfile'))).toBe('STORAGE_OBJECT_NOT_FOUND');
    expect(await storage.head('linkfile')).toBeNull();
    expect((await storage.list()).items.map((i) => i.key)).toEqual([]);
    expect(await codeOf(storage.head('linkdir/secret.txt'))).toBe('STORAGE_KEY_INVALID');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('checks a folder that HEAD saw as safe afresh when reading or writing through it', async () => {
    const storage = await harness.create({ root: 'swapped' });
    const outside = path.join(harness.dataDir, 'outside-swapped');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), 'top secret');
    await storage.put('swap/a.txt', 'inside');
    expect((await storage.head('swap/a.txt'))?.size).toBe(6);
    await rm(path.join(storage.root, 'swap'), { recursive: true });
    await symlink(outside, path.join(storage.root, 'swap'));
    expect(await codeOf(storage.get('swap/secret.txt'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.put('swap/new.txt', 'x'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.delete('swap/secret.txt'))).toBe('STORAGE_KEY_INVALID');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('reports the content type of the latest write, also when another instance wrote it', async () => {
    const first = await harness.create({ root: 'overwrite' });
    const second = await harness.create({ root: 'overwrite' });
    await first.put('c.bin', 'x', { contentType: 'image/png' });
    expect((await first.head('c.bin'))?.contentType).toBe('image/png');
    await first.put('c.bin', 'x', { contentType: 'image/jpeg' });
    expect((await first.head('c.bin'))?.contentType).toBe('image/jpeg');
    // Same size, written by another process's instance: only the file itself tells the first one.
    await second.put('c.bin', 'y', { contentType: 'text/csv' });
    expect((await first.head('c.bin'))?.contentType).toBe('text/csv');
    expect((await first.get('c.bin')).contentType).toBe('text/csv');
    await second.put('c.bin', 'z');
    expect((await first.head('c.bin'))?.contentType).toBe('application/octet-stream');
    await second.delete('c.bin');
    expect(await first.head('c.bin')).toBeNull();
  });

  it('reserves the .labeler folder and refuses empty segments', async () => {
    const storage = await harness.create({ root: 'reserved' });
    expect(await codeOf(storage.put(`${RESERVED_DIR}/x`, 'x'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.put('a//b', 'x'))).toBe('STORAGE_KEY_INVALID');
    expect(await codeOf(storage.put('a/', 'x'))).toBe('STORAGE_KEY_INVALID');
    await storage.put('visible.txt', 'x', { contentType: 'text/plain' });
    expect((await storage.list()).items.map((i) => i.key)).toEqual(['visible.txt']);
  });

  it('refuses a cursor from another prefix and an out-of-range limit', async () => {
    const storage = await harness.create({ root: 'cursor' });
    await Promise.all(['a/1', 'a/2', 'b/1'].map((k) => storage.put(k, k)));
    const page = await storage.list({ prefix: 'a/', limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    expect(await codeOf(storage.list({ prefix: 'b/', cursor: page.nextCursor! }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(storage.list({ cursor: 'garbage' }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(storage.list({ limit: 0 }))).toBe('VALIDATION_ERROR');
    expect(await codeOf(storage.list({ limit: 1001 }))).toBe('VALIDATION_ERROR');
  });

  it('reports a file/folder name clash as CONFLICT and frees the name after delete', async () => {
    const storage = await harness.create({ root: 'clash' });
    await storage.put('a/b.txt', 'x');
    expect(await codeOf(storage.put('a', 'x'))).toBe('CONFLICT');
    await storage.delete('a/b.txt');
    await storage.put('a', 'now a file');
    expect((await storage.head('a'))?.size).toBe(10);
  });

  it('reports unhealthy when root is not a folder', async () => {
    const storage = await harness.create({ root: 'gone' });
    await rm(storage.root, { recursive: true });
    await writeFile(storage.root, 'not a folder');
    const report = await storage.health();
    expect(report.status).toBe('unhealthy');
    expect(report.message).toMatch(/not a folder/);
  });
});

describe('local-disk presigned URLs', () => {
  it('builds URLs under /storage/local/{instanceId}/ with per-segment encoding', async () => {
    const storage = await harness.create({ root: 'urls', instanceId: 'pi_urls' });
    const { url, expiresAt } = await storage.presignGet('dir one/ä b.jpg', { expiresInSeconds: 60 });
    const parsed = new URL(url);
    expect(parsed.origin).toBe(harness.baseUrl);
    expect(parsed.pathname).toBe('/storage/local/pi_urls/dir%20one/%C3%A4%20b.jpg');
    expect(parseLocalStoragePath(parsed.pathname)).toEqual({ instanceId: 'pi_urls', key: 'dir one/ä b.jpg' });
    expect(Object.keys(queryOf(url)).sort()).toEqual(
      [PRESIGN_QUERY.expires, PRESIGN_QUERY.method, PRESIGN_QUERY.signature].sort(),
    );
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
  });

  it('parseLocalStoragePath rejects other paths and bad encoding', () => {
    expect(parseLocalStoragePath('/api/v1/x')).toBeNull();
    expect(parseLocalStoragePath('/storage/local/pi_1')).toBeNull();
    expect(parseLocalStoragePath('/storage/local/pi_1/%E0%A4%A')).toBeNull();
  });

  it('refuses a GET URL used for PUT, another instance, another signing key, and a changed expiry (403)', async () => {
    const a = await harness.create({ root: 'shared', instanceId: 'pi_a' });
    const b = await harness.create({ root: 'shared', instanceId: 'pi_b' });
    const c = await harness.create({
      root: 'shared',
      instanceId: 'pi_c',
      signingKey: 'another-key-0123456789abcdef',
    });
    await a.put('k.txt', 'hello');
    const { url } = await a.presignGet('k.txt', { expiresInSeconds: 60 });
    const query = queryOf(url);
    const asPut = await a.servePresigned({
      method: 'PUT',
      key: 'k.txt',
      query: { ...query, [PRESIGN_QUERY.method]: 'PUT' },
      body: Readable.from(['x']),
    });
    expect(asPut.status).toBe(403);
    expect(
      (await a.servePresigned({ method: 'PUT', key: 'k.txt', query, body: Readable.from(['x']) })).status,
    ).toBe(403);
    expect((await b.servePresigned({ method: 'GET', key: 'k.txt', query })).status).toBe(403);
    expect((await c.servePresigned({ method: 'GET', key: 'k.txt', query })).status).toBe(403);
    const later = String(Number(query[PRESIGN_QUERY.expires]) + 3600);
    const extended = await a.servePresigned({
      method: 'GET',
      key: 'k.txt',
      query: { ...query, [PRESIGN_QUERY.expires]: later },
    });
    expect(extended.status).toBe(403);
    const body = JSON.parse(Buffer.concat(await extended.body!.toArray()).toString());
    expect(body.error.code).toBe('PRESIGNED_URL_INVALID');
    expect((await a.servePresigned({ method: 'GET', key: 'k.txt', query: {} })).status).toBe(403);
    expect((await a.servePresigned({ method: 'DELETE', key: 'k.txt', query })).status).toBe(405);
    expect((await a.get('k.txt')).size).toBe(5);
  });

  it('serves HEAD, signed filename and content type, and safe headers', async () => {
    const storage = await harness.create({ root: 'headers' });
    await storage.put('a.html', '<script>alert(1)</script>', { contentType: 'text/html' });
    const { url } = await storage.presignGet('a.html', { expiresInSeconds: 60, filename: 'résumé.html' });
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('25');
    const res = await fetch(url);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_.html"; filename*=UTF-8''r%C3%A9sum%C3%A9.html`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    expect(await res.text()).toBe('<script>alert(1)</script>');
  });

  it('stores the content type signed into a PUT URL; 404 for a GET of a missing object', async () => {
    const storage = await harness.create({ root: 'put-ct' });
    const put = await storage.presignPut('up/a.bin', { expiresInSeconds: 60, contentType: 'image/webp' });
    const res = await fetch(put.url, { method: 'PUT', body: 'webp bytes' });
    expect(res.status).toBe(200);
    expect(await storage.head('up/a.bin')).toMatchObject({ size: 10, contentType: 'image/webp' });
    const get = await storage.presignGet('up/missing.bin', { expiresInSeconds: 60 });
    expect((await fetch(get.url)).status).toBe(404);
  });
});
