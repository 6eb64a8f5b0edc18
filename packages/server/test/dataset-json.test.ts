import type { Principal } from '@labeler/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FoldableWrite,
  type FastSql,
  integerArrayLiteral,
  readFolding,
  textArrayLiteral,
} from '../src/db/fast-sql.js';
import type { DatasetViewField } from '../src/modules/datasets/dataset-json.js';
import {
  findVisibleDataset,
  listVisibleDatasets,
  listVisibleDatasetsJson,
} from '../src/modules/datasets/reads.js';
import { LIST_ITEM_FIELDS } from '../src/modules/datasets/platform-routes.js';
import { DATASET_FIELDS, listDatasetsInput } from '../src/modules/datasets/schemas.js';
import { toDatasetView } from '../src/modules/datasets/service.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

/**
 * List and batch responses are JSON written by the database (dataset-json.ts) instead of toDatasetView
 * and JSON.stringify. Both must give the same bytes for any stored value, on PostgreSQL and embedded
 * PGlite, so rows with awkward values are compared here field for field.
 */

const PRINCIPAL: Principal = {
  kind: 'system',
  id: 'test',
  name: 'test',
  organizationId: null,
  roles: [],
  scopes: [],
  authenticatedBy: 'test',
};

const AWKWARD = [
  'plain',
  'with "quotes" and \\backslashes\\',
  'comma, {braces} and spaces',
  'NULL',
  'null',
  '',
  'ünïcödé – 日本語 – 🚀',
  'line\u2028separator and \u2029 paragraph',
  'tab\tnew\nline',
  'controls \u0001\u0008\u000b\u000c\r\u001f\u007f and a / slash',
];

/** Datasets stored with awkward values, written straight to the table (no input validation). */
async function seedAwkward(sql: FastSql): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < AWKWARD.length; i++) {
    const id = `ds_json${i.toString().padStart(4, '0')}`;
    ids.push(id);
    const value = AWKWARD[i]!;
    await sql.query(
      `insert into "dataset" ("id","organization_id","name","description","format","labeled","storage_type","storage_path",
        "annotation_path","num_classes","num_images","class_names","tags","visibility","owner_id","version","content_hash",
        "created_at","updated_at")
       values ($1, null, $2, $3, 'coco', $4, 'local', $5, $6, $7, $8, $9::text[], $10::text[], 'public', $11, $12, $13,
        $14::timestamptz, $15::timestamptz)`,
      [
        id,
        `name ${value}`,
        i % 3 === 0 ? null : `description ${value}`,
        i % 2 === 0,
        `datasets/${id}/${value}`,
        i % 2 === 0 ? null : `annotations/${value}.json`,
        i,
        i * 1000,
        textArrayLiteral(i % 4 === 0 ? [] : [value, 'cat']),
        textArrayLiteral(AWKWARD.slice(0, i)),
        i + 1,
        i,
        i % 2 ? null : `sha256:${'a'.repeat(64)}`,
        `${i === 1 ? '0999' : '2026'}-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:0${i % 6}:0${i % 7}${i % 3 === 0 ? '' : `.${'123456'.slice(0, i % 7 || 1)}`}+00`,
        '2026-11-21 09:53:25.443123+00',
      ],
    );
  }
  return ids;
}

const FIELD_LISTS: DatasetViewField[][] = [
  [...DATASET_FIELDS],
  [...LIST_ITEM_FIELDS],
  ['content_hash', 'tags', 'created_at', 'name'],
  ['labeled'],
];

function expected(record: Parameters<typeof toDatasetView>[0], fields: readonly DatasetViewField[]): string {
  const view = toDatasetView(record) as Record<string, unknown>;
  return JSON.stringify(Object.fromEntries(fields.map((f) => [f, view[f]])));
}

