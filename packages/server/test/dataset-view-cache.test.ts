/**
 * Batch reads are served from an in-memory view cache (modules/datasets/view-cache.ts) kept coherent by
 * a trigger on `dataset` and each process's LISTEN connection (db/change-feed.ts). These tests change
 * datasets every way a deployment can (this process's API, another server process, plain SQL) and
 * require the next batch reads to show the change; and they cut the LISTEN connection.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed } from '../src/db/change-feed.js';
import { createLogger } from '../src/lib/logger.js';
import { DATASET_CHANGES_CHANNEL } from '../src/modules/datasets/entities.js';
import { DatasetViewCache } from '../src/modules/datasets/view-cache.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { createDataset, createServiceAccount, SYSTEM_ACTOR } from './helpers.js';

let a: TestServer;
let b: ChildServer;
let sql: pg.Client;
let key: string;

beforeAll(async () => {
  a = await startTestServer();
  b = await startChildServer({
    DATABASE_URL: a.database!.url,
    LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
  });
  sql = new pg.Client({ connectionString: a.database!.url });
  await sql.connect();
  key = (await createServiceAccount(a, ['datasets:read'], 'view-cache')).api_key;
  // Subscribed after the view cache, so a marker reaching this subscriber has reached the cache too.
  a.services.changes.subscribe(DATASET_CHANGES_CHANNEL, {
    changed: (payload) => drained.get(payload)?.(),
    reset: () => undefined,
  });
});

const drained = new Map<string, () => void>();

/**
 * Resolves once `a`'s change feed has handled every dataset change committed before the call: PostgreSQL
 * delivers notifications in commit order, so a marker notified now arrives after all of them. Without
 * it, the notice of a test's own insert can land after a read began and keep that read from being
 * cached, or drop the page it cached.
 */
async function drainChanges(): Promise<void> {
  const marker = `drain-${randomUUID()}`;
  const seen = new Promise<void>((resolve) => drained.set(marker, resolve));
  await sql.query('select pg_notify($1, $2)', [DATASET_CHANGES_CHANNEL, marker]);
  await seen;
  drained.delete(marker);
}
afterAll(async () => {
  await sql?.end();
  await b?.stop();
  await a?.stop();
});

type BatchBody = { datasets: Record<string, Record<string, unknown> | null>; errors: Record<string, string> };

