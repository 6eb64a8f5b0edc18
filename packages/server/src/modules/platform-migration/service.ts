import type { Principal } from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import type { Em } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import { invalidateDatasetCounts } from '../datasets/reads.js';
import { contentHashSeed } from '../datasets/service.js';
import { KINDS, type Kind, type Mapping } from './mapping.js';
import {
  Checksum,
  canonicalDataset,
  canonicalMembership,
  canonicalPermission,
  type DatasetRow,
  type MembershipRow,
  type PermissionRow,
  parseDataset,
  parseMembership,
  parsePermission,
} from './rows.js';
import type { LegacySource, SourceRecord } from './sources.js';

export type Action = 'create' | 'update' | 'same' | 'conflict' | 'bad' | 'skipped';
const ACTIONS: readonly Action[] = ['create', 'update', 'same', 'conflict', 'bad', 'skipped'];

export interface RowOutcome {
  kind: Kind;
  /** The row's id (dataset) or "dataset_id/user_id", "organization/user_id"; null when unreadable. */
  key: string | null;
  line: number | null;
  action: Action;
  reason?: string;
}

export interface TableReconciliation {
  legacy: { count: number; checksum: string };
  labeler: { count: number; checksum: string };
  match: boolean;
}

export interface MigrationReport {
  dry_run: boolean;
  source: string;
  /** The checkpoint this run continued from (a killed run), or null. */
  resumed_from: { phase: Kind; cursor: string } | null;
  totals: Record<Kind, Record<Action, number>>;
  bad_rows: Array<{ kind: Kind | 'unknown'; line: number | null; key: string | null; reason: string }>;
  conflicts: RowOutcome[];
  adoption_jobs: number;
  /** Legacy rows accepted vs the Labeler rows with the same keys, over the migrated fields. */
  reconciliation: {
    datasets: TableReconciliation;
    permissions: TableReconciliation;
    memberships: TableReconciliation;
  };
}

export interface MigrateOptions {
  dryRun: boolean;
  batchSize: number;
  mapping: Mapping;
  /** Enqueue storage adoption (dataset.adopt-files) for created datasets whose files sit at datasets/{id}/. */
  adoptFiles: boolean;
  actor: Principal | null;
  onRow?: (row: RowOutcome) => void;
  onProgress?: (done: number, total: number, message: string) => void | Promise<void>;
  signal?: AbortSignal;
}

type Accepted<T> = { record: SourceRecord; key: string; row: T };

/**
 * What a pass has seen: ids and pairs for duplicates, the datasets that exist for permissions. Both the
 * migrating pass and the reconciliation pass run the same acceptance, so they agree on the good rows.
 */
class Acceptance {
  readonly datasets = new Map<string, number | null>();
  readonly pairs = new Map<string, 'permission' | 'invitation'>();
  readonly members = new Set<string>();
  constructor(
    private readonly mapping: Mapping,
    private readonly organizations: (ref: string) => string | undefined,
    private readonly datasetExists: (ids: string[]) => Promise<Set<string>>,
  ) {}