describe.each([
  ['PostgreSQL', false],
  ['embedded PGlite', true],
])('dataset rows written as JSON on %s', (_name, pglite) => {
  let server: TestServer;
  let ids: string[];

  beforeAll(async () => {
    server = await startTestServer({ pglite });
    ids = await seedAwkward(server.services.sql);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('batch: the same bytes as toDatasetView + JSON.stringify, for every field list', async () => {
    const records = await Promise.all(
      ids.map(async (id) => (await findVisibleDataset(server.services.sql, PRINCIPAL, id))!),
    );
    expect(records.filter(Boolean)).toHaveLength(AWKWARD.length);
    for (const fields of FIELD_LISTS) {
      const written = await server.services.datasets.batchJson(PRINCIPAL, ids, fields);
      expect(written.size).toBe(AWKWARD.length);
      for (const record of records) {
        const json = written.get(record.id)!;
        expect(json).toBe(expected(record, fields));
        expect(() => JSON.parse(json)).not.toThrow();
      }
    }
  });

  it('list: the same page, in the same order, with the same total', async () => {
    const input = listDatasetsInput.parse({ limit: '5', page: '2' });
    const fields = FIELD_LISTS[1]!;
    const records = await listVisibleDatasets(server.services.sql, PRINCIPAL, input);
    const written = await listVisibleDatasetsJson(server.services.sql, PRINCIPAL, input, fields);
    expect(written.total).toBe(records.total);
    expect(written.datasets).toEqual(records.datasets.map((r) => expected(r, fields)));
    expect(written.datasets).toHaveLength(AWKWARD.length - 5);
  });

  it('no fields write an empty object', async () => {
    const written = await server.services.datasets.batchJson(PRINCIPAL, ids, []);
    expect(written.size).toBe(AWKWARD.length);
    expect([...written.values()].every((json) => json === '{}')).toBe(true);
  });

  it('array literals round-trip every element exactly', async () => {
    const rows = await server.services.sql.query<{ t: string[]; n: Array<number | string> }>(
      'select $1::text[] as "t", $2::bigint[] as "n"',
      [textArrayLiteral(AWKWARD), integerArrayLiteral([0, -5, 2 ** 40])],
    );
    expect(rows[0]!.t).toEqual(AWKWARD);
    expect(rows[0]!.n.map(Number)).toEqual([0, -5, 2 ** 40]);
    expect(() => integerArrayLiteral([1.5])).toThrow(TypeError);
  });

  describe('readFolding', () => {
    /** A write that counts into a rate-limit bucket, recording what it was told. */
    function counter(bucket: string, fail = false) {
      const settled: Array<Record<string, unknown>[]> = [];
      let pending = true;
      const write: FoldableWrite = {
        get pending() {
          return pending;
        },
        statement: (first, after) => ({
          text: `insert into "rate_limit_counter" ("bucket", "window_start", "count")
            select $${first}::text, 0, 1 ${after ? `where ${after}` : ''}
            on conflict ("bucket", "window_start") do update set "count" = "rate_limit_counter"."count" + 1
            returning "bucket", "count"`,
          params: [bucket],
        }),
        settle(rows) {
          pending = false;
          settled.push(rows);
          if (fail) throw new Error('refused');
        },
      };
      return { write, settled };
    }

    it('returns the read as it is, settles the write with its rows, and writes once', async () => {
      const sql = server.services.sql;
      const read = `select "id", "name" from "dataset" where "id" = any($1::text[]) order by "id" desc`;
      const plain = await sql.query(read, [textArrayLiteral(ids)]);
      const { write, settled } = counter(`fold:${pglite}`);
      const folded = await readFolding(sql, write, read, [textArrayLiteral(ids)]);
      expect(
        folded.map((r) => ({ id: (r as { id: string }).id, name: (r as { name: string }).name })),
      ).toEqual(plain);
      expect(settled).toEqual([[{ bucket: `fold:${pglite}`, count: 1 }]]);
      // No longer pending: a second read runs alone and leaves the counter as it is.
      await readFolding(sql, write, read, [textArrayLiteral(ids)]);
      const count = await sql.query<{ count: number }>(
        `select "count" from "rate_limit_counter" where "bucket" = $1`,
        [`fold:${pglite}`],
      );
      expect(count).toEqual([{ count: 1 }]);
    });

    it('keeps the order; a read with no rows still settles the write', async () => {
      const sql = server.services.sql;
      const read = `select "id" from "dataset" where "id" = any($1::text[]) order by "id" desc`;
      const { write, settled } = counter(`fold-order:${pglite}`);
      const rows = await readFolding<{ id: string }>(sql, write, read, [textArrayLiteral(ids)]);
      expect(rows.map((r) => r.id)).toEqual([...ids].sort().reverse());
      const empty = counter(`fold-empty:${pglite}`);
      expect(await readFolding(sql, empty.write, read, [textArrayLiteral(['ds_none'])])).toEqual([]);
      expect(empty.settled).toEqual([[{ bucket: `fold-empty:${pglite}`, count: 1 }]]);
      expect(settled).toHaveLength(1);
    });

    it('a write that refuses (settle throws) fails the read', async () => {
      const { write } = counter(`fold-refused:${pglite}`, true);
      await expect(readFolding(server.services.sql, write, 'select 1 as "one"', [])).rejects.toThrow(
        'refused',
      );
    });
  });
});
