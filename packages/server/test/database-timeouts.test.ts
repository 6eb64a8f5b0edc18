/**
 * The time limits on the PostgreSQL pools (db/timeouts.ts) and how their failures reach clients
 * (trpc/errors.ts toRequestError: 503 SERVICE_UNAVAILABLE with Retry-After), on a real database.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastSql, type FastSql } from '../src/db/fast-sql.js';
import { openDatabase, type Orm } from '../src/db/orm.js';
import type { DatabaseTimeouts } from '../src/db/timeouts.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { toRequestError } from '../src/trpc/errors.js';

const TIMEOUTS: DatabaseTimeouts = {
  connectTimeoutMs: 300,
  statementTimeoutMs: 1_000,
  lockTimeoutMs: 500,
  idleInTransactionTimeoutMs: 500,
};

let db: TestDatabase;
let orm: Orm;
let sql: FastSql;
let other: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await openDatabase({ databaseUrl: db.url, poolMax: 2, timeouts: TIMEOUTS });
  sql = createFastSql(orm, db.url, 1, TIMEOUTS);
  other = new pg.Client({ connectionString: db.url });
  await other.connect();
  await other.query('create table locked (id int primary key)');
});
afterAll(async () => {
  await other?.end();
  await sql?.close();
  await orm?.close(true);
  await db?.drop();
});

/** Connections of the ORM's pool that are checked out (a leaked one never comes back). */
async function checkedOut(): Promise<number> {
  const pool = await (
    orm.em.getConnection() as unknown as { getNativeClient(): Promise<pg.Pool> }
  ).getNativeClient();
  return pool.totalCount - pool.idleCount;
}

/** The request error a failure becomes, with its reason. */
async function failureOf(
  work: Promise<unknown>,
): Promise<{ code: string; reason: unknown; retryAfter: unknown }> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the statement should have failed').not.toBeNull();
  const labeler = toRequestError(error);
  return { code: labeler.code, reason: labeler.details.reason, retryAfter: labeler.retryAfterSeconds };
}

describe('database timeouts', () => {
  it('statement_timeout on both pools: 57014 → SERVICE_UNAVAILABLE with Retry-After', async () => {
    const conn = orm.em.fork().getConnection();
    expect(await failureOf(conn.execute('select pg_sleep(2)'))).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      reason: '57014',
      retryAfter: 5,
    });
    expect(await failureOf(sql.query('select pg_sleep(2)', []))).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: '57014',
    });
    // Other database errors are not outages.
    expect((await failureOf(conn.execute('select * from no_such_table'))).code).toBe('INTERNAL_ERROR');
    // Both pools still work afterwards.
    expect(await conn.execute('select 1 as one')).toEqual([{ one: 1 }]);
    expect(await sql.query('select 1 as one', [])).toEqual([{ one: 1 }]);
  });

  it('lock_timeout on both pools: 55P03', async () => {
    await other.query('begin');
    await other.query('lock table locked in access exclusive mode');
    try {
      const conn = orm.em.fork().getConnection();
      expect(await failureOf(conn.execute('select * from locked'))).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        reason: '55P03',
      });
      expect(await failureOf(sql.query('select * from locked', []))).toMatchObject({ reason: '55P03' });
    } finally {
      await other.query('rollback');
    }
  });

  it('the fast pool waits for a free connection no longer than the connect timeout', async () => {
    // One connection in the fast pool: while it is busy, a second query waits for the pool.
    const busy = sql.query('select pg_sleep(0.8)', []);
    expect(await failureOf(sql.query('select 1', []))).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'timeout exceeded when trying to connect',
    });
    await busy;
  });

  it('idle_in_transaction_session_timeout ends a forgotten transaction; an admin shutdown of the backend is 57P01', async () => {
    const em = orm.em.fork();
    const idle = await failureOf(
      em.transactional(async (tx) => {
        await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
        await new Promise((r) => setTimeout(r, 1_000));
        await tx.getConnection().execute('select 2', [], 'all', tx.getTransactionContext());
      }),
    );
    expect(idle.code).toBe('SERVICE_UNAVAILABLE');
    // The dead transaction's connection goes back to the pool (Kysely alone would keep it checked out).
    for (let i = 0; i < 50 && (await checkedOut()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await checkedOut()).toBe(0);

    const conn = orm.em.fork().getConnection();
    // Its failure is watched from the start: the rejection can arrive before the terminate's answer does.
    const running = failureOf(conn.execute('select pg_sleep(0.8)'));
    await new Promise((r) => setTimeout(r, 200));
    await other.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'select pg_sleep(0.8)'`,
    );
    const killed = await running;
    expect(killed).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: '57P01' });
  });

  it('too many clients (53300) and refused connections are outages; other database errors stay INTERNAL_ERROR', async () => {
    expect(
      toRequestError(Object.assign(new Error('sorry, too many clients already'), { code: '53300' })).code,
    ).toBe('SERVICE_UNAVAILABLE');
    const refused = new pg.Client({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMillis: 500,
    });
    refused.on('error', () => undefined);
    expect(await failureOf(refused.connect())).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'ECONNREFUSED',
    });
  });
});
