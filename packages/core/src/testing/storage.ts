/**
 * Storage conformance kit (contract 1.0).
 *
 * The kit is a list of named checks. `checkStorageConformance` runs them programmatically and reports
 * `{ name, ok, error }` per check (useful to prove the kit catches a broken implementation);
 * `runStorageConformance` registers each check as a vitest `it` so failures show up by name.
 *
 * Checks use node:assert so they run outside vitest too. Each check works under its own key prefix and
 * deletes what it wrote. Ordering expectation: `list` returns keys ascending by UTF-8 bytes (what S3 does).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { StorageCapabilities, StorageInstance } from '../contracts/storage.js';
import { MAX_PRESIGN_SECONDS } from '../contracts/storage.js';
import type { ErrorCode } from '../errors.js';
import { isLabelerError } from '../errors.js';

export interface StorageConformanceOptions {
  /** Shown in the describe block, e.g. "local-disk". */
  name: string;
  /** Creates a fresh instance. Called once for the shared instance and once more for the dispose check. */
  create: () => Promise<StorageInstance>;
  capabilities: StorageCapabilities;
  /** Used to fetch presigned URLs (default: global fetch). */
  fetch?: typeof fetch;
  /** Prepended to every key the kit writes, e.g. "tests/". */
  keyPrefix?: string;
  /** Size of the object used by the streaming check (default 6 MiB). */
  largeObjectBytes?: number;
  /** Names of checks to skip, with a reason shown in the report. */
  skip?: Record<string, string>;
}

export interface StorageCheckContext {
  storage: StorageInstance;
  capabilities: StorageCapabilities;
  fetch: typeof fetch;
  /** Unique prefix for this check, ends with "/". */
  prefix: string;
  largeObjectBytes: number;
  /** Creates another instance (used by the dispose check). */
  create: () => Promise<StorageInstance>;
}

export interface StorageConformanceCheck {
  name: string;
  /** When false for the given capabilities, the check is reported as skipped. */
  applies?: (capabilities: StorageCapabilities) => boolean;
  run(ctx: StorageCheckContext): Promise<void>;
}

export interface StorageCheckResult {
  name: string;
  ok: boolean;
  skipped?: boolean;
  error?: Error;
}

// ---- helpers ---------------------------------------------------------------------------------------

async function readAll(stream: Readable | AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Deterministic pseudo-random bytes, so a failure is reproducible. */
function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function expectLabelerError(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `${what}: expected ${code} to be thrown, but the call succeeded`);
  assert.ok(isLabelerError(caught), `${what}: expected a LabelerError ${code}, got ${describeError(caught)}`);
  assert.equal(caught.code, code, `${what}: expected error code ${code}, got ${caught.code}`);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function roundTrip(
  ctx: StorageCheckContext,
  key: string,
  body: Parameters<StorageInstance['put']>[1],
  expected: Buffer,
): Promise<void> {
  const info = await ctx.storage.put(key, body);
  assert.equal(info.key, key, 'put() returns the key it stored');
  assert.equal(info.size, expected.length, 'put() returns the stored size in bytes');
  const got = await ctx.storage.get(key);
  const bytes = await readAll(got.body);
  assert.equal(bytes.length, expected.length, 'get() returns as many bytes as were put');
  assert.ok(bytes.equals(expected), 'get() returns the exact bytes that were put');
  assert.equal(got.size, expected.length, 'get() reports the object size');
}

async function listAll(
  storage: StorageInstance,
  prefix: string,
  limit?: number,
): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await storage.list({ prefix, ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) });
    pages++;
    assert.ok(pages <= 10_000, 'list() pagination terminates');
    if (limit !== undefined)
      assert.ok(
        page.items.length <= limit,
        `list() returns at most limit (${limit}) items per page, got ${page.items.length}`,
      );
    keys.push(...page.items.map((item) => item.key));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { keys, pages };
}

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A URL with the signature (any query parameter whose name contains "signature") altered. */
function tamperSignature(url: string): string {
  const parsed = new URL(url);
  for (const [name, value] of parsed.searchParams) {
    if (/signature/i.test(name) && value.length > 0) {
      const last = value.at(-1);
      parsed.searchParams.set(name, value.slice(0, -1) + (last === '0' ? '1' : '0'));
      return parsed.toString();
    }
  }
  throw new assert.AssertionError({
    message: `presigned URL has no query parameter named like "signature": ${parsed.pathname}`,
  });
}

