/**
 * Issue 17 item 7: concurrent PATCHes and version snapshots of one dataset must leave its row equal to its
 * current version (class names, annotation path, content hash, version number), on real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ workers: false });
});
afterAll(async () => server?.stop());

const ROUNDS = 6;
const WRITERS = 6;

describe('concurrent writes of one dataset', () => {
  it(`${ROUNDS} rounds of ${WRITERS} concurrent PATCHes and snapshots keep the row equal to its current version`, async () => {
    const ds = await createDataset(server, { name: 'raced', class_names: ['a'] });
    let expectedVersions = 1;
    for (let round = 0; round < ROUNDS; round++) {
      // Each writer changes a different content field, so a write based on a stale row shows.
      const writes = Array.from({ length: WRITERS }, (_, i) => {
        const kind = i % 3;
        if (kind === 2)
          return server.request(`/api/v1/datasets/${ds.id}/versions`, {
            method: 'POST',
            body: { note: `r${round}` },
          });
        const body =
          kind === 0
            ? { class_names: [`c-${round}-${i}`, 'shared'] }
            : { annotation_path: `ann/${round}-${i}.json` };
        return server.request(`/api/v1/datasets/${ds.id}`, { method: 'PATCH', body });
      });
      const answers = await Promise.all(writes);
      for (const res of answers) expect(res.status, res.text).toBeLessThan(300);
      expectedVersions += WRITERS;

      const row = (await server.request(`/api/v1/datasets/${ds.id}`)).body as Record<string, unknown>;
      const versions = (
        (await server.request(`/api/v1/datasets/${ds.id}/versions`)).body as {
          versions: Array<Record<string, unknown>>;
        }
      ).versions;
      const current = versions[0]!;
      expect(versions.map((v) => v.version)).toEqual(
        Array.from({ length: expectedVersions }, (_, i) => expectedVersions - i),
      );
      expect(
        {
          version: row.version,
          content_hash: row.content_hash,
          class_names: row.class_names,
          annotation_path: row.annotation_path,
        },
        `round ${round}`,
      ).toEqual({
        version: current.version,
        content_hash: current.content_hash,
        class_names: current.class_names,
        annotation_path: current.annotation_path,
      });
    }
  });
});
