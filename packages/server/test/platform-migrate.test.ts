import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabelerError } from '@labeler/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformMigrate } from '../src/modules/platform-migration/index.js';
import { mappingFileSchema, resolveMapping } from '../src/modules/platform-migration/mapping.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createOrganization } from './helpers.js';

const N_DATASETS = 10_000;
const N_PERMISSIONS = 50_000;
const N_INVITATIONS = 3_000;
const N_MEMBERSHIPS = 2_000;

/** A Platform-shaped legacy schema (docs/platform-migration.md, default mapping), seeded with generate_series. */
const LEGACY_SCHEMA = `
create table datasets (id text, name text, description text, format text, labeled boolean, storage_type text,
  storage_path text, annotation_path text, num_classes int, num_images int, class_names jsonb, tags text[],
  visibility text, owner_id int, organization_id text, created_at timestamptz, updated_at timestamptz);
create table dataset_permissions (dataset_id text, user_id int, role text);
create table invitations (dataset_id text, invitee_id int, role text, status text);
create table organization_members (organization_id text, user_id int, role text);

insert into datasets
select 'ds_legacy' || g, 'dataset ' || g, case when g % 2 = 0 then 'about ' || g end,
  (array['coco','yolo','dice','imagefolder'])[1 + g % 4], g % 3 = 0, 'r2', 'legacy/datasets/' || g || '/',
  case when g % 5 = 0 then 'legacy/datasets/' || g || '/annotations.json' end, 2, g % 1000,
  '["broken","normal"]'::jsonb, array['t' || (g % 5), 'mvtec'],
  case when g % 4 in (0, 1) then (array['public','private','organization'])[1 + g % 3]
       else (array['public','private'])[1 + g % 2] end,
  1 + g % 500, case g % 4 when 0 then 'acme' when 1 then 'globex' end,
  timestamptz '2025-01-01 00:00:00Z' + g * interval '1 minute', timestamptz '2025-06-01 00:00:00Z' + g * interval '1 second'
from generate_series(1, ${N_DATASETS}) g;

-- (dataset, user) pairs are unique: the user encodes g / N_DATASETS.
insert into dataset_permissions
select 'ds_legacy' || (1 + g % ${N_DATASETS}), 600 + (g / ${N_DATASETS}) + 5 * ((g % ${N_DATASETS}) % 400),
  (array['read','write','viewer'])[1 + g % 3]
from generate_series(0, ${N_PERMISSIONS - 1}) g;

insert into invitations
select 'ds_legacy' || (1 + (g * 13) % ${N_DATASETS}), 5000 + g, 'read', case when g % 3 = 0 then 'pending' else 'accepted' end
from generate_series(1, ${N_INVITATIONS}) g;

insert into organization_members
select case when g % 2 = 0 then 'acme' else 'globex' end, 600 + g, case when g % 10 = 0 then 'admin' else 'member' end
from generate_series(1, ${N_MEMBERSHIPS}) g;

-- Bad rows: each has one reason.
insert into datasets (id, name, format, visibility, owner_id, organization_id) values
  ('0b7c3f5e-1d2a-4c8e-9f00-aa11bb22cc33', 'uuid id', 'coco', 'public', 1, null),
  ('ds_badorg', 'unknown org', 'coco', 'public', 1, 'initech'),
  ('ds_badvis', 'bad visibility', 'coco', 'secret', 1, null),
  ('ds_legacy1', 'duplicate', 'coco', 'public', 1, null),
  ('ds_noowner', 'no owner', 'coco', 'public', null, null);
insert into dataset_permissions values ('ds_nosuch', 42, 'read'), ('ds_legacy2', 42, 'god'),
  ('ds_legacy1', 600, 'write');
insert into invitations values ('ds_legacy2', 605, 'read', 'accepted');
insert into organization_members values ('initech', 42, 'member');
`;

