/**
 * Platform migration benchmark (issue 22): `labeler platform migrate` of BENCH_MIGRATION_DATASETS
 * datasets (default 100,000) and BENCH_MIGRATION_PERMISSIONS permissions (default 500,000) from a
 * Platform-shaped PostgreSQL database, in rows/s. Baseline, same run, same tables: the same legacy rows
 * read in the same batches and inserted raw (one INSERT … SELECT from jsonb per batch, no validation,
 * comparison, versions, audit, checkpoint or reconciliation), then truncated before the migration.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import { createServices, shutdownServices } from '../src/app/create.js';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/lib/logger.js';
import { platformMigrate } from '../src/modules/platform-migration/index.js';
import { createTestDatabase } from '../src/testing/database.js';

const DATASETS = Number(process.env.BENCH_MIGRATION_DATASETS ?? 100_000);
const PERMISSIONS = Number(process.env.BENCH_MIGRATION_PERMISSIONS ?? 500_000);
const BATCH = Number(process.env.BENCH_MIGRATION_BATCH ?? 2000);

const SEED = `
create table datasets (id text, name text, description text, format text, labeled boolean, storage_type text,
  storage_path text, annotation_path text, num_classes int, num_images int, class_names jsonb, tags text[],
  visibility text, owner_id int, organization_id text, created_at timestamptz, updated_at timestamptz);
create table dataset_permissions (dataset_id text, user_id int, role text);
create table invitations (dataset_id text, invitee_id int, role text, status text);
create table organization_members (organization_id text, user_id int, role text);
insert into datasets select 'ds_b' || g, 'dataset ' || g, 'about ' || g, 'coco', g % 2 = 0, 'r2',
  'legacy/' || g || '/', null, 2, g % 1000, '["a","b"]'::jsonb, array['t' || (g % 7)],
  (array['public','private'])[1 + g % 2], 1 + g % 5000, null,
  timestamptz '2025-01-01Z' + g * interval '1 second', timestamptz '2025-06-01Z' + g * interval '1 second'
from generate_series(1, ${DATASETS}) g;
insert into dataset_permissions select 'ds_b' || (1 + g % ${DATASETS}), 10000 + g / ${DATASETS},
  (array['read','write'])[1 + g % 2] from generate_series(0, ${PERMISSIONS - 1}) g;
`;

/** The baseline: the same rows, the same batches, inserted without any of the migration's rules. */
async function rawCopy(legacyUrl: string, labelerUrl: string): Promise<number> {
  const from = new pg.Client({ connectionString: legacyUrl });
  const to = new pg.Client({ connectionString: labelerUrl });
  await Promise.all([from.connect(), to.connect()]);
  const started = performance.now();
  try {
    for (const [table, insert] of [
      [
        'datasets',
        `insert into "dataset" ("id","name","description","format","labeled","storage_type","storage_path","num_classes","num_images","class_names","tags","visibility","owner_id","created_at","updated_at")
         select x.id, x.name, x.description, x.format, x.labeled, x.storage_type, x.storage_path, x.num_classes, x.num_images,
           array(select jsonb_array_elements_text(x.class_names)), x.tags, x.visibility, x.owner_id, x.created_at, x.updated_at
         from jsonb_to_recordset($1::jsonb) as x(id text, name text, description text, format text, labeled boolean, storage_type text,
           storage_path text, num_classes int, num_images int, class_names jsonb, tags text[], visibility text, owner_id int, created_at timestamptz, updated_at timestamptz)`,
      ],
      [
        'dataset_permissions',
        `insert into "dataset_permission" ("id","dataset_id","user_id","role","created_at")
         select 'perm_' || md5(x.dataset_id || x.user_id), x.dataset_id, x.user_id, case x.role when 'read' then 'viewer' else 'editor' end, now()
         from jsonb_to_recordset($1::jsonb) as x(dataset_id text, user_id int, role text)`,
      ],
    ] as const) {
      // A server-side cursor: the cheapest way to read the same rows in the same batch size.
      await from.query('begin');
      await from.query(`declare legacy_rows no scroll cursor for select * from ${table}`);
      for (;;) {
        const { rows } = await from.query(`fetch ${BATCH} from legacy_rows`);
        if (!rows.length) break;
        await to.query('begin');
        await to.query(insert, [JSON.stringify(rows)]);
        await to.query('commit');
      }
      await from.query('commit');
    }
    return performance.now() - started;
  } finally {
    await to.query('truncate "dataset", "dataset_permission", "dataset_version"');
    await Promise.all([from.end(), to.end()]);
  }
}

async function main() {
  const [labelerDb, legacyDb] = await Promise.all([
    createTestDatabase('labeler_bench_migration'),
    createTestDatabase('platform_bench_legacy'),
  ]);
  const config = loadConfig({
    DATABASE_URL: labelerDb.url,
    LABELER_SECRET_KEY: 'bench-secret-key-with-at-least-32-characters',
    NODE_ENV: 'production',
    LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-bench-')),
    LOG_LEVEL: 'silent',
  });
  const app = await createServices(config, { workers: false, logger: createLogger('silent') });
  try {
    const seed = new pg.Client({ connectionString: legacyDb.url });
    await seed.connect();
    await seed.query(SEED);
    await seed.end();
    const rowsTotal = DATASETS + PERMISSIONS;

    const baselineMs = await rawCopy(legacyDb.url, labelerDb.url);
    const started = performance.now();
    const report = await platformMigrate(app, { from: legacyDb.url, batchSize: BATCH, adoptFiles: false });
    const migrateMs = performance.now() - started;
    if (report.totals.datasets.create !== DATASETS || report.totals.permissions.create !== PERMISSIONS)
      throw new Error(`unexpected totals ${JSON.stringify(report.totals)}`);
    if (!report.reconciliation.datasets.match || !report.reconciliation.permissions.match)
      throw new Error(`reconciliation differs ${JSON.stringify(report.reconciliation)}`);
    const againStarted = performance.now();
    const again = await platformMigrate(app, { from: legacyDb.url, batchSize: BATCH, adoptFiles: false });
    const againMs = performance.now() - againStarted;
    if (again.totals.datasets.same !== DATASETS) throw new Error('second run was not all "same"');

    const rate = (ms: number) => rowsTotal / (ms / 1000);
    const rows: BenchRow[] = [
      {
        metric: 'migration throughput (create, incl. reconciliation)',
        value: rate(migrateMs),
        unit: 'rows/s',
        baseline: rate(baselineMs),
        ratio: rate(migrateMs) / rate(baselineMs),
      },
      {
        metric: 'second run (all same, incl. reconciliation)',
        value: rate(againMs),
        unit: 'rows/s',
        baseline: rate(baselineMs),
        ratio: rate(againMs) / rate(baselineMs),
      },
    ];
    writeBenchResult('migration', rows, {
      datasets: DATASETS,
      permissions: PERMISSIONS,
      batch_size: BATCH,
      migrate_ms: Math.round(migrateMs),
      second_run_ms: Math.round(againMs),
      raw_insert_ms: Math.round(baselineMs),
    });
  } finally {
    await shutdownServices(app);
    await Promise.all([labelerDb.drop(), legacyDb.drop()]).catch(() => undefined);
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