  async accept(
    kind: Kind,
    records: SourceRecord[],
  ): Promise<{ good: Accepted<DatasetRow | PermissionRow | MembershipRow>[]; rejected: RowOutcome[] }> {
    const good: Accepted<DatasetRow | PermissionRow | MembershipRow>[] = [];
    const rejected: RowOutcome[] = [];
    const bad = (record: SourceRecord, key: string | null, reason: string, action: Action = 'bad') =>
      rejected.push({ kind, key, line: record.line, action, reason });
    if (kind === 'datasets') {
      for (const record of records) {
        const parsed = parseDataset(record.raw, this.organizations);
        const key =
          typeof record.raw.id === 'string' ? record.raw.id.slice(0, 100) : String(record.raw.id ?? '');
        if (!parsed.ok) bad(record, key || null, parsed.reason);
        else if (this.datasets.has(parsed.row.id))
          bad(record, key, `duplicate id${where(this.datasets.get(parsed.row.id))}`);
        else {
          this.datasets.set(parsed.row.id, record.line);
          good.push({ record, key: parsed.row.id, row: parsed.row });
        }
      }
      return { good, rejected };
    }
    if (kind === 'memberships') {
      for (const record of records) {
        const parsed = parseMembership(record.raw, this.mapping.roles, this.organizations);
        const rawKey = `${String(record.raw.organization ?? '')}/${String(record.raw.user_id ?? '')}`;
        if (!parsed.ok) bad(record, rawKey, parsed.reason);
        else {
          const key = `${parsed.row.organization_id}/${parsed.row.user_id}`;
          if (this.members.has(key)) bad(record, key, 'duplicate membership');
          else {
            this.members.add(key);
            good.push({ record, key, row: parsed.row });
          }
        }
      }
      return { good, rejected };
    }
    // Permissions and accepted invitations (→ permissions; an explicit permission of the same pair wins).
    const parsedRows: Array<{ record: SourceRecord; row: PermissionRow }> = [];
    for (const record of records) {
      if (
        kind === 'invitations' &&
        !this.mapping.accepted_statuses.includes(String(record.raw.status ?? ''))
      ) {
        bad(
          record,
          pairKey(record.raw),
          `invitation not accepted (status "${String(record.raw.status ?? '')}")`,
          'skipped',
        );
        continue;
      }
      const parsed = parsePermission(record.raw, this.mapping.roles);
      if (!parsed.ok) bad(record, pairKey(record.raw), parsed.reason);
      else parsedRows.push({ record, row: parsed.row });
    }
    const unknown = [
      ...new Set(parsedRows.map((p) => p.row.dataset_id).filter((id) => !this.datasets.has(id))),
    ];
    const existing = unknown.length ? await this.datasetExists(unknown) : new Set<string>();
    for (const { record, row } of parsedRows) {
      const key = `${row.dataset_id}/${row.user_id}`;
      if (!this.datasets.has(row.dataset_id) && !existing.has(row.dataset_id))
        bad(record, key, `dataset_id: unknown dataset ${row.dataset_id}`);
      else if (this.pairs.has(key)) {
        if (kind === 'invitations') bad(record, key, `already granted by ${this.pairs.get(key)}`, 'skipped');
        else bad(record, key, 'duplicate permission');
      } else {
        this.pairs.set(key, kind === 'permissions' ? 'permission' : 'invitation');
        good.push({ record, key, row });
      }
    }
    return { good, rejected };
  }
}

const where = (line: number | null | undefined) => (line ? ` (first at line ${line})` : '');
const pairKey = (raw: Record<string, unknown>) =>
  `${String(raw.dataset_id ?? '')}/${String(raw.user_id ?? '')}`;

/** Labeler's side of a row, read back with the same column names as DatasetRow. */
const DATASET_COLUMNS = `"id", "organization_id", "name", "description", "format", "labeled", "storage_type", "storage_path", "annotation_path", "num_classes", "num_images", "class_names", "tags", "visibility", "owner_id", to_char("created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "created_at", to_char("updated_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "updated_at", "deleted_at"`;
type LabelerDataset = DatasetRow & { deleted_at: Date | null };

/**
 * `labeler platform migrate`: the Platform's legacy datasets, permissions, accepted invitations and
 * organization memberships into Labeler, keeping each dataset's id (docs/platform-migration.md).
 */
export class PlatformMigrationService {
  constructor(private readonly app: () => AppServices) {}

