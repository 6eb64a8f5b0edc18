import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../src/db/orm.js';
import { createTestDatabase } from '../src/testing/database.js';
import { startTestServer } from '../src/testing/harness.js';

/** The checked-in migrations must build exactly the schema the entities describe, on both databases. */
async function assertMigrationsMatchEntities(orm: Awaited<ReturnType<typeof openDatabase>>) {
  const applied = await migrate(orm);
  expect(applied.length).toBeGreaterThan(0);
  expect(await migrate(orm)).toEqual([]);
  const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
  expect(
    diff.trim(),
    `entities and migrations differ; run pnpm --filter @labeler/server db:migration\n${diff}`,
  ).toBe('');
}

describe('migrations', () => {
  it('PostgreSQL: apply cleanly, idempotently, and match the entities', async () => {
    const db = await createTestDatabase('labeler_mig');
    const orm = await openDatabase({ databaseUrl: db.url });
    try {
      await assertMigrationsMatchEntities(orm);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });

  it('PGlite: apply cleanly, idempotently, and match the entities', async () => {
    const orm = await openDatabase({ pgliteDataDir: 'memory://' });
    try {
      await assertMigrationsMatchEntities(orm);
    } finally {
      await orm.close(true);
    }
  });

  it('the whole app boots on embedded PGlite', async () => {
    const server = await startTestServer({ pglite: true });
    try {
      expect((await server.request('/readyz', { token: null })).status).toBe(200);
      const created = await server.request('/api/v1/datasets', {
        method: 'POST',
        body: { name: 'on pglite', format: 'yolo', owner_id: 3 },
      });
      expect(created.status).toBe(201);
      expect((await server.request(`/api/v1/datasets/${(created.body as { id: string }).id}`)).status).toBe(
        200,
      );
    } finally {
      await server.stop();
    }
  });
});