function assertRefused(status: number, what: string): void {
  // R2 answers 403 for bad signatures and 400 (ExpiredRequest) for expired URLs; both are refusals.
  assert.ok([400, 401, 403].includes(status), `${what}: expected 400/401/403, got ${status}`);
}

async function cleanup(storage: StorageInstance, prefix: string): Promise<void> {
  const { keys } = await listAll(storage, prefix);
  await Promise.all(keys.map((key) => storage.delete(key)));
}

const hasPresignGet = (c: StorageCapabilities): boolean => c.presignGet;
const hasPresignPut = (c: StorageCapabilities): boolean => c.presignPut;

function presignGetOf(ctx: StorageCheckContext): NonNullable<StorageInstance['presignGet']> {
  const fn = ctx.storage.presignGet;
  assert.equal(typeof fn, 'function', 'capabilities.presignGet is true, so presignGet() must exist');
  return fn!.bind(ctx.storage);
}

function presignPutOf(ctx: StorageCheckContext): NonNullable<StorageInstance['presignPut']> {
  const fn = ctx.storage.presignPut;
  assert.equal(typeof fn, 'function', 'capabilities.presignPut is true, so presignPut() must exist');
  return fn!.bind(ctx.storage);
}

// ---- the checks ------------------------------------------------------------------------------------

