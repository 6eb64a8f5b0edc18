import { createHash } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  type Dataset as DatasetView,
  type DatasetRole,
  LabelerError,
  type PermissionReason,
  type Principal,
} from '@labeler/core';
import type { FastSql } from '../../db/fast-sql.js';
import type { Em, Orm } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/service.js';
import { assertOwnOrganization } from '../organizations/tenancy.js';
import { DatasetPermission } from '../permissions/entities.js';
import { NO_WEBHOOK_EVENTS, type WebhookEvents } from '../webhooks/events.js';
import { Dataset, DatasetFile, DatasetVersion } from './entities.js';
import {
  type AccessFacts,
  type ArchiveVersionRecord,
  countVisibleDatasets,
  type DatasetRecord,
  findVisibleDataset,
  findDatasetsJsonWithFacts,
  findVisibleDatasetWith,
  invalidateDatasetCounts,
  listVisibleDatasets,
  listPageKey,
  listVisibleDatasetsJson,
} from './reads.js';

/** The visibility rule as a subquery for other modules' queries (annotation project lists). */
export { visibleDatasetIdsQuery } from './reads.js';
import type { DatasetViewField } from './dataset-json.js';
import type { FoldableWrite } from '../../db/fast-sql.js';
import type { DatasetVersionView, ListDatasetsInput } from './schemas.js';
import type { DatasetAccessFacts, DatasetViewCache } from './view-cache.js';

type DatasetCreate = {
  /** An explicit id (platform-wide admins only, see assertMayChooseId); default a new random one. */
  id?: string | undefined;
  name: string;
  description?: string | null | undefined;
  format: Dataset['format'];
  labeled: boolean;
  class_names: string[];
  tags: string[];
  visibility: Dataset['visibility'];
  owner_id: number;
  organization_id?: string | null | undefined;
  annotation_path?: string | null | undefined;
  num_images?: number | undefined;
  storage_instance_id?: string | null | undefined;
};

type DatasetUpdate = Partial<Omit<DatasetCreate, 'storage_instance_id'>> & { dataset_id: string };

export interface AccessDecision {
  has_access: boolean;
  role: DatasetRole | null;
  reason: PermissionReason;
}

/** The spec's permission reasons, strongest first: owner, explicit permission, organization member, public. */
export function decideAccess(
  dataset: Pick<DatasetRecord, 'ownerId' | 'visibility' | 'organizationId'>,
  userId: number,
  facts: AccessFacts,
): AccessDecision {
  if (dataset.ownerId === userId) return { has_access: true, role: 'owner', reason: 'owner' };
  if (facts.explicitRole)
    return { has_access: true, role: facts.explicitRole, reason: 'explicit_permission' };
  if (dataset.organizationId && dataset.visibility !== 'private' && facts.memberRole) {
    return {
      has_access: true,
      role: facts.memberRole === 'admin' ? 'editor' : 'viewer',
      reason: 'organization_member',
    };
  }
  if (dataset.visibility === 'public') return { has_access: true, role: 'viewer', reason: 'public_dataset' };
  return { has_access: false, role: null, reason: 'no_access' };
}

export function toDatasetView(d: Dataset | DatasetRecord): DatasetView {
  return {
    id: d.id,
    name: d.name,
    description: d.description ?? null,
    format: d.format,
    labeled: d.labeled,
    storage_type: d.storageType,
    storage_path: d.storagePath,
    annotation_path: d.annotationPath ?? null,
    num_classes: d.numClasses,
    num_images: d.numImages,
    class_names: d.classNames,
    tags: d.tags,
    visibility: d.visibility,
    owner_id: d.ownerId,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
    version: d.version,
    content_hash: d.contentHash ?? null,
  };
}