  async migrate(source: LegacySource, options: MigrateOptions): Promise<MigrationReport> {
    const app = this.app();
    const em = app.orm.em.fork();
    const organizations = await this.#organizations(em);
    const datasetExists = async (ids: string[]) => {
      const rows = (await em.execute(
        `select "id" from "dataset" where "id" in (select jsonb_array_elements_text(?::jsonb)) and "deleted_at" is null`,
        [JSON.stringify(ids)],
      )) as Array<{ id: string }>;
      return new Set(rows.map((r) => r.id));
    };
    const checkpoint = options.dryRun ? null : await this.#checkpoint(em, source.key);
    const totals = Object.fromEntries(
      KINDS.map((k) => [k, Object.fromEntries(ACTIONS.map((a) => [a, 0]))]),
    ) as MigrationReport['totals'];
    const conflicts: RowOutcome[] = [];
    let adoptionJobs = 0;
    // One at a time: a PostgreSQL source has one connection.
    const counts: number[] = [];
    for (const kind of KINDS) counts.push(await source.count(kind));
    const total = counts.reduce((a, b) => a + b, 0);
    let done = 0;
    const emit = (row: RowOutcome) => {
      totals[row.kind][row.action]++;
      if (row.action === 'conflict') conflicts.push(row);
      options.onRow?.(row);
    };

    // Pass 1: compare and write, batch by batch, from the checkpoint.
    const accept = new Acceptance(options.mapping, organizations, datasetExists);
    const startPhase = checkpoint ? KINDS.indexOf(checkpoint.phase) : 0;
    for (const [index, kind] of KINDS.entries()) {
      if (index < startPhase) {
        done += counts[index] ?? 0;
        continue;
      }
      const cursor = checkpoint && index === startPhase ? checkpoint.cursor : null;
      for await (const batch of source.batches(kind, options.batchSize, cursor)) {
        options.signal?.throwIfAborted();
        const { good, rejected } = await accept.accept(kind, batch.records);
        for (const r of rejected) emit(r);
        const outcomes = await this.#applyBatch(kind, good, options, source.key, batch.cursor, (n) => {
          adoptionJobs += n;
        });
        for (const o of outcomes) emit(o);
        done += batch.records.length;
        await options.onProgress?.(done, total, `${kind} ${done}/${total}`);
      }
    }
    if (!options.dryRun) {
      await em.execute(`delete from "platform_migration_checkpoint" where "source_key" = ?`, [source.key]);
      invalidateDatasetCounts();
    }

    // Pass 2: reconciliation over the whole source, whatever this run wrote or skipped.
    const recon = await this.#reconcile(
      source,
      options,
      new Acceptance(options.mapping, organizations, datasetExists),
    );
    return {
      dry_run: options.dryRun,
      source: source.key,
      resumed_from: checkpoint,
      totals,
      bad_rows: recon.bad,
      conflicts,
      adoption_jobs: adoptionJobs,
      reconciliation: recon.tables,
    };
  }

  /** Labeler organizations by id and by slug: the Platform's organization references resolve to either. */
  async #organizations(em: Em): Promise<(ref: string) => string | undefined> {
    const rows = (await em.execute(`select "id", "slug" from "organization"`)) as Array<{
      id: string;
      slug: string;
    }>;
    const byRef = new Map<string, string>();
    for (const r of rows) {
      byRef.set(r.slug, r.id);
      byRef.set(r.id, r.id);
    }
    return (ref) => byRef.get(ref);
  }

  async #checkpoint(em: Em, key: string): Promise<{ phase: Kind; cursor: string } | null> {
    const [row] = (await em.execute(
      `select "phase", "cursor" from "platform_migration_checkpoint" where "source_key" = ?`,
      [key],
    )) as Array<{ phase: Kind; cursor: string }>;
    return row ?? null;
  }

  /** Compares one batch's good rows with Labeler and, unless a dry run, writes the differences in one transaction. */
  async #applyBatch(
    kind: Kind,
    good: Accepted<DatasetRow | PermissionRow | MembershipRow>[],
    options: MigrateOptions,
    sourceKey: string,
    cursor: string,
    countAdoptions: (n: number) => void,
  ): Promise<RowOutcome[]> {
    const app = this.app();
    const run = async (tem: Em): Promise<RowOutcome[]> => {
      const outcome = (g: Accepted<unknown>, action: Action, reason?: string): RowOutcome => ({
        kind,
        key: g.key,
        line: g.record.line,
        action,
        ...(reason ? { reason } : {}),
      });
      const outcomes: RowOutcome[] = [];
      if (kind === 'datasets') {
        const rows = good as Accepted<DatasetRow>[];
        const existing = await this.#labelerDatasets(
          tem,
          rows.map((g) => g.row.id),
        );
        const creates: DatasetRow[] = [];
        const updates: Array<{ row: DatasetRow; contentChanged: boolean }> = [];
        for (const g of rows) {
          const current = existing.get(g.row.id);
          if (!current) {
            creates.push(g.row);
            outcomes.push(outcome(g, 'create'));
          } else if (current.deleted_at) outcomes.push(outcome(g, 'conflict', 'deleted in Labeler'));
          else if (canonicalDataset(current) === canonicalDataset(g.row, current.created_at))
            outcomes.push(outcome(g, 'same'));
          else if (g.row.updated_at === null)
            outcomes.push(
              outcome(g, 'conflict', 'differs from Labeler and the Platform row has no updated_at'),
            );
          else if (current.updated_at && current.updated_at > g.row.updated_at)
            outcomes.push(
              outcome(g, 'conflict', `changed in Labeler after the Platform (${current.updated_at})`),
            );
          else {
            updates.push({
              row: g.row,
              contentChanged:
                current.format !== g.row.format ||
                JSON.stringify(current.class_names) !== JSON.stringify(g.row.class_names) ||
                current.annotation_path !== g.row.annotation_path,
            });
            outcomes.push(outcome(g, 'update'));
          }
        }
        if (options.dryRun) return outcomes;
        if (creates.length) countAdoptions(await this.#createDatasets(tem, creates, options));
        if (updates.length) {
          await tem.execute(
            `update "dataset" d set "organization_id" = x."organization_id", "name" = x."name", "description" = x."description", "format" = x."format", "labeled" = x."labeled", "storage_type" = x."storage_type", "storage_path" = x."storage_path", "annotation_path" = x."annotation_path", "num_classes" = x."num_classes", "num_images" = x."num_images", "class_names" = x."class_names", "tags" = x."tags", "visibility" = x."visibility", "owner_id" = x."owner_id", "created_at" = coalesce(x."created_at", d."created_at"), "updated_at" = x."updated_at" from jsonb_to_recordset(?::jsonb) as x("id" text, "organization_id" text, "name" text, "description" text, "format" text, "labeled" boolean, "storage_type" text, "storage_path" text, "annotation_path" text, "num_classes" int, "num_images" int, "class_names" text[], "tags" text[], "visibility" text, "owner_id" int, "created_at" timestamptz, "updated_at" timestamptz) where d."id" = x."id"`,
            [JSON.stringify(updates.map((u) => u.row))],
          );
          // A changed format, class list or annotation path is new content: a new version, as PATCH makes.
          for (const u of updates.filter((x) => x.contentChanged))
            await app.datasets.createVersion(
              u.row.id,
              options.actor,
              'platform migration: metadata change',
              tem,
            );
        }
      } else if (kind === 'memberships') {
        const rows = good as Accepted<MembershipRow>[];
        const existing = (await tem.execute(
          `select m."organization_id", m."user_id", m."role" from "membership" m join jsonb_to_recordset(?::jsonb) as x("organization_id" text, "user_id" int) on m."organization_id" = x."organization_id" and m."user_id" = x."user_id"`,
          [
            JSON.stringify(
              rows.map((g) => ({ organization_id: g.row.organization_id, user_id: g.row.user_id })),
            ),
          ],
        )) as MembershipRow[];
        const byKey = new Map(existing.map((m) => [`${m.organization_id}/${m.user_id}`, m.role]));
        const writes: MembershipRow[] = [];
        for (const g of rows) {
          const role = byKey.get(g.key);
          const action: Action = role === undefined ? 'create' : role === g.row.role ? 'same' : 'update';
          if (action !== 'same') writes.push(g.row);
          outcomes.push(outcome(g, action));
        }
        if (options.dryRun || !writes.length) return outcomes;
        await tem.execute(
          `insert into "membership" ("id", "organization_id", "user_id", "role", "created_at") select x."id", x."organization_id", x."user_id", x."role", now() from jsonb_to_recordset(?::jsonb) as x("id" text, "organization_id" text, "user_id" int, "role" text) on conflict ("organization_id", "user_id") do update set "role" = excluded."role"`,
          [JSON.stringify(writes.map((w) => ({ ...w, id: newId('membership') })))],
        );
      } else {
        const rows = good as Accepted<PermissionRow>[];
        const existing = (await tem.execute(
          `select p."dataset_id", p."user_id", p."role" from "dataset_permission" p join jsonb_to_recordset(?::jsonb) as x("dataset_id" text, "user_id" int) on p."dataset_id" = x."dataset_id" and p."user_id" = x."user_id"`,
          [JSON.stringify(rows.map((g) => ({ dataset_id: g.row.dataset_id, user_id: g.row.user_id })))],
        )) as PermissionRow[];
        const byKey = new Map(existing.map((p) => [`${p.dataset_id}/${p.user_id}`, p.role]));
        const writes: PermissionRow[] = [];
        for (const g of rows) {
          const role = byKey.get(g.key);
          const action: Action = role === undefined ? 'create' : role === g.row.role ? 'same' : 'update';
          if (action !== 'same') writes.push(g.row);
          outcomes.push(outcome(g, action));
        }
        if (options.dryRun || !writes.length) return outcomes;
        await tem.execute(
          `insert into "dataset_permission" ("id", "dataset_id", "user_id", "role", "granted_by", "created_at") select x."id", x."dataset_id", x."user_id", x."role", ?, now() from jsonb_to_recordset(?::jsonb) as x("id" text, "dataset_id" text, "user_id" int, "role" text) on conflict ("dataset_id", "user_id") do update set "role" = excluded."role"`,
          [
            options.actor?.id ?? 'platform-migration',
            JSON.stringify(writes.map((w) => ({ ...w, id: newId('permission') }))),
          ],
        );
      }
      const changed = outcomes.filter((o) => o.action === 'create' || o.action === 'update');
      if (changed.length)
        await app.audit.record({
          em: tem,
          actor: options.actor,
          action: 'platform.migrated',
          targetType: kind,
          targetId: changed[0]?.key ?? null,
          organizationId: null,
          details: {
            kind,
            created: changed.filter((o) => o.action === 'create').length,
            updated: changed.filter((o) => o.action === 'update').length,
            first: changed[0]?.key ?? null,
            last: changed[changed.length - 1]?.key ?? null,
          },
        });
      return outcomes;
    };
    if (options.dryRun) return run(app.orm.em.fork());
    return app.orm.em.fork().transactional(async (tem) => {
      const outcomes = await run(tem);
      // The checkpoint commits with the batch: a killed run resumes after the last committed batch.
      await tem.execute(
        `insert into "platform_migration_checkpoint" ("source_key", "phase", "cursor", "updated_at") values (?, ?, ?, now()) on conflict ("source_key") do update set "phase" = excluded."phase", "cursor" = excluded."cursor", "updated_at" = now()`,
        [sourceKey, kind, cursor],
      );
      return outcomes;
    });
  }

  async #labelerDatasets(em: Em, ids: string[]): Promise<Map<string, LabelerDataset>> {
    if (!ids.length) return new Map();
    const rows = (await em.execute(
      `select ${DATASET_COLUMNS} from "dataset" where "id" in (select jsonb_array_elements_text(?::jsonb))`,
      [JSON.stringify(ids)],
    )) as LabelerDataset[];
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * New datasets in one statement, each with its first version (metadata only, the hash createVersion
   * gives a dataset without files) — unless its files will be adopted, which makes the first version.
   */
  async #createDatasets(em: Em, rows: DatasetRow[], options: MigrateOptions): Promise<number> {
    const app = this.app();
    const adopt = new Set(
      options.adoptFiles ? rows.filter((r) => r.storage_path === `datasets/${r.id}/`).map((r) => r.id) : [],
    );
    const values = rows.map((r) => {
      const versioned = !adopt.has(r.id);
      return {
        ...r,
        version: versioned ? 1 : 0,
        content_hash: versioned
          ? `sha256:${contentHashSeed(r.format, r.class_names, r.annotation_path).digest('hex')}`
          : null,
        version_id: newId('datasetVersion'),
        versioned,
      };
    });
    await em.execute(
      `insert into "dataset" ("id", "organization_id", "name", "description", "format", "labeled", "storage_type", "storage_path", "annotation_path", "num_classes", "num_images", "class_names", "tags", "visibility", "owner_id", "version", "content_hash", "created_at", "updated_at") select x."id", x."organization_id", x."name", x."description", x."format", x."labeled", x."storage_type", x."storage_path", x."annotation_path", x."num_classes", x."num_images", x."class_names", x."tags", x."visibility", x."owner_id", x."version", x."content_hash", coalesce(x."created_at", now()), coalesce(x."updated_at", x."created_at", now()) from jsonb_to_recordset(?::jsonb) as x("id" text, "organization_id" text, "name" text, "description" text, "format" text, "labeled" boolean, "storage_type" text, "storage_path" text, "annotation_path" text, "num_classes" int, "num_images" int, "class_names" text[], "tags" text[], "visibility" text, "owner_id" int, "version" int, "content_hash" text, "created_at" timestamptz, "updated_at" timestamptz)`,
      [JSON.stringify(values)],
    );
    const versioned = values.filter((v) => v.versioned);
    if (versioned.length)
      await em.execute(
        `insert into "dataset_version" ("id", "dataset_id", "version", "content_hash", "annotation_path", "num_images", "num_classes", "class_names", "note", "created_by", "created_at") select x."version_id", x."id", 1, x."content_hash", x."annotation_path", x."num_images", x."num_classes", x."class_names", 'platform migration', ?, now() from jsonb_to_recordset(?::jsonb) as x("version_id" text, "id" text, "content_hash" text, "annotation_path" text, "num_images" int, "num_classes" int, "class_names" text[])`,
        [options.actor?.id ?? null, JSON.stringify(versioned)],
      );
    // Adoption is a job: enqueued in this transaction, so it exists only if the datasets do.
    for (const id of adopt)
      await app.jobs.startJob(
        'dataset.adopt-files',
        { dataset_id: id },
        { em, createdBy: options.actor?.id ?? null },
      );
    return adopt.size;
  }

  /** Both sides' counts and checksums over the migrated fields, and every bad row, from a fresh read of the source. */
  async #reconcile(
    source: LegacySource,
    options: MigrateOptions,
    accept: Acceptance,
  ): Promise<{ bad: MigrationReport['bad_rows']; tables: MigrationReport['reconciliation'] }> {
    const em = this.app().orm.em.fork();
    const sums = {
      datasets: { legacy: new Checksum(), labeler: new Checksum() },
      permissions: { legacy: new Checksum(), labeler: new Checksum() },
      memberships: { legacy: new Checksum(), labeler: new Checksum() },
    };
    const bad: MigrationReport['bad_rows'] = source.unreadable.map((u) => ({
      kind: 'unknown' as const,
      line: u.line,
      key: null,
      reason: u.reason,
    }));
    for (const kind of KINDS) {
      const table = kind === 'invitations' ? 'permissions' : kind;
      for await (const batch of source.batches(kind, options.batchSize, null)) {
        const { good, rejected } = await accept.accept(kind, batch.records);
        for (const r of rejected)
          if (r.action === 'bad') bad.push({ kind, line: r.line, key: r.key, reason: r.reason ?? 'invalid' });
        if (kind === 'datasets') {
          const rows = good as Accepted<DatasetRow>[];
          const labeler = await this.#labelerDatasets(
            em,
            rows.map((g) => g.row.id),
          );
          for (const g of rows)
            sums.datasets.legacy.add(canonicalDataset(g.row, labeler.get(g.row.id)?.created_at ?? null));
          for (const r of labeler.values()) if (!r.deleted_at) sums.datasets.labeler.add(canonicalDataset(r));
        } else if (kind === 'memberships') {
          const rows = good as Accepted<MembershipRow>[];
          for (const g of rows) sums.memberships.legacy.add(canonicalMembership(g.row));
          const found = (await em.execute(
            `select m."organization_id", m."user_id", m."role" from "membership" m join jsonb_to_recordset(?::jsonb) as x("organization_id" text, "user_id" int) on m."organization_id" = x."organization_id" and m."user_id" = x."user_id"`,
            [
              JSON.stringify(
                rows.map((g) => ({ organization_id: g.row.organization_id, user_id: g.row.user_id })),
              ),
            ],
          )) as MembershipRow[];
          for (const m of found) sums.memberships.labeler.add(canonicalMembership(m));
        } else {
          const rows = good as Accepted<PermissionRow>[];
          for (const g of rows) sums[table].legacy.add(canonicalPermission(g.row));
          const found = (await em.execute(
            `select p."dataset_id", p."user_id", p."role" from "dataset_permission" p join jsonb_to_recordset(?::jsonb) as x("dataset_id" text, "user_id" int) on p."dataset_id" = x."dataset_id" and p."user_id" = x."user_id"`,
            [JSON.stringify(rows.map((g) => ({ dataset_id: g.row.dataset_id, user_id: g.row.user_id })))],
          )) as PermissionRow[];
          for (const p of found) sums[table].labeler.add(canonicalPermission(p));
        }
      }
    }
    const view = (s: { legacy: Checksum; labeler: Checksum }): TableReconciliation => ({
      legacy: { count: s.legacy.count, checksum: s.legacy.hex },
      labeler: { count: s.labeler.count, checksum: s.labeler.hex },
      match: s.legacy.count === s.labeler.count && s.legacy.hex === s.labeler.hex,
    });
    return {
      bad,
      tables: {
        datasets: view(sums.datasets),
        permissions: view(sums.permissions),
        memberships: view(sums.memberships),
      },
    };
  }
}
