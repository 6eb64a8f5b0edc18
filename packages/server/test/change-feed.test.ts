/**
 * The change feed (src/db/change-feed.ts) must notice a connection that fails without closing (a network
 * partition: the socket stays open and nothing arrives), since the caches it keeps coherent have no other
 * expiry. A TCP proxy between the feed and PostgreSQL stops forwarding to play that partition.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed } from '../src/db/change-feed.js';
import { createLogger } from '../src/lib/logger.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let db: TestDatabase;
let proxy: TcpProxy;

beforeAll(async () => {
  db = await createTestDatabase('labeler_feed');
  proxy = await startTcpProxy(db.url);
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
});

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

describe('change feed', () => {
  it('delivers notifications, and counts a silent connection as lost within a heartbeat', async () => {
    const feed = new ChangeFeed(proxy.url, createLogger('silent'), {
      heartbeatMs: 200,
      heartbeatTimeoutMs: 300,
      connectTimeoutMs: 500,
    });
    const changed: string[] = [];
    const resets: boolean[] = [];
    feed.subscribe('labeler_test_changes', {
      changed: (payload) => changed.push(payload),
      reset: (listening) => resets.push(listening),
    });
    const sender = new pg.Client({ connectionString: db.url });
    sender.on('error', () => undefined);
    await sender.connect();
    await feed.start();
    try {
      expect(feed.listening).toBe(true);
      await sender.query(`select pg_notify('labeler_test_changes', 'ds_1')`);
      await until(() => changed.includes('ds_1'), 5_000);
      // Heartbeats keep a healthy connection listening.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(feed.listening).toBe(true);

      await proxy.setMode('partition');
      const lostAfter = await until(() => !feed.listening, 3_000);
      expect(lostAfter).toBeLessThan(1_000);
      expect(resets.at(-1)).toBe(false);
      // A change made meanwhile never arrives; the subscriber was reset instead, so nothing stale stays.
      await sender.query(`select pg_notify('labeler_test_changes', 'ds_2')`);
      // Stay partitioned past a reconnect attempt (every 2 s): it must time out, not wait forever.
      await new Promise((r) => setTimeout(r, 2_800));
      expect(feed.listening).toBe(false);

      await proxy.setMode('forward');
      await until(() => feed.listening, 6_000);
      expect(resets.at(-1)).toBe(true);
      await sender.query(`select pg_notify('labeler_test_changes', 'ds_3')`);
      await until(() => changed.includes('ds_3'), 5_000);
      expect(changed).not.toContain('ds_2');
    } finally {
      await feed.stop();
      await sender.end();
    }
  });
});