export function toVersionView(v: DatasetVersion): DatasetVersionView {
  return {
    id: v.id,
    dataset_id: v.datasetId,
    version: v.version,
    content_hash: v.contentHash,
    annotation_path: v.annotationPath ?? null,
    num_images: v.numImages,
    num_classes: v.numClasses,
    class_names: v.classNames,
    file_count: v.fileCount,
    total_bytes: Number(v.totalBytes),
    note: v.note ?? null,
    archive: {
      status: v.archiveStatus,
      size_bytes:
        v.archiveSizeBytes === null || v.archiveSizeBytes === undefined ? null : Number(v.archiveSizeBytes),
      content_hash: v.archiveContentHash ?? null,
      job_id: v.archiveJobId ?? null,
    },
    created_at: v.createdAt.toISOString(),
  };
}

/** Moving a dataset between organizations (or out of every one) is a platform-wide admin action. */
function assertMayMove(principal: Principal, datasetId: string): void {
  if (!principal.organizationId && principal.scopes.includes('admin')) return;
  throw new LabelerError(
    'ACCESS_DENIED',
    `Only a platform-wide admin may move dataset ${datasetId} to another organization.`,
    { details: { dataset_id: datasetId, reason: 'organization_change' } },
  );
}

/** Choosing a dataset's id (migrating the Platform's legacy ids) is a platform-wide admin action. */
export function assertMayChooseId(principal: Principal, datasetId: string): void {
  if (!principal.organizationId && principal.scopes.includes('admin')) return;
  throw new LabelerError(
    'ACCESS_DENIED',
    `Only a platform-wide admin may choose a dataset's id (${datasetId}).`,
    {
      details: { dataset_id: datasetId, reason: 'explicit_id' },
    },
  );
}

export function datasetAlreadyExists(id: string): LabelerError {
  return new LabelerError(
    'DATASET_ALREADY_EXISTS',
    `Dataset ${id} already exists (possibly deleted); choose another id or update that dataset.`,
    { details: { dataset_id: id } },
  );
}

/** A version's content hash starts from its metadata; files and labels follow (a dataset without either: just this). */
export function contentHashSeed(format: string, classNames: string[], annotationPath: string | null) {
  return createHash('sha256').update(
    JSON.stringify({ format, class_names: classNames, annotation_path: annotationPath }),
  );
}

export function datasetNotFound(id: string): LabelerError {
  return new LabelerError('DATASET_NOT_FOUND', `Dataset ${id} not found`, { details: { dataset_id: id } });
}

/**
 * Which datasets a caller can see at all. Platform-wide principals (no organization) see every dataset;
 * an organization's principals see public datasets and their organization's. A dataset outside that
 * answers 404 DATASET_NOT_FOUND, never 403, so private datasets' existence does not leak.
 *
 * The rule is written twice: here, over a dataset's access facts (entities loaded for writes, the view
 * cache), and as SQL for the reads that filter in the database (reads.ts visibleSql). The platform-lane
 * parity tests and test/dataset-view-cache.test.ts hold the two together.
 */
export function isVisibleTo(principal: Principal, facts: DatasetAccessFacts): boolean {
  if (facts.deleted) return false;
  if (!principal.organizationId) return true;
  return facts.visibility === 'public' || facts.organizationId === principal.organizationId;
}

/**
 * Who may write a dataset — PATCH, DELETE, new versions, uploads, permission grants and revokes, archive
 * builds, annotation projects, storage adoption: **its organization's admins and keys with
 * `datasets:write` in that organization; platform-wide principals (no organization: the operator's admin
 * tokens and console admins, explicitly, and keys created without an organization) with `datasets:write`
 * or `admin`.** An organization's caller never writes another organization's dataset (public or not) nor
 * one that belongs to no organization.
 *
 * Callers of assertWritable get 404 DATASET_NOT_FOUND where the dataset is invisible to them (as a read
 * would), 403 ACCESS_DENIED where they can read it but not write it (another organization's public one).
 */
/** The scope a write needs beside the rule: datasets:write, or permissions:write for explicit permissions. */
export type DatasetWriteScope = 'datasets:write' | 'permissions:write';

export function canWrite(
  principal: Principal,
  facts: DatasetAccessFacts,
  scope: DatasetWriteScope = 'datasets:write',
): boolean {
  if (facts.deleted) return false;
  if (!principal.scopes.includes(scope) && !principal.scopes.includes('admin')) return false;
  if (!principal.organizationId) return true;
  return facts.organizationId === principal.organizationId;
}