/** Every table of the Labeler database: row count and a checksum of its rows. */
async function fingerprint(url: string, tables?: string[]): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names =
      tables ??
      (
        await client.query<{ t: string }>(
          `select quote_ident(table_schema) || '.' || quote_ident(table_name) as t from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
        )
      ).rows.map((r) => r.t);
    const out: Record<string, string> = {};
    for (const t of names) {
      const { rows } = await client.query<{ n: string; h: string | null }>(
        `select count(*) as n, md5(string_agg(x::text, E'\\n' order by x::text)) as h from ${t} x`,
      );
      out[t] = `${rows[0]?.n}:${rows[0]?.h}`;
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('labeler platform migrate from the Platform database', () => {
  let server: TestServer;
  let legacy: TestDatabase;
  let legacyClient: pg.Client;
  beforeAll(async () => {
    // 1,000 permission checks in one minute: above the default per-account budget.
    [server, legacy] = await Promise.all([
      startTestServer({
        env: { LABELER_RATE_LIMIT_PER_ACCOUNT: '100000', LABELER_RATE_LIMIT_PER_DATASET: '100000' },
      }),
      createTestDatabase('platform_legacy'),
    ]);
    await createOrganization(server, 'acme');
    await createOrganization(server, 'globex');
    legacyClient = new pg.Client({ connectionString: legacy.url });
    await legacyClient.connect();
    await legacyClient.query(LEGACY_SCHEMA);
  }, 120_000);
  afterAll(async () => {
    await legacyClient?.end();
    await server?.stop();
    await legacy?.drop();
  });

  const MIGRATED = [
    'public.dataset',
    'public.dataset_version',
    'public.dataset_permission',
    'public.membership',
  ];

  it('a dry run classifies every row and writes nothing', async () => {
    const before = await fingerprint(server.database!.url);
    const rows: string[] = [];
    const report = await platformMigrate(server.services, {
      from: legacy.url,
      dryRun: true,
      batchSize: 2000,
      onRow: (r) => void rows.push(r.action),
    });
    expect(report.totals.datasets).toMatchObject({ create: N_DATASETS, update: 0, same: 0, bad: 5 });
    expect(report.totals.permissions).toMatchObject({ create: N_PERMISSIONS, bad: 3 });
    // Every third invitation is pending; the accepted one for an explicitly granted pair is skipped.
    expect(report.totals.invitations).toMatchObject({ create: 2000, skipped: 1001 });
    expect(report.totals.memberships).toMatchObject({ create: N_MEMBERSHIPS, bad: 1 });
    expect(rows).toHaveLength(N_DATASETS + 5 + N_PERMISSIONS + 3 + N_INVITATIONS + 1 + N_MEMBERSHIPS + 1);
    expect(report.reconciliation.datasets).toMatchObject({
      legacy: { count: N_DATASETS },
      labeler: { count: 0 },
      match: false,
    });
    expect(await fingerprint(server.database!.url)).toEqual(before);
  }, 120_000);

  it('a real run migrates every good row, reports the bad ones, and reconciles', async () => {
    const report = await platformMigrate(server.services, { from: legacy.url, batchSize: 2000 });
    expect(report.job_id).toMatch(/^job_/);
    expect(report.totals.datasets).toMatchObject({ create: N_DATASETS, bad: 5 });
    expect(report.totals.permissions).toMatchObject({ create: N_PERMISSIONS, bad: 3 });
    expect(report.totals.memberships).toMatchObject({ create: N_MEMBERSHIPS, bad: 1 });
    for (const table of ['datasets', 'permissions', 'memberships'] as const)
      expect(report.reconciliation[table].match, table).toBe(true);
    expect(report.reconciliation.permissions.legacy.count).toBe(N_PERMISSIONS + 2000);
    const reasons = report.bad_rows.map((b) => `${b.kind} ${b.key}: ${b.reason}`);
    expect(reasons).toHaveLength(9);
    for (const pattern of [
      /^datasets 0b7c3f5e-.*: id: must look like ds_/,
      /^datasets ds_badorg: organization: unknown organization "initech"/,
      /^datasets ds_badvis: visibility:/,
      /^datasets ds_legacy1: duplicate id/,
      /^datasets ds_noowner: owner_id:/,
      /^permissions ds_nosuch\/42: dataset_id: unknown dataset/,
      /^permissions ds_legacy2\/42: role:/,
      /^permissions ds_legacy1\/600: duplicate permission/,
      /^memberships initech\/42: organization: unknown organization/,
    ])
      expect(
        reasons.filter((r) => pattern.test(r)),
        String(pattern),
      ).toHaveLength(1);
    // Nothing of a bad row was written.
    const bad = await server.services.orm.em
      .fork()
      .execute(
        `select count(*)::int as n from "dataset" where "id" in ('ds_badorg', 'ds_badvis', 'ds_noowner')`,
      );
    expect(bad).toEqual([{ n: 0 }]);
  }, 120_000);

  it('a second run reports everything same and changes nothing', async () => {
    const before = await fingerprint(server.database!.url, [...MIGRATED, 'public.audit_event']);
    const report = await platformMigrate(server.services, { from: legacy.url, batchSize: 5000 });
    for (const kind of ['datasets', 'permissions', 'invitations', 'memberships'] as const)
      expect(report.totals[kind], kind).toMatchObject({ create: 0, update: 0, conflict: 0 });
    expect(report.totals.datasets.same).toBe(N_DATASETS);
    expect(report.totals.permissions.same).toBe(N_PERMISSIONS);
    expect(await fingerprint(server.database!.url, [...MIGRATED, 'public.audit_event'])).toEqual(before);
  }, 120_000);

  it('every legacy id answers GET with its fields (a sample of 1,000 by batch, all by count)', async () => {
    const list = await server.request('/api/v1/datasets?limit=1');
    expect((list.body as { total: number }).total).toBe(N_DATASETS);
    const { rows } = await legacyClient.query(
      `select id, name, description, format, labeled, storage_path, annotation_path, num_images, class_names, tags, visibility, owner_id, created_at from datasets where id ~ '^ds_legacy[0-9]+$' and name <> 'duplicate' order by md5(id) limit 1000`,
    );
    expect(rows).toHaveLength(1000);
    for (let i = 0; i < rows.length; i += 50) {
      const chunk = rows.slice(i, i + 50);
      const res = await server.request('/api/v1/datasets/batch', {
        method: 'POST',
        body: { dataset_ids: chunk.map((r) => r.id) },
      });
      expect(res.status, res.text).toBe(200);
      const found = (res.body as { datasets: Record<string, Record<string, unknown>> }).datasets;
      for (const r of chunk)
        expect(found[r.id], r.id).toMatchObject({
          id: r.id,
          name: r.name,
          description: r.description,
          format: r.format,
          labeled: r.labeled,
          storage_path: r.storage_path,
          annotation_path: r.annotation_path,
          num_images: r.num_images,
          class_names: r.class_names,
          tags: r.tags,
          visibility: r.visibility,
          owner_id: r.owner_id,
          created_at: new Date(r.created_at).toISOString(),
          version: 1,
        });
    }
    const one = await server.request('/api/v1/datasets/ds_legacy4');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'ds_legacy4', name: 'dataset 4' });
  }, 120_000);

  it("the permission route answers as the Platform's rule did for 1,000 (user, dataset) pairs", async () => {
    // The Platform's rule over its own tables: owner, explicit permission or accepted invitation,
    // organization member (non-private organization dataset), public — strongest first.
    const { rows } = await legacyClient.query<{
      dataset_id: string;
      user_id: number;
      reason: string;
      role: string | null;
    }>(`
      with pairs as (
        (select dataset_id, user_id from dataset_permissions where dataset_id ~ '^ds_legacy[0-9]+$' and role <> 'god' order by md5(dataset_id || user_id) limit 250)
        union all (select dataset_id, invitee_id from invitations where status = 'accepted' order by md5(dataset_id || invitee_id) limit 150)
        union all (select d.id, m.user_id from datasets d join organization_members m on m.organization_id = d.organization_id
                   where d.id ~ '^ds_legacy[0-9]+$' order by md5(d.id || m.user_id) limit 250)
        union all (select id, owner_id from datasets where id ~ '^ds_legacy[0-9]+$' and owner_id is not null order by md5(id) limit 100)
        union all (select 'ds_legacy' || (1 + (g * 37) % ${N_DATASETS}), 600 + (g * 11) % 3000 from generate_series(1, 250) g)
      ),
      legacy as (select distinct on (id) * from datasets where id ~ '^ds_legacy[0-9]+$' order by id, ctid),
      grants as (
        select dataset_id, user_id, min(case role when 'write' then 'editor' when 'read' then 'viewer' else role end) as role
        from (select dataset_id, user_id, role from dataset_permissions where role in ('read','write','viewer','editor','owner')
              union all select dataset_id, invitee_id, role from invitations i where status = 'accepted'
                and not exists (select 1 from dataset_permissions p where p.dataset_id = i.dataset_id and p.user_id = i.invitee_id)) g
        group by 1, 2
      )
      select p.dataset_id, p.user_id,
        case when d.owner_id = p.user_id then 'owner' when g.role is not null then 'explicit_permission'
             when d.organization_id is not null and d.visibility <> 'private' and m.user_id is not null then 'organization_member'
             when d.visibility = 'public' then 'public_dataset' else 'no_access' end as reason,
        case when d.owner_id = p.user_id then 'owner' when g.role is not null then g.role
             when d.organization_id is not null and d.visibility <> 'private' and m.user_id is not null
               then case m.role when 'admin' then 'editor' else 'viewer' end
             when d.visibility = 'public' then 'viewer' end as role
      from pairs p join legacy d on d.id = p.dataset_id
      left join grants g on g.dataset_id = p.dataset_id and g.user_id = p.user_id
      left join organization_members m on m.organization_id = d.organization_id and m.user_id = p.user_id
    `);
    expect(rows).toHaveLength(1000);
    const reasons = new Set(rows.map((r) => r.reason));
    expect([...reasons].sort()).toEqual([
      'explicit_permission',
      'no_access',
      'organization_member',
      'owner',
      'public_dataset',
    ]);
    for (const r of rows) {
      const res = await server.request(`/api/v1/datasets/${r.dataset_id}/permissions/${r.user_id}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body, `${r.dataset_id}/${r.user_id}`).toEqual({
        dataset_id: r.dataset_id,
        user_id: r.user_id,
        has_access: r.reason !== 'no_access',
        role: r.role,
        reason: r.reason,
      });
    }
  }, 120_000);

  it('a mapping renames tables and columns; a killed run resumes from its ctid checkpoint', async () => {
    await legacyClient.query(`
      create schema legacy;
      create table legacy.ds (uid text, title text, format text, visibility text, owner int, org text);
      insert into legacy.ds select 'ds_small' || g, 'small ' || g, 'yolo', 'public', 3, 'acme' from generate_series(1, 30) g;
      create table legacy.perm (dataset_id text, user_id int, role text);
      create table legacy.inv (dataset_id text, invitee_id int, role text, status text);
      create table legacy.mem (organization_id text, user_id int, role text);`);
    const mapping = resolveMapping(
      mappingFileSchema.parse({
        datasets: {
          table: 'legacy.ds',
          columns: { id: 'uid', name: 'title', owner_id: 'owner', organization: 'org' },
        },
        permissions: { table: 'legacy.perm' },
        invitations: { table: 'legacy.inv' },
        memberships: { table: 'legacy.mem' },
      }),
    );
    await expect(
      platformMigrate(server.services, {
        from: legacy.url,
        mapping,
        batchSize: 10,
        onProgress: () => {
          throw new LabelerError('PRECONDITION_FAILED', 'killed');
        },
      }),
    ).rejects.toThrow(/killed/);
    const [checkpoint] = (await server.services.orm.em
      .fork()
      .execute(`select "phase", "cursor" from "platform_migration_checkpoint"`)) as Array<{
      phase: string;
      cursor: string;
    }>;
    expect(checkpoint).toEqual({ phase: 'datasets', cursor: '(0,10)' });
    const resumed = await platformMigrate(server.services, { from: legacy.url, mapping, batchSize: 10 });
    expect(resumed.resumed_from).toEqual({ phase: 'datasets', cursor: '(0,10)' });
    expect(resumed.totals.datasets).toMatchObject({ create: 20, same: 0, bad: 0 });
    expect(resumed.reconciliation.datasets).toMatchObject({ legacy: { count: 30 }, match: true });
    const got = await server.request('/api/v1/datasets/ds_small30');
    expect(got.body).toMatchObject({ name: 'small 30', owner_id: 3, format: 'yolo' });
    const again = await platformMigrate(server.services, { from: legacy.url, mapping, batchSize: 10 });
    expect(again.totals.datasets).toMatchObject({ create: 0, update: 0, same: 30 });
  }, 60_000);
});