export const storageConformanceChecks: readonly StorageConformanceCheck[] = [
  {
    name: 'put/get round trip: Buffer',
    run: (ctx) => roundTrip(ctx, `${ctx.prefix}buffer.bin`, patternBytes(10_000), patternBytes(10_000)),
  },
  {
    name: 'put/get round trip: Uint8Array',
    run: async (ctx) => {
      const bytes = patternBytes(4_321, 7);
      await roundTrip(ctx, `${ctx.prefix}u8.bin`, new Uint8Array(bytes), bytes);
    },
  },
  {
    name: 'put/get round trip: string (UTF-8)',
    run: (ctx) =>
      roundTrip(
        ctx,
        `${ctx.prefix}text.txt`,
        'héllo wörld ✓ 数据',
        Buffer.from('héllo wörld ✓ 数据', 'utf8'),
      ),
  },
  {
    name: 'put/get round trip: Readable stream',
    run: async (ctx) => {
      const bytes = patternBytes(300_000, 3);
      const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 65_536), bytes.subarray(65_536)];
      await roundTrip(ctx, `${ctx.prefix}stream.bin`, Readable.from(chunks), bytes);
    },
  },
  {
    name: 'put/get round trip: async iterable',
    run: async (ctx) => {
      const bytes = patternBytes(100_000, 5);
      async function* gen(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < bytes.length; i += 30_000) yield new Uint8Array(bytes.subarray(i, i + 30_000));
      }
      await roundTrip(ctx, `${ctx.prefix}iter.bin`, gen(), bytes);
    },
  },
  {
    name: 'put/get round trip: empty object',
    run: (ctx) => roundTrip(ctx, `${ctx.prefix}empty`, Buffer.alloc(0), Buffer.alloc(0)),
  },
  {
    name: 'head reports size and content type; null when missing',
    run: async (ctx) => {
      const key = `${ctx.prefix}img.jpg`;
      await ctx.storage.put(key, Buffer.from('not really a jpeg'), { contentType: 'image/jpeg' });
      const info = await ctx.storage.head(key);
      assert.ok(info, 'head() of an existing key returns info');
      assert.equal(info.key, key);
      assert.equal(info.size, 17);
      assert.equal(info.contentType, 'image/jpeg', 'head() returns the content type given to put()');
      assert.equal(
        await ctx.storage.head(`${ctx.prefix}missing.jpg`),
        null,
        'head() of a missing key returns null',
      );
      const got = await ctx.storage.get(key);
      got.body.destroy();
      assert.equal(got.contentType, 'image/jpeg', 'get() returns the content type given to put()');
    },
  },
  {
    name: 'get of a missing key throws STORAGE_OBJECT_NOT_FOUND',
    run: (ctx) =>
      expectLabelerError(
        ctx.storage.get(`${ctx.prefix}does-not-exist`),
        'STORAGE_OBJECT_NOT_FOUND',
        'get(missing)',
      ),
  },
  {
    name: 'delete removes the object and is idempotent',
    run: async (ctx) => {
      const key = `${ctx.prefix}gone.txt`;
      await ctx.storage.put(key, 'bye');
      await ctx.storage.delete(key);
      assert.equal(await ctx.storage.head(key), null, 'head() after delete() returns null');
      await expectLabelerError(ctx.storage.get(key), 'STORAGE_OBJECT_NOT_FOUND', 'get() after delete()');
      await ctx.storage.delete(key);
      await ctx.storage.delete(`${ctx.prefix}never-existed/x.txt`);
    },
  },
  {
    name: 'overwrite replaces bytes, size and content type',
    run: async (ctx) => {
      const key = `${ctx.prefix}over.txt`;
      await ctx.storage.put(key, 'first version, longer', { contentType: 'text/plain' });
      await ctx.storage.put(key, 'second', { contentType: 'application/json' });
      const got = await ctx.storage.get(key);
      assert.equal((await readAll(got.body)).toString(), 'second');
      const info = await ctx.storage.head(key);
      assert.equal(info?.size, 6);
      assert.equal(info?.contentType, 'application/json');
    },
  },
  {
    name: 'list filters by prefix',
    run: async (ctx) => {
      const keys = ['a/1.txt', 'a/2.txt', 'a/sub/3.txt', 'ab/4.txt', 'b/5.txt'].map((k) => ctx.prefix + k);
      await Promise.all(keys.map((key) => ctx.storage.put(key, key)));
      const underA = await listAll(ctx.storage, `${ctx.prefix}a/`);
      assert.deepEqual(underA.keys, keys.slice(0, 3), 'prefix "a/" lists exactly a/1, a/2, a/sub/3');
      const startsWithA = await listAll(ctx.storage, `${ctx.prefix}a`);
      assert.deepEqual(startsWithA.keys, keys.slice(0, 4), 'prefix "a" is a string prefix, not a folder');
      const page = await ctx.storage.list({ prefix: `${ctx.prefix}a/1` });
      assert.equal(page.items[0]?.size, keys[0]!.length, 'list items carry the object size');
      const none = await ctx.storage.list({ prefix: `${ctx.prefix}zzz/` });
      assert.deepEqual(
        none,
        { items: [], nextCursor: null },
        'an empty prefix gives no items and a null cursor',
      );
    },
  },
  {
    name: 'list paginates with a cursor: every key exactly once, ascending',
    run: async (ctx) => {
      const keys = Array.from(
        { length: 23 },
        (_, i) => `${ctx.prefix}p/${String(i).padStart(3, '0')}-${i % 2 ? 'odd' : 'even'}.txt`,
      );
      for (let i = 0; i < keys.length; i += 8)
        await Promise.all(keys.slice(i, i + 8).map((key) => ctx.storage.put(key, 'x')));
      const expected = [...keys].sort(byUtf8);
      for (const limit of [1, 5, 7]) {
        const { keys: seen, pages } = await listAll(ctx.storage, `${ctx.prefix}p/`, limit);
        assert.deepEqual(seen, expected, `limit ${limit}: all ${keys.length} keys, each once, ascending`);
        assert.ok(
          pages >= Math.ceil(keys.length / limit),
          `limit ${limit}: at least ${Math.ceil(keys.length / limit)} pages, got ${pages}`,
        );
      }
      const exact = await listAll(ctx.storage, `${ctx.prefix}p/`, 23);
      assert.deepEqual(exact.keys, expected, 'limit equal to the key count lists everything');
    },
  },
  {
    name: 'keys with spaces and unicode round trip and list',
    run: async (ctx) => {
      const keys = [
        'with space/file name.jpg',
        'ünïcödé/图像 1.png',
        'emoji/🐱.txt',
        'symbols/a+b=c&d?e#f%20.txt',
      ].map((k) => ctx.prefix + k);
      for (const key of keys) await ctx.storage.put(key, `body of ${key}`);
      for (const key of keys) {
        const got = await ctx.storage.get(key);
        assert.equal(
          (await readAll(got.body)).toString(),
          `body of ${key}`,
          `round trip of ${JSON.stringify(key)}`,
        );
        assert.equal((await ctx.storage.head(key))?.key, key, `head of ${JSON.stringify(key)}`);
      }
      const { keys: listed } = await listAll(ctx.storage, ctx.prefix);
      assert.deepEqual(
        listed,
        [...keys].sort(byUtf8),
        'list returns the keys unchanged, ascending by UTF-8 bytes',
      );
    },
  },
  {
    name: 'invalid keys are refused with STORAGE_KEY_INVALID',
    run: async (ctx) => {
      const bad = [
        '../x',
        `${ctx.prefix}../../escape`,
        '/abs',
        `${ctx.prefix}back\\slash`,
        '',
        `${ctx.prefix}nul\u0000`,
        'a/./b',
      ];
      for (const key of bad) {
        const label = JSON.stringify(key);
        await expectLabelerError(ctx.storage.put(key, 'x'), 'STORAGE_KEY_INVALID', `put(${label})`);
        await expectLabelerError(ctx.storage.get(key), 'STORAGE_KEY_INVALID', `get(${label})`);
        await expectLabelerError(ctx.storage.head(key), 'STORAGE_KEY_INVALID', `head(${label})`);
        await expectLabelerError(ctx.storage.delete(key), 'STORAGE_KEY_INVALID', `delete(${label})`);
      }
    },
  },
  {
    name: 'streaming get of a multi-MB object',
    run: async (ctx) => {
      const bytes = patternBytes(ctx.largeObjectBytes, 11);
      const key = `${ctx.prefix}large.bin`;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < bytes.length; i += 256 * 1024) yield bytes.subarray(i, i + 256 * 1024);
      }
      const info = await ctx.storage.put(key, Readable.from(chunks()), { contentLength: bytes.length });
      assert.equal(info.size, bytes.length);
      const got = await ctx.storage.get(key);
      assert.equal(got.size, bytes.length);
      const hash = createHash('sha256');
      let chunkCount = 0;
      let total = 0;
      for await (const chunk of got.body as AsyncIterable<Buffer>) {
        chunkCount++;
        total += chunk.length;
        hash.update(chunk);
      }
      assert.equal(total, bytes.length, 'streamed byte count');
      assert.equal(hash.digest('hex'), sha256(bytes), 'sha256 of the streamed bytes');
      assert.ok(chunkCount > 1, `get() streams the body in chunks (got ${chunkCount} chunk), not one buffer`);
    },
  },
  {
    name: 'presignGet: the URL serves the bytes',
    applies: hasPresignGet,
    run: async (ctx) => {
      const key = `${ctx.prefix}dl/photo 1.jpg`;
      const bytes = patternBytes(50_000, 13);
      await ctx.storage.put(key, bytes, { contentType: 'image/jpeg' });
      const before = Date.now();
      const signed = await presignGetOf(ctx)(key, { expiresInSeconds: 300 });
      const expiresAt = Date.parse(signed.expiresAt);
      assert.ok(
        Math.abs(expiresAt - (before + 300_000)) < 5_000,
        `expiresAt is about 300 s from now (got ${signed.expiresAt})`,
      );
      const res = await ctx.fetch(signed.url);
      assert.equal(
        res.status,
        200,
        `GET presigned URL status ${res.status}: ${res.status === 200 ? '' : await res.text()}`,
      );
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'presigned GET returns the object bytes');
    },
  },
  {
    name: 'presignPut: the URL uploads the body',
    applies: hasPresignPut,
    run: async (ctx) => {
      const key = `${ctx.prefix}ul/upload 1.bin`;
      const bytes = patternBytes(70_000, 17);
      const signed = await presignPutOf(ctx)(key, { expiresInSeconds: 300 });
      const res = await ctx.fetch(signed.url, { method: 'PUT', body: new Uint8Array(bytes) });
      assert.ok(
        res.status >= 200 && res.status < 300,
        `PUT presigned URL status ${res.status}: ${res.ok ? '' : await res.text()}`,
      );
      await res.arrayBuffer();
      const got = await ctx.storage.get(key);
      assert.ok((await readAll(got.body)).equals(bytes), 'the object holds the uploaded bytes');
    },
  },
  {
    name: 'presigned URLs: tampered signature or key is refused',
    applies: (c) => c.presignGet || c.presignPut,
    run: async (ctx) => {
      const key = `${ctx.prefix}t/secret.txt`;
      const other = `${ctx.prefix}t/other.txt`;
      await ctx.storage.put(key, 'secret');
      await ctx.storage.put(other, 'other');
      if (ctx.capabilities.presignGet) {
        const { url } = await presignGetOf(ctx)(key, { expiresInSeconds: 300 });
        const bad = await ctx.fetch(tamperSignature(url));
        assertRefused(bad.status, 'GET with a tampered signature');
        assert.notEqual(await bad.text(), 'secret', 'a tampered URL must not return the object');
        const swapped = await ctx.fetch(
          url
            .replace(encodeURIComponent('secret.txt'), encodeURIComponent('other.txt'))
            .replace('secret.txt', 'other.txt'),
        );
        assertRefused(swapped.status, 'GET with the key in the URL changed');
        assert.notEqual(await swapped.text(), 'other', 'a URL signed for one key must not serve another');
      }
      if (ctx.capabilities.presignPut) {
        const { url } = await presignPutOf(ctx)(key, { expiresInSeconds: 300 });
        const bad = await ctx.fetch(tamperSignature(url), { method: 'PUT', body: 'overwritten' });
        assertRefused(bad.status, 'PUT with a tampered signature');
        await bad.arrayBuffer();
        const got = await ctx.storage.get(key);
        assert.equal(
          (await readAll(got.body)).toString(),
          'secret',
          'a refused PUT leaves the object unchanged',
        );
      }
    },
  },
  {
    name: 'presigned URLs: expired URL is refused',
    applies: (c) => c.presignGet || c.presignPut,
    run: async (ctx) => {
      const key = `${ctx.prefix}e/soon.txt`;
      await ctx.storage.put(key, 'expiring');
      const get = ctx.capabilities.presignGet ? await presignGetOf(ctx)(key, { expiresInSeconds: 1 }) : null;
      const put = ctx.capabilities.presignPut ? await presignPutOf(ctx)(key, { expiresInSeconds: 1 }) : null;
      // Expiry has whole-second resolution on every implementation we know; wait past it with margin.
      await sleep(2_200);
      if (get) {
        const res = await ctx.fetch(get.url);
        assertRefused(res.status, 'GET with an expired URL');
        assert.notEqual(await res.text(), 'expiring');
      }
      if (put) {
        const res = await ctx.fetch(put.url, { method: 'PUT', body: 'late' });
        assertRefused(res.status, 'PUT with an expired URL');
        await res.arrayBuffer();
      }
    },
  },
  {
    name: 'presign expiry outside 1 s to 7 days is refused with PRESIGN_EXPIRY_INVALID',
    applies: (c) => c.presignGet || c.presignPut,
    run: async (ctx) => {
      const key = `${ctx.prefix}x/any.txt`;
      const methods = [
        ...(ctx.capabilities.presignGet ? [['presignGet', presignGetOf(ctx)] as const] : []),
        ...(ctx.capabilities.presignPut ? [['presignPut', presignPutOf(ctx)] as const] : []),
      ];
      for (const [name, presign] of methods) {
        for (const seconds of [0, -5, 1.5, MAX_PRESIGN_SECONDS + 1, Number.NaN]) {
          await expectLabelerError(
            presign(key, { expiresInSeconds: seconds }),
            'PRESIGN_EXPIRY_INVALID',
            `${name}(expiresInSeconds: ${seconds})`,
          );
        }
        const max = await presign(key, { expiresInSeconds: MAX_PRESIGN_SECONDS });
        assert.ok(max.url.length > 0, `${name} accepts exactly 7 days`);
      }
    },
  },
  {
    name: 'capabilities match the methods offered',
    run: async (ctx) => {
      assert.equal(
        typeof ctx.storage.presignGet === 'function',
        ctx.capabilities.presignGet,
        'presignGet() exists exactly when capabilities.presignGet',
      );
      assert.equal(
        typeof ctx.storage.presignPut === 'function',
        ctx.capabilities.presignPut,
        'presignPut() exists exactly when capabilities.presignPut',
      );
    },
  },
  {
    name: 'health() reports healthy',
    run: async (ctx) => {
      const report = await ctx.storage.health();
      assert.equal(report.status, 'healthy', `health(): ${report.status} ${report.message ?? ''}`);
      assert.ok(!Number.isNaN(Date.parse(report.checkedAt)), 'checkedAt is an ISO timestamp');
    },
  },
  {
    name: 'dispose() resolves and may be called twice',
    run: async (ctx) => {
      const extra = await ctx.create();
      await extra.dispose();
      await extra.dispose();
    },
  },
];

