import type { DatasetFormat, DatasetRole, Principal, Visibility } from '@labeler/core';
import { type FastSql, type FoldableWrite, readFolding, textArrayLiteral } from '../../db/fast-sql.js';
import { CountCache } from './count-cache.js';
import { datasetJsonColumns, type DatasetJsonRow, type DatasetViewField } from './dataset-json.js';
import type { ListDatasetsInput } from './schemas.js';
import type { DatasetAccessFacts } from './view-cache.js';

/**
 * The Platform's hot read paths (get, list, batch, permission check) as single parameterised SQL
 * statements. MikroORM's query building and hydration cost ~0.7 ms of CPU per findOne on these 2-core
 * machines, several times the query itself; these reads need neither change tracking nor an identity map,
 * and map rows straight into the same shape as the entity (so toDatasetView serves both).
 */
export interface DatasetRecord {
  id: string;
  organizationId: string | null;
  name: string;
  description: string | null;
  format: DatasetFormat;
  labeled: boolean;
  storageInstanceId: string | null;
  storageType: string;
  storagePath: string;
  annotationPath: string | null;
  numClasses: number;
  numImages: number;
  classNames: string[];
  tags: string[];
  visibility: Visibility;
  ownerId: number;
  version: number;
  contentHash: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface DatasetRow {
  id: string;
  organization_id: string | null;
  name: string;
  description: string | null;
  format: DatasetFormat;
  labeled: boolean;
  storage_instance_id: string | null;
  storage_type: string;
  storage_path: string;
  annotation_path: string | null;
  num_classes: number;
  num_images: number;
  class_names: string[];
  tags: string[];
  visibility: Visibility;
  owner_id: number;
  version: number;
  content_hash: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS = `"id", "organization_id", "name", "description", "format", "labeled", "storage_instance_id", "storage_type",
  "storage_path", "annotation_path", "num_classes", "num_images", "class_names", "tags", "visibility", "owner_id", "version",
  "content_hash", "created_at", "updated_at"`;

/** COLUMNS qualified by table, for statements that join other tables. */
const COLUMNS_OF_DATASET = COLUMNS.split(',')
  .map((column) => `"dataset".${column.trim()}`)
  .join(', ');

function toRecord(row: DatasetRow): DatasetRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    description: row.description,
    format: row.format,
    labeled: row.labeled,
    storageInstanceId: row.storage_instance_id,
    storageType: row.storage_type,
    storagePath: row.storage_path,
    annotationPath: row.annotation_path,
    numClasses: Number(row.num_classes),
    numImages: Number(row.num_images),
    classNames: row.class_names ?? [],
    tags: row.tags ?? [],
    visibility: row.visibility,
    ownerId: Number(row.owner_id),
    version: Number(row.version),
    contentHash: row.content_hash,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The visibility rule (service.ts isVisibleTo) as a condition on "dataset", `placeholder` its one parameter. */
function visibilityCondition(principal: Principal, placeholder: string): string {
  if (!principal.organizationId) return `"dataset"."deleted_at" is null`;
  return `"dataset"."deleted_at" is null and ("dataset"."visibility" = 'public' or "dataset"."organization_id" = ${placeholder})`;
}

/** The visibility rule as SQL for these prepared statements; appends its parameter. */
function visibleSql(principal: Principal, params: unknown[]): string {
  if (principal.organizationId) params.push(principal.organizationId);
  return visibilityCondition(principal, `$${params.length}`);
}

/** Ids of the datasets `principal` can see, as a subquery for another module's query (`?` placeholders). */
export function visibleDatasetIdsQuery(principal: Principal): { sql: string; params: unknown[] } {
  return {
    sql: `select "dataset"."id" from "dataset" where ${visibilityCondition(principal, '?')}`,
    params: principal.organizationId ? [principal.organizationId] : [],
  };
}

/**
 * Each read below takes an optional `charge`: a pending write (the request's rate-limit charge) to fold
 * into its statement (see readFolding).
 */
export async function findVisibleDataset(
  sql: FastSql,
  principal: Principal,
  id: string,
  charge?: FoldableWrite | null,
): Promise<DatasetRecord | null> {
  const params: unknown[] = [id];
  const visible = visibleSql(principal, params);
  const rows = await readFolding<DatasetRow>(
    sql,
    charge,
    `select ${COLUMNS} from "dataset" where "id" = $1 and ${visible} limit 1`,
    params,
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** A dataset's JSON with what decides who may see it, whoever asks (for DatasetViewCache). */
export interface DatasetJsonWithFacts {
  id: string;
  json: string;
  facts: DatasetAccessFacts;
}

/**
 * The datasets with these ids, deleted or not and visible to anyone or not, each with its `fields` as
 * JSON text and its access facts: batch reads decide visibility per caller themselves (isVisibleTo), so
 * what they read can be cached for every caller (DatasetViewCache).
 */
export async function findDatasetsJsonWithFacts(
  sql: FastSql,
  ids: string[],
  fields: readonly DatasetViewField[],
  charge?: FoldableWrite | null,
): Promise<DatasetJsonWithFacts[]> {
  if (!ids.length) return [];
  const rows = await readFolding<
    DatasetJsonRow & { '@org': string | null; '@visibility': Visibility; '@deleted': boolean }
  >(
    sql,
    charge,
    `select ${datasetJsonColumns(fields)}, "dataset"."organization_id" as "@org", "dataset"."visibility" as "@visibility",
      "dataset"."deleted_at" is not null as "@deleted"
     from "dataset" where "dataset"."id" = any($1::text[])`,
    [textArrayLiteral(ids)],
  );
  return rows.map((row) => ({
    id: row['@id'],
    json: row['@json'],
    facts: { organizationId: row['@org'], visibility: row['@visibility'], deleted: row['@deleted'] },
  }));
}

/** The list filters as SQL, with their parameters. */
function listFilter(
  principal: Principal,
  input: ListDatasetsInput,
): { filterSql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = [visibleSql(principal, params)];
  if (input.user_id !== undefined) {
    params.push(input.user_id);
    where.push(`"owner_id" = $${params.length}`);
  }
  if (input.visibility) {
    params.push(input.visibility);
    where.push(`"visibility" = $${params.length}`);
  }
  if (input.labeled !== undefined) {
    params.push(input.labeled);
    where.push(`"labeled" = $${params.length}`);
  }
  if (input.format) {
    params.push(input.format);
    where.push(`"format" = $${params.length}`);
  }
  if (input.tags?.length) {
    params.push(input.tags);
    where.push(`"tags" @> $${params.length}::text[]`);
  }
  if (input.search) {
    params.push(`%${input.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`"name" ilike $${params.length} escape '\\'`);
  }
  return { filterSql: where.join(' and '), params };
}

/** One page of the filtered datasets, newest first, selected as `selectList` and read by `read`; and the total. */
async function listPage<Row>(
  sql: FastSql,
  principal: Principal,
  input: ListDatasetsInput,
  selectList: string,
  read: (text: string, params: unknown[]) => Promise<Row[]>,
): Promise<{ total: number; rows: Row[] }> {
  const { filterSql, params } = listFilter(principal, input);
  const n = params.length;
  const [rows, total] = await Promise.all([
    read(
      `select ${selectList} from "dataset" where ${filterSql} order by "dataset"."created_at" desc, "dataset"."id" desc limit $${n + 1} offset $${n + 2}`,
      [...params, input.limit, (input.page - 1) * input.limit],
    ),
    countCached(sql, filterSql, params),
  ]);
  return { total, rows };
}

export async function listVisibleDatasets(
  sql: FastSql,
  principal: Principal,
  input: ListDatasetsInput,
  charge?: FoldableWrite | null,
): Promise<{ total: number; datasets: DatasetRecord[] }> {
  const { total, rows } = await listPage(sql, principal, input, COLUMNS, (text, params) =>
    readFolding<DatasetRow>(sql, charge, text, params),
  );
  return { total, datasets: rows.map(toRecord) };
}

/**
 * A key naming everything a list page's statement depends on (the caller's visibility, the filters, the
 * page and the fields), for caching the page (DatasetViewCache.page).
 */
export function listPageKey(
  principal: Principal,
  input: ListDatasetsInput,
  fields: readonly DatasetViewField[],
): string {
  const { filterSql, params } = listFilter(principal, input);
  return `${fields.join(',')}|${filterSql}|${JSON.stringify(params)}|${input.limit}|${input.page}`;
}

/** The number of visible datasets the list filters match (cached: see countCached). */
export function countVisibleDatasets(
  sql: FastSql,
  principal: Principal,
  input: ListDatasetsInput,
): Promise<number> {
  const { filterSql, params } = listFilter(principal, input);
  return countCached(sql, filterSql, params);
}

/** As listVisibleDatasets, with each dataset's `fields` written as JSON text (see dataset-json.ts). */
export async function listVisibleDatasetsJson(
  sql: FastSql,
  principal: Principal,
  input: ListDatasetsInput,
  fields: readonly DatasetViewField[],
  charge?: FoldableWrite | null,
): Promise<{ total: number; datasets: string[] }> {
  const { total, rows } = await listPage(sql, principal, input, datasetJsonColumns(fields), (text, params) =>
    readFolding<DatasetJsonRow>(sql, charge, text, params),
  );
  return { total, datasets: rows.map((row) => row['@json']) };
}

/** List totals (see CountCache), per database: cleared on this process's dataset writes and by the change feed. */
const counts = new CountCache({ ttlMs: 5_000, staleMs: 60_000, maxEntries: 5_000 });
const databaseKeys = new WeakMap<FastSql, number>();
let databaseCount = 0;

function countCached(sql: FastSql, filterSql: string, params: unknown[]): Promise<number> {
  let database = databaseKeys.get(sql);
  if (database === undefined) {
    database = ++databaseCount;
    databaseKeys.set(sql, database);
  }
  return counts.get(`${database}|${filterSql}|${JSON.stringify(params)}`, async () => {
    const rows = await sql.query<{ n: number }>(
      `select count(*)::int as "n" from "dataset" where ${filterSql}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/** Called by every dataset write in this process, and for other processes' writes by the change feed. */
export function invalidateDatasetCounts(): void {
  counts.invalidate();
}

type AccessRoles = { explicit_role: DatasetRole | null; member_role: 'admin' | 'member' | null };

/** What decides a user's access besides the dataset itself: their explicit permission and membership. */
export interface AccessFacts {
  explicitRole: DatasetRole | null;
  memberRole: 'admin' | 'member' | null;
}

/** The archive fields of a dataset version. */
export interface ArchiveVersionRecord {
  id: string;
  version: number;
  contentHash: string;
  archiveStatus: 'none' | 'building' | 'ready' | 'failed';
  archiveKey: string | null;
  archiveSizeBytes: number | null;
  archiveContentHash: string | null;
  archiveManifest: Record<string, unknown> | null;
}

type VersionColumns = {
  v_id: string | null;
  v_version: number | null;
  v_content_hash: string | null;
  v_archive_status: ArchiveVersionRecord['archiveStatus'] | null;
  v_archive_key: string | null;
  v_archive_size_bytes: number | string | null;
  v_archive_content_hash: string | null;
  v_archive_manifest: Record<string, unknown> | null;
};

function toArchiveVersion(row: VersionColumns): ArchiveVersionRecord | null {
  if (row.v_id === null) return null;
  return {
    id: row.v_id,
    version: Number(row.v_version),
    contentHash: String(row.v_content_hash),
    archiveStatus: row.v_archive_status ?? 'none',
    archiveKey: row.v_archive_key,
    archiveSizeBytes: row.v_archive_size_bytes === null ? null : Number(row.v_archive_size_bytes),
    archiveContentHash: row.v_archive_content_hash,
    archiveManifest: row.v_archive_manifest,
  };
}

/**
 * One visible dataset together with what the Platform's permission check and download URLs need, in a
 * single statement: the access facts of `userId` (when given) and the archive fields of `version`
 * (latest when not given; only when `withVersion`). Each round trip trimmed is a socket write and a
 * wake-up on both sides, which dominate these requests' cost.
 */
export async function findVisibleDatasetWith(
  sql: FastSql,
  principal: Principal,
  id: string,
  options: {
    userId?: number | undefined;
    withVersion?: boolean;
    version?: number | undefined;
    charge?: FoldableWrite | null | undefined;
  },
): Promise<{ dataset: DatasetRecord; access: AccessFacts; version: ArchiveVersionRecord | null } | null> {
  const params: unknown[] = [id, options.userId ?? null];
  const visible = visibleSql(principal, params);
  const access = `(select p."role" from "dataset_permission" p where p."dataset_id" = "dataset"."id" and p."user_id" = $2::int) as "explicit_role",
    (select m."role" from "membership" m where m."organization_id" = "dataset"."organization_id" and m."user_id" = $2::int) as "member_role"`;
  let versionJoin = '';
  let versionColumns = '';
  if (options.withVersion) {
    let versionFilter = '';
    if (options.version !== undefined) {
      params.push(options.version);
      versionFilter = `and v."version" = $${params.length}`;
    }
    versionColumns = `, v."id" as "v_id", v."version" as "v_version", v."content_hash" as "v_content_hash",
      v."archive_status" as "v_archive_status", v."archive_key" as "v_archive_key", v."archive_size_bytes" as "v_archive_size_bytes",
      v."archive_content_hash" as "v_archive_content_hash", v."archive_manifest" as "v_archive_manifest"`;
    versionJoin = `left join lateral (select * from "dataset_version" v where v."dataset_id" = "dataset"."id" ${versionFilter}
      order by v."version" desc limit 1) v on true`;
  }
  const rows = await readFolding<DatasetRow & AccessRoles & VersionColumns>(
    sql,
    options.charge,
    `select ${COLUMNS_OF_DATASET}, ${access}${versionColumns} from "dataset" ${versionJoin}
     where "dataset"."id" = $1 and ${visible} limit 1`,
    params,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    dataset: toRecord(row),
    access: { explicitRole: row.explicit_role ?? null, memberRole: row.member_role ?? null },
    version: options.withVersion ? toArchiveVersion(row) : null,
  };
}
