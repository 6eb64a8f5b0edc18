import { defineEntity, p } from '@mikro-orm/core';
import { DATASET_FORMATS, VISIBILITIES } from '@labeler/core';

/** What the `dataset` table's triggers notify: a changed dataset's id, or '*' for all of them. */
export const DATASET_CHANGES_CHANNEL = 'labeler_dataset_changes';

/** A dataset as the Platform sees it; `version`/`contentHash` mirror its latest DatasetVersion. */
export const DatasetSchema = defineEntity({
  name: 'Dataset',
  tableName: 'dataset',
  // Every change notifies the changed dataset's id ('*' on truncate), whoever makes it, so each server
  // process drops its cached view once the change commits (modules/datasets/view-cache.ts). Truncate
  // notifies '*' through a trigger the migration creates: MikroORM does not see truncate triggers.
  triggers: [
    {
      name: 'dataset_changes_notify',
      timing: 'after',
      events: ['insert', 'update', 'delete'],
      forEach: 'row',
      body: `if tg_op = 'DELETE' then perform pg_notify('${DATASET_CHANGES_CHANNEL}', old.id); else perform pg_notify('${DATASET_CHANGES_CHANNEL}', new.id); end if; if tg_op = 'UPDATE' and old.id <> new.id then perform pg_notify('${DATASET_CHANGES_CHANNEL}', old.id); end if; return null;`,
    },
  ],
  indexes: [
    { properties: ['ownerId'] },
    { properties: ['organizationId'] },
    { properties: ['visibility', 'createdAt', 'id'] },
    { properties: ['createdAt', 'id'] },
    {
      // List totals (count(*) per filter) as index-only scans over the usual filters.
      name: 'dataset_live_facets_index',
      expression:
        'create index "dataset_live_facets_index" on "dataset" ("visibility", "labeled", "format", "owner_id") where "deleted_at" is null',
    },
    {
      name: 'dataset_tags_gin',
      expression: 'create index "dataset_tags_gin" on "dataset" using gin ("tags")',
    },
  ],
  properties: {
    id: p.string().primary(),
    organizationId: p.string().nullable(),
    name: p.string(),
    description: p.text().nullable(),
    format: p.enum(DATASET_FORMATS),
    labeled: p.boolean().default(false),
    /** Plugin instance holding the files (null → the server's default storage). */
    storageInstanceId: p.string().nullable(),
    storageType: p.string().default('local'),
    storagePath: p.string(),
    annotationPath: p.string().nullable(),
    numClasses: p.integer().default(0),
    numImages: p.integer().default(0),
    classNames: p.array().default([]),
    tags: p.array().default([]),
    visibility: p.enum(VISIBILITIES).default('private'),
    ownerId: p.integer(),
    version: p.integer().default(0),
    contentHash: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    deletedAt: p.datetime().nullable(),
  },
});
export class Dataset extends DatasetSchema.class {}
DatasetSchema.setClass(Dataset);

/** Immutable snapshot of a dataset's content; archive fields record the built download artifact. */
export const DatasetVersionSchema = defineEntity({
  name: 'DatasetVersion',
  tableName: 'dataset_version',
  uniques: [{ properties: ['datasetId', 'version'] }],
  properties: {
    id: p.string().primary(),
    datasetId: p.string(),
    version: p.integer(),
    contentHash: p.string(),
    annotationPath: p.string().nullable(),
    numImages: p.integer(),
    numClasses: p.integer(),
    classNames: p.array().default([]),
    fileCount: p.integer().default(0),
    totalBytes: p.bigint('number').default(0),
    note: p.text().nullable(),
    createdBy: p.string().nullable(),
    archiveStatus: p.enum(['none', 'building', 'ready', 'failed'] as const).default('none'),
    archiveKey: p.string().nullable(),
    archiveSizeBytes: p.bigint('number').nullable(),
    archiveContentHash: p.string().nullable(),
    archiveManifest: p.json<Record<string, unknown>>().nullable(),
    archiveJobId: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class DatasetVersion extends DatasetVersionSchema.class {}
DatasetVersionSchema.setClass(DatasetVersion);

/**
 * File inventory as a temporal table: a row is part of versions firstVersion..lastVersion (null = still
 * current). Replacing a file closes the old row and opens a new one, so every version stays reproducible.
 */
export const DatasetFileSchema = defineEntity({
  name: 'DatasetFile',
  tableName: 'dataset_file',
  uniques: [{ properties: ['datasetId', 'path', 'firstVersion'] }],
  indexes: [{ properties: ['datasetId', 'lastVersion'] }],
  properties: {
    id: p.string().primary(),
    datasetId: p.string(),
    /** Path inside the dataset, e.g. "images/0001.jpg". */
    path: p.text(),
    storageKey: p.text(),
    size: p.bigint('number'),
    sha256: p.string(),
    contentType: p.string().nullable(),
    firstVersion: p.integer(),
    lastVersion: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class DatasetFile extends DatasetFileSchema.class {}
DatasetFileSchema.setClass(DatasetFile);

/** One image of a dataset with its current labels (the dataset's ground truth). */
export const DatasetSampleSchema = defineEntity({
  name: 'DatasetSample',
  tableName: 'dataset_sample',
  primaryKeys: ['datasetId', 'id'],
  properties: {
    datasetId: p.string().primary(),
    id: p.string().primary(),
    filepath: p.text(),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    tags: p.array().default([]),
    labels: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class DatasetSample extends DatasetSampleSchema.class {}
DatasetSampleSchema.setClass(DatasetSample);