describe('labeler platform migrate from files', () => {
  let server: TestServer;
  let dir: string;
  let acme: string;
  beforeAll(async () => {
    server = await startTestServer();
    acme = await createOrganization(server, 'acme');
    dir = mkdtempSync(join(tmpdir(), 'platform-migrate-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('JSONL: one record per line with a type; bad lines reported; a killed run resumes from its checkpoint', async () => {
    const lines = [
      {
        type: 'dataset',
        id: 'ds_j1',
        name: 'one',
        format: 'coco',
        visibility: 'public',
        owner_id: 1,
        tags: ['a', 'a'],
        class_names: ['x'],
      },
      {
        type: 'dataset',
        id: 'ds_j2',
        name: 'two',
        format: 'yolo',
        visibility: 'organization',
        owner_id: 2,
        organization_id: 'acme',
      },
      { type: 'dataset', id: 'ds_j3', name: 'three', format: 'coco', visibility: 'private', owner_id: 3 },
      {
        type: 'dataset',
        id: 'ds_j4',
        name: 'four',
        format: 'coco',
        visibility: 'private',
        owner_id: 3,
        storage_path: 'datasets/ds_j4/',
      },
      { type: 'dataset', id: 'legacy-7', name: 'bad id', format: 'coco', visibility: 'public', owner_id: 1 },
      { type: 'permission', dataset_id: 'ds_j3', user_id: 9, role: 'read' },
      { type: 'invitation', dataset_id: 'ds_j3', invitee_id: 10, role: 'write', status: 'accepted' },
      { type: 'membership', organization_id: 'acme', user_id: 9, role: 'admin' },
      { type: 'membership', organization_id: 'acme', user_id: 9, role: 'member' },
      { type: 'widget', id: 1 },
    ];
    const file = join(dir, 'legacy.jsonl');
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{not json\n`);
    // ds_j4's files are already in storage: they become its first version through the adoption job.
    const storageDir = join(server.dataDir, 'storage', 'datasets', 'ds_j4', 'images');
    mkdirSync(storageDir, { recursive: true });
    writeFileSync(join(storageDir, 'a.jpg'), 'jpeg bytes');

    // "Kill" the run after its first committed batch.
    let batches = 0;
    await expect(
      platformMigrate(server.services, {
        from: file,
        batchSize: 2,
        onProgress: () => {
          batches++;
          if (batches === 1) throw new LabelerError('PRECONDITION_FAILED', 'killed');
        },
      }),
    ).rejects.toThrow(/killed/);
    const [checkpoint] = (await server.services.orm.em
      .fork()
      .execute(`select "phase", "cursor" from "platform_migration_checkpoint"`)) as Array<{
      phase: string;
      cursor: string;
    }>;
    expect(checkpoint).toEqual({ phase: 'datasets', cursor: '2' });

    const report = await platformMigrate(server.services, { from: file, batchSize: 2 });
    expect(report.resumed_from).toEqual({ phase: 'datasets', cursor: '2' });
    // ds_j1 and ds_j2 were committed by the killed run; this run continues with the rest.
    expect(report.totals.datasets).toMatchObject({ create: 2, bad: 1 });
    expect(report.totals.permissions).toMatchObject({ create: 1 });
    expect(report.totals.invitations).toMatchObject({ create: 1 });
    expect(report.totals.memberships).toMatchObject({ create: 1, bad: 1 });
    expect(report.bad_rows.map((b) => [b.line, b.reason.split(':')[0]])).toEqual([
      [10, 'type'],
      [11, 'not valid JSON'],
      [5, 'id'],
      [9, 'duplicate membership'],
    ]);
    for (const table of ['datasets', 'permissions', 'memberships'] as const)
      expect(report.reconciliation[table].match, table).toBe(true);
    expect(report.reconciliation.datasets.legacy.count).toBe(4);
    // Every dataset whose storage_path is datasets/{id}/ (given, or the default) gets an adoption job
    // (ds_j1, ds_j2 in the killed run; ds_j3, ds_j4 now): it makes the first version from the files there.
    expect(report.adoption_jobs).toBe(2);
    const remaining = await server.services.orm.em
      .fork()
      .execute(`select count(*)::int as n from "platform_migration_checkpoint"`);
    expect(remaining).toEqual([{ n: 0 }]);
    const { jobs } = await server.services.jobs.list({ kind: 'dataset.adopt-files' });
    expect(jobs).toHaveLength(4);
    for (const job of jobs) {
      const done = await server.services.jobs.waitFor(job.id, 60_000);
      expect(done.state, JSON.stringify(done.error)).toBe('completed');
    }
    const j4 = await server.request('/api/v1/datasets/ds_j4');
    expect(j4.body).toMatchObject({ version: 1, num_images: 1 });

    const j1 = await server.request('/api/v1/datasets/ds_j1');
    expect(j1.body).toMatchObject({
      id: 'ds_j1',
      tags: ['a'],
      class_names: ['x'],
      num_classes: 1,
      version: 1,
      num_images: 0,
    });
    const j2 = await server.request('/api/v1/datasets/ds_j2');
    expect(j2.body).toMatchObject({ visibility: 'organization', owner_id: 2 });
    const perm = await server.request('/api/v1/datasets/ds_j3/permissions/10');
    expect(perm.body).toMatchObject({ has_access: true, role: 'editor', reason: 'explicit_permission' });
    const member = await server.request('/api/v1/datasets/ds_j2/permissions/9');
    expect(member.body).toMatchObject({ has_access: true, role: 'editor', reason: 'organization_member' });
    expect(acme).toMatch(/^org_/);
  }, 120_000);

  it('CSV: a header row with a type column; a changed legacy row is an update, a Labeler-side edit a conflict', async () => {
    const file = join(dir, 'legacy.csv');
    const write = (name: string) =>
      writeFileSync(
        file,
        [
          'type,id,name,format,visibility,owner_id,organization_id,tags,class_names,updated_at,dataset_id,user_id,role',
          `dataset,ds_c1,${name},coco,public,5,acme,a|b,"[""cat"",""dog""]",2025-01-01T00:00:00Z,,,`,
          'dataset,ds_c2,two,imagefolder,private,5,,,,2025-01-01T00:00:00Z,,,',
          'dataset,ds_c3,three,coco,secret,5,,,,,,,',
          'permission,,,,,,,,,,ds_c2,77,write',
          'permission,,,,,,,,,,ds_missing,77,write',
        ].join('\n'),
      );
    write('one');
    const first = await platformMigrate(server.services, { from: file, batchSize: 100 });
    expect(first.totals.datasets).toMatchObject({ create: 2, bad: 1 });
    expect(first.totals.permissions).toMatchObject({ create: 1, bad: 1 });
    expect(first.bad_rows.map((b) => [b.line, b.reason.split(':')[0]])).toEqual([
      [4, 'visibility'],
      [6, 'dataset_id'],
    ]);
    const c1 = await server.request('/api/v1/datasets/ds_c1');
    expect(c1.body).toMatchObject({ tags: ['a', 'b'], class_names: ['cat', 'dog'], visibility: 'public' });

    // The Platform renamed ds_c1 (a later updated_at): an update. Labeler edited ds_c2 since: a conflict.
    write('one renamed');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        '2025-01-01T00:00:00Z,,,\ndataset,ds_c2',
        '2025-02-01T00:00:00Z,,,\ndataset,ds_c2',
      ),
    );
    const patched = await server.request('/api/v1/datasets/ds_c2', {
      method: 'PATCH',
      body: { name: 'edited in labeler' },
    });
    expect(patched.status).toBe(200);
    const dry = await platformMigrate(server.services, { from: file, batchSize: 100, dryRun: true });
    expect(dry.totals.datasets).toMatchObject({ update: 1, conflict: 1 });
    expect(dry.conflicts.map((c) => c.key)).toEqual(['ds_c2']);
    const second = await platformMigrate(server.services, { from: file, batchSize: 100 });
    expect(second.totals.datasets).toMatchObject({ update: 1, conflict: 1, create: 0 });
    expect((await server.request('/api/v1/datasets/ds_c1')).body).toMatchObject({ name: 'one renamed' });
    expect((await server.request('/api/v1/datasets/ds_c2')).body).toMatchObject({
      name: 'edited in labeler',
    });
    expect(second.reconciliation.datasets.match).toBe(false);
  }, 60_000);
});

describe('the labeler binary', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('labeler_cli_migrate');
    dir = mkdtempSync(join(tmpdir(), 'platform-migrate-cli-'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const labeler = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('../bin/labeler.js', import.meta.url)), ...args],
        {
          env: {
            ...process.env,
            LABELER_CLI_FROM_SOURCE: '1',
            DATABASE_URL: db.url,
            LABELER_DATA_DIR: dir,
            LABELER_SECRET_KEY: 'cli-test-secret-key-with-32-characters!!',
            LOG_LEVEL: 'silent',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += String(c);
      });
      child.stderr.on('data', (c) => {
        stderr += String(c);
      });
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('platform migrate: --dry-run prints each row, a real run reports JSON, a bad --from or mapping is exit 2', async () => {
    const file = join(dir, 'legacy.jsonl');
    writeFileSync(
      file,
      [
        { type: 'dataset', id: 'ds_cli1', name: 'cli', format: 'coco', visibility: 'public', owner_id: 1 },
        { type: 'permission', dataset_id: 'ds_cli1', user_id: 3, role: 'read' },
        { type: 'dataset', id: 'not-an-id', name: 'x', format: 'coco', visibility: 'public', owner_id: 1 },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const dry = await labeler(['platform', 'migrate', '--from', file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^create +datasets +ds_cli1 \(line 1\)$/m);
    expect(dry.stdout).toMatch(/^create +permissions +ds_cli1\/3 \(line 2\)$/m);
    expect(dry.stdout).toMatch(/^bad +datasets +not-an-id \(line 3\) +id: must look like ds_/m);
    expect(dry.stdout).toContain('dry run: nothing written');

    const real = await labeler([
      '--json',
      'platform',
      'migrate',
      '--from',
      file,
      '--batch-size',
      '1',
      '--no-adopt-files',
    ]);
    expect(real.code, real.stderr).toBe(0);
    const report = JSON.parse(real.stdout) as {
      job_id: string;
      totals: Record<string, Record<string, number>>;
      reconciliation: Record<string, { match: boolean }>;
    };
    expect(report.job_id).toMatch(/^job_/);
    expect(report.totals.datasets).toMatchObject({ create: 1, bad: 1 });
    expect(report.reconciliation.datasets?.match).toBe(true);

    const badFrom = await labeler(['platform', 'migrate', '--from', join(dir, 'legacy.txt')]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('--from must be a postgres:// URL');
    const mapping = join(dir, 'mapping.json');
    writeFileSync(mapping, JSON.stringify({ datasets: { table: 'robert"; drop table x' } }));
    const badMapping = await labeler(['platform', 'migrate', '--from', file, '--mapping', mapping]);
    expect(badMapping.code).toBe(2);
    expect(badMapping.stderr).toMatch(/Mapping file .* is invalid/);
  }, 120_000);
});
