/**
 * Audit rows written outside a transaction (one per issued download URL) are inserted in groups when
 * requests arrive together (modules/audit/service.ts): every row must still be committed before its
 * caller continues, and a row the database refuses must fail only its own caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const actor = {
  kind: 'service_account' as const,
  id: 'sa_audit',
  name: 'audit test',
  organizationId: null,
  roles: [],
  scopes: [],
  authenticatedBy: 'test',
};

async function rows(action: string) {
  return (await server.services.orm.em
    .fork()
    .getConnection()
    .execute(
      `select "target_id", "details", "actor_name", "ip", "request_id", "at" from "audit_event" where "action" = ? order by "target_id"`,
      [action],
    )) as Array<{
    target_id: string;
    details: { n: number; text: string };
    actor_name: string;
    ip: string | null;
    request_id: string | null;
    at: unknown;
  }>;
}

describe('grouped audit appends', () => {
  it('commits every row of concurrent callers, field for field, in fewer inserts than rows', async () => {
    const n = 300;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        server.services.audit.record({
          actor,
          action: 'test.grouped',
          targetType: 'dataset',
          targetId: `ds_${String(i).padStart(4, '0')}`,
          details: { n: i, text: `quote " backslash \\ unicode 한국어 ${i}` },
          requestId: i % 2 ? `req_${i}` : null,
          ip: i % 3 ? null : '10.0.0.1',
        }),
      ),
    );
    const written = await rows('test.grouped');
    expect(written).toHaveLength(n);
    written.forEach((row, i) => {
      expect(row.target_id).toBe(`ds_${String(i).padStart(4, '0')}`);
      expect(row.details).toEqual({ n: i, text: `quote " backslash \\ unicode 한국어 ${i}` });
      expect(row.actor_name).toBe('audit test');
      expect(row.request_id).toBe(i % 2 ? `req_${i}` : null);
      expect(row.ip).toBe(i % 3 ? null : '10.0.0.1');
    });
    // Rows of one insert share its transaction's now(): fewer distinct times than rows means grouping.
    expect(new Set(written.map((row) => String(row.at))).size).toBeLessThan(n / 2);
  });

  it("inside a caller's transaction, commits and rolls back with it", async () => {
    const em = server.services.orm.em.fork();
    await em.transactional((tem) =>
      server.services.audit.record({
        em: tem,
        actor,
        action: 'test.in_transaction',
        targetId: 'ds_committed',
        details: { n: 1, text: 'ünïcode "quoted"' },
        requestId: 'req_tx',
        ip: '10.0.0.2',
      }),
    );
    await expect(
      em.transactional(async (tem) => {
        await server.services.audit.record({
          em: tem,
          actor,
          action: 'test.in_transaction',
          targetId: 'ds_rolled_back',
        });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const written = await rows('test.in_transaction');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      target_id: 'ds_committed',
      details: { n: 1, text: 'ünïcode "quoted"' },
      actor_name: 'audit test',
      request_id: 'req_tx',
      ip: '10.0.0.2',
    });
  });

  it('fails only the row the database refuses', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 21 }, (_, i) =>
        server.services.audit.record({
          actor,
          action: 'test.refused',
          targetId: i === 10 ? 'x'.repeat(300) : `ok_${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[10]!.status).toBe('rejected');
    const written = await rows('test.refused');
    expect(written.map((row) => row.target_id)).toEqual(
      Array.from({ length: 21 }, (_, i) => `ok_${String(i).padStart(2, '0')}`).filter((_, i) => i !== 10),
    );
  });
});