function accessFactsOf(
  dataset: Pick<Dataset, 'organizationId' | 'visibility' | 'deletedAt'>,
): DatasetAccessFacts {
  return {
    organizationId: dataset.organizationId ?? null,
    visibility: dataset.visibility,
    deleted: Boolean(dataset.deletedAt),
  };
}

/** Throws what canWrite's doc says unless `principal` may write `dataset`. */
export function assertWritable(
  principal: Principal,
  dataset: Pick<Dataset, 'id' | 'organizationId' | 'visibility' | 'deletedAt'>,
  scope: DatasetWriteScope = 'datasets:write',
): void {
  const facts = accessFactsOf(dataset);
  if (!isVisibleTo(principal, facts)) throw datasetNotFound(dataset.id);
  // Routes check scopes first; this keeps a caller without the scope from reading as "other organization".
  if (!principal.scopes.includes(scope) && !principal.scopes.includes('admin'))
    throw new LabelerError('INSUFFICIENT_SCOPE', `This write requires the "${scope}" scope.`, {
      details: { required_scope: scope, granted_scopes: principal.scopes },
    });
  if (!canWrite(principal, facts, scope))
    throw new LabelerError(
      'ACCESS_DENIED',
      `Dataset ${dataset.id} belongs to another organization: only that organization's admins and keys with ${scope} may change it.`,
      { details: { dataset_id: dataset.id, reason: 'other_organization' } },
    );
}

export class DatasetService {
  constructor(
    private readonly orm: Orm,
    private readonly audit: AuditService,
    /** Prepared statements for the Platform's read paths. */
    private readonly sql: FastSql,
    /** Batch and list reads' cached views (see view-cache.ts). */
    private readonly views: DatasetViewCache,
    /** Webhook events, published in each write's transaction. */
    private readonly events: WebhookEvents = NO_WEBHOOK_EVENTS,
  ) {}