// ---- runners ---------------------------------------------------------------------------------------

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

function contextFor(
  options: StorageConformanceOptions,
  storage: StorageInstance,
  runId: string,
  check: StorageConformanceCheck,
): StorageCheckContext {
  return {
    storage,
    capabilities: options.capabilities,
    fetch: options.fetch ?? globalThis.fetch,
    prefix: `${options.keyPrefix ?? ''}conformance-${runId}/${slug(check.name)}/`,
    largeObjectBytes: options.largeObjectBytes ?? 6 * 1024 * 1024,
    create: options.create,
  };
}

async function runOne(
  options: StorageConformanceOptions,
  storage: StorageInstance,
  runId: string,
  check: StorageConformanceCheck,
): Promise<void> {
  const ctx = contextFor(options, storage, runId, check);
  try {
    await check.run(ctx);
  } finally {
    // Best effort: a cleanup failure must not hide the check's own result.
    await cleanup(storage, ctx.prefix).catch(() => undefined);
  }
}

const newRunId = (): string => `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Runs every check against one instance and reports each result; never throws for a failed check. */
export async function checkStorageConformance(
  options: StorageConformanceOptions,
): Promise<StorageCheckResult[]> {
  const storage = await options.create();
  const runId = newRunId();
  const results: StorageCheckResult[] = [];
  try {
    for (const check of storageConformanceChecks) {
      if (
        options.skip?.[check.name] !== undefined ||
        (check.applies && !check.applies(options.capabilities))
      ) {
        results.push({ name: check.name, ok: true, skipped: true });
        continue;
      }
      try {
        await runOne(options, storage, runId, check);
        results.push({ name: check.name, ok: true });
      } catch (error) {
        results.push({
          name: check.name,
          ok: false,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    }
  } finally {
    await storage.dispose();
  }
  return results;
}

/** Registers the kit as a vitest suite: one `it` per check, inside `describe('storage conformance: <name>')`. */
export function runStorageConformance(options: StorageConformanceOptions): void {
  describe(`storage conformance: ${options.name}`, () => {
    let storage: StorageInstance | undefined;
    const runId = newRunId();
    beforeAll(async () => {
      storage = await options.create();
    });
    afterAll(async () => {
      await storage?.dispose();
    });
    for (const check of storageConformanceChecks) {
      const skipReason = options.skip?.[check.name];
      const applies = !check.applies || check.applies(options.capabilities);
      if (skipReason !== undefined || !applies) {
        it.skip(`${check.name} (${skipReason ?? 'not in capabilities'})`, () => {});
        continue;
      }
      it(check.name, async () => {
        assert.ok(storage, 'storage instance was created');
        await runOne(options, storage, runId, check);
      });
    }
  });
}