async function batch(base: string, ids: string[], apiKey = key, fields?: string[]) {
  const res = await fetch(`${base}/api/v1/datasets/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dataset_ids: ids, ...(fields ? { fields } : {}) }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { text, body: JSON.parse(text) as BatchBody };
}

async function lookups(base: string, kind = 'dataset'): Promise<{ hit: number; miss: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const count = (result: string) =>
    Number(
      new RegExp(
        `labeler_dataset_view_cache_lookups_total\\{kind="${kind}",result="${result}"\\} (\\d+)`,
      ).exec(text)?.[1] ?? 0,
    );
  return { hit: count('hit'), miss: count('miss') };
}

/** Polls `read` until `check` passes (changes from elsewhere arrive asynchronously), or fails after `withinMs`. */
async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => void,
  withinMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('dataset view cache', () => {
  it('answers repeated batches from memory, byte for byte as the first read', async () => {
    const d1 = await createDataset(a, { name: 'cache-one' });
    const d2 = await createDataset(a, { name: 'cache-two', visibility: 'private' });
    const missing = 'ds_00000000000000ff';
    const ids = [d1.id, d2.id, missing];
    await drainChanges();
    const first = await batch(a.url, ids);
    const before = await lookups(a.url);
    const second = await batch(a.url, ids);
    const after = await lookups(a.url);
    expect(second.text).toBe(first.text);
    expect(after.hit - before.hit).toBe(3);
    expect(after.miss - before.miss).toBe(0);
    expect(second.body.datasets[missing]).toBeNull();
    expect(second.body.errors[missing]).toBe('Dataset not found');
    // A field selection is cached as its own view.
    const selected = await batch(a.url, [d1.id], key, ['name', 'version']);
    expect(selected.body.datasets[d1.id]).toEqual({ name: 'cache-one', version: 1 });
    expect((await batch(a.url, [d1.id], key, ['name', 'version'])).text).toBe(selected.text);
  });

  it("shows this process's own writes at once", async () => {
    const d = await createDataset(a, { name: 'own-write' });
    await batch(a.url, [d.id]);
    const patched = await a.request(`/api/v1/datasets/${d.id}`, {
      method: 'PATCH',
      body: { name: 'own-write-2' },
    });
    expect(patched.status, patched.text).toBe(200);
    expect((await batch(a.url, [d.id])).body.datasets[d.id]?.name).toBe('own-write-2');
    expect((await a.request(`/api/v1/datasets/${d.id}`, { method: 'DELETE' })).status).toBe(200);
    const gone = await batch(a.url, [d.id]);
    expect(gone.body.datasets[d.id]).toBeNull();
    expect(gone.body.errors[d.id]).toBe('Dataset not found');
  });

  it("shows another server process's writes", async () => {
    const d = await createDataset(a, { name: 'cross-process' });
    // Both processes hold the view now.
    await batch(a.url, [d.id]);
    await batch(b.url, [d.id]);
    await batch(b.url, [d.id]);
    const patched = await a.request(`/api/v1/datasets/${d.id}`, {
      method: 'PATCH',
      body: { name: 'cross-process-2', visibility: 'private' },
    });
    expect(patched.status, patched.text).toBe(200);
    await eventually(
      () => batch(b.url, [d.id]),
      ({ body }) =>
        expect(body.datasets[d.id]).toMatchObject({ name: 'cross-process-2', visibility: 'private' }),
    );
  });

  it('shows changes made in plain SQL: update, insert of a missing id, soft delete', async () => {
    const d = await createDataset(a, { name: 'plain-sql' });
    const newId = 'ds_00000000000abcde';
    await batch(a.url, [d.id, newId]);
    await batch(a.url, [d.id, newId]);
    await sql.query(`update "dataset" set "name" = 'plain-sql-2', "num_images" = 7 where "id" = $1`, [d.id]);
    await eventually(
      () => batch(a.url, [d.id]),
      ({ body }) => expect(body.datasets[d.id]).toMatchObject({ name: 'plain-sql-2', num_images: 7 }),
    );
    await sql.query(
      `insert into "dataset" ("id","name","format","labeled","storage_type","storage_path","num_classes","num_images","class_names","tags","visibility","owner_id","version","created_at","updated_at")
       values ($1, 'inserted', 'yolo', true, 'local', 'datasets/x/', 0, 0, '{}', '{}', 'public', 5, 0, now(), now())`,
      [newId],
    );
    await eventually(
      () => batch(a.url, [newId]),
      ({ body }) => expect(body.datasets[newId]).toMatchObject({ name: 'inserted', format: 'yolo' }),
    );
    await sql.query(`update "dataset" set "deleted_at" = now() where "id" = $1`, [d.id]);
    await eventually(
      () => batch(a.url, [d.id]),
      ({ body }) => expect(body.datasets[d.id]).toBeNull(),
    );
  });

  it('decides visibility per caller, also for cached views', async () => {
    const org = await a.services.organizations.create('Cache Org', 'cache-org', SYSTEM_ACTOR);
    const own = await createDataset(a, {
      name: 'org-private',
      visibility: 'private',
      organization_id: org.id,
    });
    const outsider = (await createServiceAccount(a, ['datasets:read'], 'cache-outsider')).api_key;
    const member = (await createServiceAccount(a, ['datasets:read'], 'cache-member')).api_key;
    await sql.query(
      `update "service_account" set "organization_id" = 'org_elsewhere' where "name" = 'cache-outsider'`,
    );
    await sql.query(`update "service_account" set "organization_id" = $1 where "name" = 'cache-member'`, [
      org.id,
    ]);
    // The platform-wide key fills the cache; the organization's keys then read through it.
    await batch(a.url, [own.id]);
    for (let i = 0; i < 2; i++) {
      expect((await batch(a.url, [own.id], outsider)).body.datasets[own.id]).toBeNull();
      expect((await batch(a.url, [own.id], member)).body.datasets[own.id]).toMatchObject({
        name: 'org-private',
      });
    }
  });

  it('reads through the database while the LISTEN connection is down, then caches again', async () => {
    const d = await createDataset(a, { name: 'feed-loss' });
    await batch(a.url, [d.id]);
    const feeds = `select pid from pg_stat_activity where application_name = 'labeler-change-feed' and datname = current_database()`;
    expect((await sql.query(feeds)).rowCount).toBe(2);
    await sql.query(`select pg_terminate_backend(pid) from (${feeds}) f`);
    await eventually(
      async () => a.services.changes.listening,
      (listening) => expect(listening).toBe(false),
    );
    // Missed notifications cannot leave a stale view behind: the cache is off and was cleared.
    await sql.query(`update "dataset" set "name" = 'feed-loss-2' where "id" = $1`, [d.id]);
    const before = await lookups(a.url);
    expect((await batch(a.url, [d.id])).body.datasets[d.id]?.name).toBe('feed-loss-2');
    expect(await lookups(a.url)).toEqual(before);
    // The feed reconnects (every 2 s) and the cache serves again.
    await eventually(
      async () => a.services.changes.listening,
      (listening) => expect(listening).toBe(true),
    );
    await batch(a.url, [d.id]);
    const warm = await lookups(a.url);
    expect((await batch(a.url, [d.id])).body.datasets[d.id]?.name).toBe('feed-loss-2');
    expect((await lookups(a.url)).hit).toBe(warm.hit + 1);
  });

  it('serves a repeated list page from memory until any dataset changes', async () => {
    const tag = 'page-cache';
    const list = async (base: string) => {
      const res = await fetch(`${base}/api/v1/datasets?tags=${tag}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { total: number; datasets: Array<{ id: string; name: string }> };
    };
    const d = await createDataset(a, { name: 'page-one', tags: [tag] });
    await drainChanges();
    const first = await list(a.url);
    expect(first.datasets.map((x) => x.id)).toEqual([d.id]);
    const before = await lookups(a.url, 'list_page');
    expect((await list(a.url)).datasets).toEqual(first.datasets);
    expect((await lookups(a.url, 'list_page')).hit).toBe(before.hit + 1);
    // Changes made by the other process and in plain SQL reach both processes' pages.
    await list(b.url);
    await list(b.url);
    const other = await createDataset(a, { name: 'page-two', tags: [tag] });
    await eventually(
      () => list(b.url),
      (page) => {
        expect(page.datasets.map((x) => x.id)).toEqual([other.id, d.id]);
        // Totals too: counts are cached for 5 s, but the change feed clears them.
        expect(page.total).toBe(2);
      },
      2_000,
    );
    expect((await list(a.url)).datasets.map((x) => x.id)).toEqual([other.id, d.id]);
    await sql.query(`update "dataset" set "name" = 'page-one-renamed' where "id" = $1`, [d.id]);
    for (const base of [a.url, b.url])
      await eventually(
        () => list(base),
        (page) => expect(page.datasets.find((x) => x.id === d.id)?.name).toBe('page-one-renamed'),
      );
  });

  it('forgets every view when the table is truncated', async () => {
    const d = await createDataset(a, { name: 'truncated' });
    await batch(a.url, [d.id]);
    await batch(b.url, [d.id]);
    await sql.query('truncate "dataset" cascade');
    for (const base of [a.url, b.url])
      await eventually(
        () => batch(base, [d.id]),
        ({ body }) => expect(body.datasets[d.id]).toBeNull(),
      );
  });
});