  /**
   * Dataset writes change list totals and views: drop this process's cached ones once the write commits,
   * so this process reads its own writes at once (other processes learn of it from the table's trigger).
   */
  async #thenInvalidate<T extends { id: string }>(write: Promise<T>): Promise<T> {
    const result = await write;
    invalidateDatasetCounts();
    this.views.invalidate(result.id);
    return result;
  }

  async getVisible(principal: Principal, id: string, em: Em = this.orm.em.fork()): Promise<Dataset> {
    const dataset = await em.findOne(Dataset, { id, deletedAt: null });
    const visible =
      dataset !== null &&
      isVisibleTo(principal, {
        organizationId: dataset.organizationId ?? null,
        visibility: dataset.visibility,
        deleted: false,
      });
    if (!visible) throw datasetNotFound(id);
    return dataset;
  }

  /**
   * A dataset the principal may write (see canWrite). `lock` takes its row lock (`select … for update`,
   * inside `em`'s transaction), so concurrent writes of one dataset run one after another on fresh rows.
   */
  async getWritable(
    principal: Principal,
    id: string,
    em: Em = this.orm.em.fork(),
    options: { lock?: boolean; scope?: DatasetWriteScope } = {},
  ): Promise<Dataset> {
    const dataset = await em.findOne(
      Dataset,
      { id, deletedAt: null },
      options.lock ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!dataset) throw datasetNotFound(id);
    assertWritable(principal, dataset, options.scope);
    return dataset;
  }

  /** What decides who may see and write a dataset (null: no such dataset). */
  async accessFacts(id: string): Promise<DatasetAccessFacts | null> {
    const dataset = await this.orm.em.fork().findOne(Dataset, { id });
    return dataset ? accessFactsOf(dataset) : null;
  }

  async list(
    principal: Principal,
    input: ListDatasetsInput,
    charge?: FoldableWrite | null,
  ): Promise<{ total: number; page: number; limit: number; datasets: DatasetRecord[] }> {
    const { total, datasets } = await listVisibleDatasets(this.sql, principal, input, charge);
    return { total, page: input.page, limit: input.limit, datasets };
  }

  /**
   * The visible datasets among `ids`, each found one's `fields` written as JSON text: from the view cache where it holds
   * them, the rest in one read that also fills the cache.
   */
  async batchJson(
    principal: Principal,
    ids: string[],
    fields: readonly DatasetViewField[],
    charge?: FoldableWrite | null,
  ): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const views = this.views;
    // With the cache off (PGlite, no change feed) every id misses and nothing is stored.
    const fieldsKey = fields.join(',');
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const id of unique) {
      const cached = views.lookup(id, fieldsKey);
      if (!cached) missing.push(id);
      else if (cached.facts && isVisibleTo(principal, cached.facts)) found.set(id, cached.json);
    }
    if (!missing.length) return found;
    const generation = views.generation;
    const read = await findDatasetsJsonWithFacts(this.sql, missing, fields, charge);
    const absent = new Set(missing);
    for (const dataset of read) {
      absent.delete(dataset.id);
      views.store(generation, dataset.id, dataset.facts, fieldsKey, dataset.json);
      if (isVisibleTo(principal, dataset.facts)) found.set(dataset.id, dataset.json);
    }
    for (const id of absent) views.store(generation, id, null, fieldsKey);
    return found;
  }

  /** list, with each dataset's `fields` written as JSON text; the page from the view cache while no dataset has changed. */
  async listJson(
    principal: Principal,
    input: ListDatasetsInput,
    fields: readonly DatasetViewField[],
    charge?: FoldableWrite | null,
  ): Promise<{ total: number; page: number; limit: number; datasets: string[] }> {
    const views = this.views;
    const key = views.active ? listPageKey(principal, input, fields) : '';
    const cached = key ? views.page(key) : undefined;
    if (cached) {
      const total = await countVisibleDatasets(this.sql, principal, input);
      return { total, page: input.page, limit: input.limit, datasets: cached };
    }
    const generation = views.generation;
    const { total, datasets } = await listVisibleDatasetsJson(this.sql, principal, input, fields, charge);
    if (key) views.storePage(generation, key, datasets);
    return { total, page: input.page, limit: input.limit, datasets };
  }

  /** Read path (no change tracking): one visible dataset. */
  async findVisible(principal: Principal, id: string, charge?: FoldableWrite | null): Promise<DatasetRecord> {
    const dataset = await findVisibleDataset(this.sql, principal, id, charge);
    if (!dataset) throw datasetNotFound(id);
    return dataset;
  }

  /** A visible dataset and, when `userId` is given, that user's access to it: one statement. */
  async findVisibleWithAccess(
    principal: Principal,
    id: string,
    userId: number | undefined,
    options: { withVersion?: boolean; version?: number | undefined; charge?: FoldableWrite | null } = {},
  ): Promise<{
    dataset: DatasetRecord;
    decision: AccessDecision | null;
    version: ArchiveVersionRecord | null;
  }> {
    const found = await findVisibleDatasetWith(this.sql, principal, id, { userId, ...options });
    if (!found) throw datasetNotFound(id);
    return {
      dataset: found.dataset,
      decision: userId === undefined ? null : decideAccess(found.dataset, userId, found.access),
      version: found.version,
    };
  }

  async create(
    input: DatasetCreate,
    actor: Principal,
    storage: { instanceId: string | null; storageType: string },
    options: { requestId?: string } = {},
  ): Promise<Dataset> {
    // An organization's caller creates only in its own organization (the router checks that it exists).
    assertOwnOrganization(actor, input.organization_id);
    if (input.id !== undefined) assertMayChooseId(actor, input.id);
    const em = this.orm.em.fork();
    return this.#thenInvalidate(
      em.transactional(async (tem) => {
        const id = input.id ?? newId('dataset');
        // Soft-deleted rows keep their id too: an explicit id is never reused.
        if (input.id !== undefined && (await tem.count(Dataset, { id })) > 0) throw datasetAlreadyExists(id);
        const dataset = tem.create(Dataset, {
          id,
          organizationId: input.organization_id ?? actor.organizationId ?? null,
          name: input.name,
          description: input.description ?? null,
          format: input.format,
          labeled: input.labeled,
          storageInstanceId: storage.instanceId,
          storageType: storage.storageType,
          storagePath: `datasets/${id}/`,
          annotationPath: input.annotation_path ?? null,
          numClasses: input.class_names.length,
          numImages: input.num_images ?? 0,
          classNames: input.class_names,
          tags: [...new Set(input.tags)],
          visibility: input.visibility,
          ownerId: input.owner_id,
        });
        await this.#createVersion(tem, dataset, actor, 'initial version');
        await this.events.publish(tem, {
          type: 'dataset.created',
          organizationId: dataset.organizationId ?? null,
          actor,
          data: {
            dataset_id: id,
            name: dataset.name,
            visibility: dataset.visibility,
            owner_id: dataset.ownerId,
            version: dataset.version,
          },
        });
        await this.audit.record({
          em: tem,
          actor,
          action: 'dataset.created',
          targetType: 'dataset',
          targetId: id,
          organizationId: dataset.organizationId ?? null,
          details: { name: input.name },
          requestId: options.requestId ?? null,
        });
        return dataset;
      }),
    ).catch((error: unknown) => {
      // Two concurrent creates of one explicit id: the loser meets the primary key.
      if (input.id !== undefined && error instanceof UniqueConstraintViolationException)
        throw datasetAlreadyExists(input.id);
      throw error;
    });
  }

  async update(
    input: DatasetUpdate,
    actor: Principal,
    options: { requestId?: string } = {},
  ): Promise<Dataset> {
    const em = this.orm.em.fork();
    return this.#thenInvalidate(
      em.transactional(async (tem) => {
        // The row lock makes concurrent PATCHes (and snapshots) read the row the previous one committed,
        // so the row and the version derived from it in this transaction stay equal.
        const dataset = await this.getWritable(actor, input.dataset_id, tem, { lock: true });
        if (input.organization_id !== undefined && input.organization_id !== (dataset.organizationId ?? null))
          assertMayMove(actor, dataset.id);
        const previousOrganizationId = dataset.organizationId ?? null;
        const changed: string[] = [];
        const set = <K extends keyof Dataset>(key: K, value: Dataset[K] | undefined, field: string) => {
          if (value !== undefined && JSON.stringify(dataset[key]) !== JSON.stringify(value)) {
            dataset[key] = value;
            changed.push(field);
          }
        };
        set('name', input.name, 'name');
        set('description', input.description, 'description');
        set('format', input.format, 'format');
        set('labeled', input.labeled, 'labeled');
        set('tags', input.tags ? [...new Set(input.tags)] : undefined, 'tags');
        set('visibility', input.visibility, 'visibility');
        set('ownerId', input.owner_id, 'owner_id');
        set('organizationId', input.organization_id, 'organization_id');
        set('numImages', input.num_images, 'num_images');
        const contentChanged =
          (input.class_names !== undefined &&
            JSON.stringify(input.class_names) !== JSON.stringify(dataset.classNames)) ||
          (input.annotation_path !== undefined && input.annotation_path !== dataset.annotationPath);
        if (input.class_names !== undefined) {
          set('classNames', input.class_names, 'class_names');
          dataset.numClasses = dataset.classNames.length;
        }
        set('annotationPath', input.annotation_path, 'annotation_path');
        // Class names and the annotation path are part of the content: a change makes a new immutable version.
        if (contentChanged)
          await this.#createVersion(tem, dataset, actor, `metadata change: ${changed.join(', ')}`);
        if (changed.length)
          await this.events.publish(tem, {
            type: 'dataset.updated',
            organizationId: dataset.organizationId ?? null,
            alsoOrganizationId: previousOrganizationId,
            actor,
            data: { dataset_id: dataset.id, changed_fields: changed, version: dataset.version },
          });
        if (changed.length)
          await this.audit.record({
            em: tem,
            actor,
            action: 'dataset.updated',
            targetType: 'dataset',
            targetId: dataset.id,
            organizationId: dataset.organizationId ?? null,
            details: { fields: changed },
            requestId: options.requestId ?? null,
          });
        return dataset;
      }),
    );
  }

  async softDelete(id: string, actor: Principal, options: { requestId?: string } = {}): Promise<Dataset> {
    const em = this.orm.em.fork();
    return this.#thenInvalidate(
      em.transactional(async (tem) => {
        const dataset = await this.getWritable(actor, id, tem, { lock: true });
        dataset.deletedAt = new Date();
        await this.events.publish(tem, {
          type: 'dataset.deleted',
          organizationId: dataset.organizationId ?? null,
          actor,
          data: { dataset_id: id },
        });
        await this.audit.record({
          em: tem,
          actor,
          action: 'dataset.deleted',
          targetType: 'dataset',
          targetId: id,
          organizationId: dataset.organizationId ?? null,
          requestId: options.requestId ?? null,
        });
        return dataset;
      }),
    );
  }

  /**
   * Snapshots the current files and metadata as a new immutable version and points the dataset at it.
   * `em` must be in a transaction. With `writer`, that principal must be allowed to write the dataset
   * (jobs and the CLI snapshot on the system's behalf and pass none).
   */
  async createVersion(
    datasetId: string,
    actor: Principal | null,
    note: string | null,
    em?: Em,
    writer?: Principal,
  ): Promise<DatasetVersion> {
    const run = async (tem: Em) => {
      const dataset = await tem.findOne(
        Dataset,
        { id: datasetId, deletedAt: null },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (!dataset) throw datasetNotFound(datasetId);
      if (writer) assertWritable(writer, dataset);
      return this.#createVersion(tem, dataset, actor, note);
    };
    return em ? run(em) : this.orm.em.fork().transactional(run);
  }

  /**
   * Callers hold the dataset's row lock (or created the row in this transaction): that serialises version
   * numbering per dataset across processes and makes `dataset` the committed row the version is taken of.
   */
  async #createVersion(
    em: Em,
    dataset: Dataset,
    actor: Principal | null,
    note: string | null,
  ): Promise<DatasetVersion> {
    const last = await em.findOne(
      DatasetVersion,
      { datasetId: dataset.id },
      { orderBy: { version: 'desc' } },
    );
    const next = (last?.version ?? 0) + 1;
    const files = await em.find(
      DatasetFile,
      { datasetId: dataset.id, lastVersion: null },
      { orderBy: { path: 'asc' } },
    );
    const hash = contentHashSeed(dataset.format, dataset.classNames, dataset.annotationPath ?? null);
    let totalBytes = 0;
    for (const f of files) {
      hash.update(`\n${f.path}\t${f.size}\t${f.sha256}`);
      totalBytes += Number(f.size);
    }
    // Sample labels are content too (pulled annotations): one digest computed in the database.
    const [labelsDigest] = (await em.execute(
      `select count(*)::int as n, md5(coalesce(string_agg("id" || ':' || "labels"::text, E'\\n' order by "id"), '')) as digest from "dataset_sample" where "dataset_id" = ?`,
      [dataset.id],
    )) as Array<{ n: number; digest: string }>;
    if (labelsDigest && labelsDigest.n > 0) hash.update(`\nlabels:${labelsDigest.n}:${labelsDigest.digest}`);
    const images = files.filter((f) => /\.(jpe?g|png|gif|bmp|webp|tiff?)$/i.test(f.path)).length;
    const version = em.create(DatasetVersion, {
      id: newId('datasetVersion'),
      datasetId: dataset.id,
      version: next,
      contentHash: `sha256:${hash.digest('hex')}`,
      annotationPath: dataset.annotationPath ?? null,
      numImages: files.length ? images : dataset.numImages,
      numClasses: dataset.classNames.length,
      classNames: dataset.classNames,
      fileCount: files.length,
      totalBytes,
      note,
      createdBy: actor?.id ?? null,
    });
    dataset.version = next;
    dataset.contentHash = version.contentHash;
    if (files.length) dataset.numImages = images;
    await this.events.publish(em, {
      type: 'dataset.version.created',
      organizationId: dataset.organizationId ?? null,
      actor,
      data: {
        dataset_id: dataset.id,
        version: next,
        version_id: version.id,
        content_hash: version.contentHash,
        note,
      },
    });
    return version;
  }

  async listVersions(principal: Principal, datasetId: string): Promise<DatasetVersion[]> {
    const em = this.orm.em.fork();
    await this.getVisible(principal, datasetId, em);
    return em.find(DatasetVersion, { datasetId }, { orderBy: { version: 'desc' } });
  }

  async getVersion(
    datasetId: string,
    version: number | undefined,
    em: Em = this.orm.em.fork(),
  ): Promise<DatasetVersion> {
    const row =
      version === undefined
        ? await em.findOne(DatasetVersion, { datasetId }, { orderBy: { version: 'desc' } })
        : await em.findOne(DatasetVersion, { datasetId, version });
    if (!row) {
      throw new LabelerError(
        'DATASET_VERSION_NOT_FOUND',
        `Dataset ${datasetId} has no version ${version ?? '(none yet)'}.`,
        { details: { dataset_id: datasetId, version: version ?? null } },
      );
    }
    return row;
  }

  /**
   * Sets `userId`'s explicit role on the dataset (permissions:write under the dataset write rule).
   * Idempotent: a repeat leaves the row (and its answer) as it was and writes no audit row. The dataset's
   * row lock serialises grants and revokes of one dataset, so concurrent repeats cannot race on the row.
   */
  async grant(
    datasetId: string,
    userId: number,
    role: DatasetRole,
    actor: Principal,
    options: { requestId?: string } = {},
  ): Promise<DatasetPermission> {
    const em = this.orm.em.fork();
    return em.transactional(async (tem) => {
      const dataset = await this.getWritable(actor, datasetId, tem, {
        lock: true,
        scope: 'permissions:write',
      });
      let permission = await tem.findOne(DatasetPermission, { datasetId, userId });
      const previous = permission?.role ?? null;
      if (previous === role) return permission!;
      if (permission) {
        permission.role = role;
        permission.grantedBy = actor.id;
      } else
        permission = tem.create(DatasetPermission, {
          id: newId('permission'),
          datasetId,
          userId,
          role,
          grantedBy: actor.id,
        });
      await this.audit.record({
        em: tem,
        actor,
        action: 'dataset.permission_granted',
        targetType: 'dataset',
        targetId: datasetId,
        organizationId: dataset.organizationId ?? null,
        details: { user_id: userId, role, previous_role: previous },
        requestId: options.requestId ?? null,
      });
      await this.events.publish(tem, {
        type: 'dataset.permission.changed',
        organizationId: dataset.organizationId ?? null,
        actor,
        data: { dataset_id: datasetId, user_id: userId, role, change: 'granted' },
      });
      return permission;
    });
  }

  /** Removes `userId`'s explicit permission; false (and no audit row) when there was none. */
  async revokePermission(
    datasetId: string,
    userId: number,
    actor: Principal,
    options: { requestId?: string } = {},
  ): Promise<boolean> {
    const em = this.orm.em.fork();
    return em.transactional(async (tem) => {
      const dataset = await this.getWritable(actor, datasetId, tem, {
        lock: true,
        scope: 'permissions:write',
      });
      const removed = await tem.nativeDelete(DatasetPermission, { datasetId, userId });
      if (removed) {
        await this.audit.record({
          em: tem,
          actor,
          action: 'dataset.permission_revoked',
          targetType: 'dataset',
          targetId: datasetId,
          organizationId: dataset.organizationId ?? null,
          details: { user_id: userId },
          requestId: options.requestId ?? null,
        });
        await this.events.publish(tem, {
          type: 'dataset.permission.changed',
          organizationId: dataset.organizationId ?? null,
          actor,
          data: { dataset_id: datasetId, user_id: userId, role: null, change: 'revoked' },
        });
      }
      return removed > 0;
    });
  }

  async listPermissions(principal: Principal, datasetId: string) {
    const em = this.orm.em.fork();
    await this.getVisible(principal, datasetId, em);
    const rows = await em.find(DatasetPermission, { datasetId }, { orderBy: { createdAt: 'asc' } });
    return rows.map((p) => ({
      user_id: p.userId,
      role: p.role,
      granted_by: p.grantedBy ?? null,
      created_at: p.createdAt.toISOString(),
    }));
  }
}
