import { pipeline, Readable, Transform } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageInstance } from '../src/contracts/storage.js';
import {
  checkStorageConformance,
  type StorageCheckResult,
  storageConformanceChecks,
} from '../src/testing/storage.js';
import { startLocalDiskHarness } from './local-disk-helpers.js';

const harness = await startLocalDiskHarness();
afterAll(() => harness.close());

const noPresign = { presignGet: false, presignPut: false, multipart: true };

/** A wrapper without presign methods, with some methods replaced by broken ones. */
function wrap(inner: StorageInstance, overrides: Partial<StorageInstance> = {}): StorageInstance {
  return {
    put: (key, body, options) => inner.put(key, body, options),
    get: (key) => inner.get(key),
    head: (key) => inner.head(key),
    delete: (key) => inner.delete(key),
    list: (options) => inner.list(options),
    health: () => inner.health(),
    dispose: () => inner.dispose(),
    ...overrides,
  };
}

let root = 0;
async function check(
  overrides: (inner: StorageInstance) => Partial<StorageInstance>,
): Promise<StorageCheckResult[]> {
  const dir = `broken-${++root}`;
  return checkStorageConformance({
    name: dir,
    capabilities: noPresign,
    largeObjectBytes: 1024 * 1024,
    create: async () => {
      const inner = await harness.create({ root: dir });
      return wrap(inner, overrides(inner));
    },
  });
}

const failed = (results: StorageCheckResult[]): string[] => results.filter((r) => !r.ok).map((r) => r.name);

describe('storage conformance kit', () => {
  it('has uniquely named checks', () => {
    const names = storageConformanceChecks.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it('passes a correct implementation (the wrapper itself), skipping presign checks it does not claim', async () => {
    const results = await check(() => ({}));
    expect(failed(results)).toEqual([]);
    expect(results.filter((r) => r.skipped).map((r) => r.name)).toEqual(
      storageConformanceChecks.filter((c) => c.name.startsWith('presign')).map((c) => c.name),
    );
  });

  it('fails the pagination check when list drops the last page', async () => {
    const results = await check((inner) => ({
      async list(options) {
        const page = await inner.list(options);
        // Bug: the final page (reached through a cursor) comes back empty.
        return options?.cursor && page.nextCursor === null ? { items: [], nextCursor: null } : page;
      },
    }));
    expect(failed(results)).toEqual(['list paginates with a cursor: every key exactly once, ascending']);
    expect(results.find((r) => !r.ok)?.error?.message).toMatch(/limit 1: all 23 keys/);
  });

  it('fails the round-trip checks when get returns truncated bytes', async () => {
    const results = await check((inner) => ({
      async get(key) {
        const result = await inner.get(key);
        let seen = 0;
        const cut = Math.max(0, result.size - 1);
        const truncate = new Transform({
          transform(chunk: Buffer, _enc, done) {
            const keep = chunk.subarray(0, Math.max(0, cut - seen));
            seen += chunk.length;
            done(null, keep);
          },
        });
        // pipeline (not pipe) so destroying the returned stream also closes the file.
        return { ...result, body: pipeline(result.body, truncate, () => undefined) };
      },
    }));
    const failures = failed(results);
    for (const name of [
      'put/get round trip: Buffer',
      'put/get round trip: Readable stream',
      'put/get round trip: async iterable',
      'streaming get of a multi-MB object',
    ]) {
      expect(failures).toContain(name);
    }
    expect(failures).not.toContain('put/get round trip: empty object');
    expect(failures).not.toContain('health() reports healthy');
    const buffer = results.find((r) => r.name === 'put/get round trip: Buffer');
    expect(buffer?.error?.message).toMatch(/as many bytes as were put/);
  });

  it('fails the not-found check when get of a missing key throws a plain Error', async () => {
    const results = await check((inner) => ({
      async get(key) {
        if ((await inner.head(key)) === null) throw new Error(`ENOENT: ${key}`);
        return inner.get(key);
      },
    }));
    const failures = failed(results);
    expect(failures).toContain('get of a missing key throws STORAGE_OBJECT_NOT_FOUND');
    expect(failures).toContain('delete removes the object and is idempotent');
    expect(
      results.find((r) => r.name === 'get of a missing key throws STORAGE_OBJECT_NOT_FOUND')?.error?.message,
    ).toMatch(/expected a LabelerError STORAGE_OBJECT_NOT_FOUND, got Error: ENOENT/);
  });

  it('fails when keys are not validated and when head lies about missing keys', async () => {
    const results = await check((inner) => ({
      async delete(key) {
        // Bug: silently accepts any key instead of refusing "../x".
        if (key.includes('..') || key.startsWith('/') || key === '') return;
        return inner.delete(key);
      },
      async head(key) {
        return (await inner.head(key)) ?? { key, size: 0 };
      },
    }));
    const failures = failed(results);
    expect(failures).toContain('invalid keys are refused with STORAGE_KEY_INVALID');
    expect(failures).toContain('head reports size and content type; null when missing');
  });

  it('fails the capability check when presign is claimed but missing, and reports presign checks as failed', async () => {
    const results = await checkStorageConformance({
      name: 'claims-presign',
      capabilities: { presignGet: true, presignPut: false, multipart: true },
      largeObjectBytes: 1024 * 1024,
      create: async () => wrap(await harness.create({ root: 'claims' })),
    });
    const failures = failed(results);
    expect(failures).toContain('capabilities match the methods offered');
    expect(failures).toContain('presignGet: the URL serves the bytes');
    expect(results.find((r) => r.name === 'presignGet: the URL serves the bytes')?.error?.message).toMatch(
      /presignGet\(\) must exist/,
    );
  });

  it('reads a streamed body supplied by the kit without buffering assumptions', async () => {
    // Guards the kit's own helper: a Readable body round-trips through the correct implementation.
    const storage = await harness.create({ root: 'kit-self' });
    await storage.put('s.bin', Readable.from([Buffer.from('ab'), Buffer.from('c')]));
    expect((await storage.head('s.bin'))?.size).toBe(3);
  });
});