describe('DatasetViewCache', () => {
  const facts = { organizationId: null, visibility: 'public' as const, deleted: false };
  const feed = new ChangeFeed(undefined, createLogger('silent'));

  it('drops what a read saw if a change arrived while it was in flight', () => {
    const cache = new DatasetViewCache(feed, 1 << 20);
    const generation = cache.generation;
    cache.changed('ds_a');
    cache.store(generation, 'ds_b', facts, 'id', '{"id":"ds_b"}');
    expect(cache.lookup('ds_b', 'id')).toBeUndefined();
    cache.store(cache.generation, 'ds_b', facts, 'id', '{"id":"ds_b"}');
    expect(cache.lookup('ds_b', 'id')).toMatchObject({ facts, json: '{"id":"ds_b"}' });
    cache.changed('ds_b');
    expect(cache.lookup('ds_b', 'id')).toBeUndefined();
  });

  it('keeps views per field list, forgets them all on a change, and clears on "*"', () => {
    const cache = new DatasetViewCache(feed, 1 << 20);
    cache.store(cache.generation, 'ds_a', facts, 'id', '{"id":"ds_a"}');
    cache.store(cache.generation, 'ds_a', facts, 'id,name', '{"id":"ds_a","name":"A"}');
    cache.store(cache.generation, 'ds_none', null, 'id');
    expect(cache.lookup('ds_a', 'id')).toMatchObject({ facts, json: '{"id":"ds_a"}' });
    expect(cache.lookup('ds_a', 'id,name')).toMatchObject({ facts, json: '{"id":"ds_a","name":"A"}' });
    expect(cache.lookup('ds_a', 'name')).toBeUndefined();
    expect(cache.lookup('ds_none', 'anything')).toEqual({ facts: null });
    cache.changed('*');
    expect(cache.size).toBe(0);
  });

  it('stays within its byte budget and is off at 0 bytes', () => {
    const cache = new DatasetViewCache(feed, 10_000);
    for (let i = 0; i < 100; i++) cache.store(cache.generation, `ds_${i}`, facts, 'id', 'x'.repeat(500));
    expect(cache.size).toBeLessThanOrEqual(10_000 / 700 + 1);
    expect(cache.lookup('ds_99', 'id')).toBeDefined();
    const off = new DatasetViewCache(feed, 0);
    off.store(off.generation, 'ds_a', facts, 'id', '{}');
    expect(off.active).toBe(false);
    expect(off.lookup('ds_a', 'id')).toBeUndefined();
  });
});
