import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type DatasetConnectorInstance,
  isLabelerError,
  LabelerError,
  type Principal,
  type StorageInstance,
} from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import type { Em } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import { pgTextArray } from '../../lib/sql.js';
import { Dataset, DatasetFile, DatasetVersion } from '../datasets/entities.js';
import { datasetNotFound } from '../datasets/service.js';
import { PluginInstanceRecord } from '../plugin-instances/entities.js';
import type { ArchivePresence } from './archive-presence.js';
import { planArchive, streamArchive, type ArchiveEntry } from './archive.js';
import type { DownloadUrlInput, DownloadUrlOutput } from './schemas.js';
import type { FoldableWrite } from '../../db/fast-sql.js';

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  json: 'application/json',
  txt: 'text/plain',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  md: 'text/markdown',
  zip: 'application/zip',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

const IMAGE_FILE = /\.(jpe?g|png|gif|bmp|webp|tiff?)$/i;

export interface SampleRecord {
  id: string;
  width: number | null;
  height: number | null;
  tags: string[];
  labels: Record<string, unknown>;
}

/** Stable 24-hex sample id from the dataset-relative image path (the shape of a FiftyOne ObjectId). */
export function sampleIdForPath(path: string): string {
  return createHash('sha1').update(`labeler-sample:${path}`).digest('hex').slice(0, 24);
}

/**
 * Every imported image is a sample. Samples read from the dataset's own format keep their ids and labels;
 * other images get a path-derived id. Existing samples keep the labels they already have (annotations).
 */
async function registerSamples(
  em: Em,
  datasetId: string,
  imagePaths: string[],
  known: Map<string, SampleRecord> | undefined,
): Promise<number> {
  let registered = 0;
  for (let i = 0; i < imagePaths.length; i += 500) {
    const batch = imagePaths.slice(i, i + 500);
    const rows: string[] = [];
    const values: unknown[] = [];
    for (const path of batch) {
      const sample = known?.get(path);
      rows.push('(?, ?, ?, ?, ?, ?::text[], ?::jsonb, now())');
      values.push(
        datasetId,
        sample?.id ?? sampleIdForPath(path),
        path,
        sample?.width ?? null,
        sample?.height ?? null,
        pgTextArray(sample?.tags ?? []),
        JSON.stringify(sample?.labels ?? {}),
      );
    }
    await em.execute(
      `insert into "dataset_sample" ("dataset_id", "id", "filepath", "width", "height", "tags", "labels", "updated_at") values ${rows.join(', ')}
       on conflict ("dataset_id", "id") do update set "filepath" = excluded."filepath", "width" = coalesce(excluded."width", "dataset_sample"."width"), "height" = coalesce(excluded."height", "dataset_sample"."height")`,
      values,
    );
    registered += batch.length;
  }
  return registered;
}

function versionNotFound(datasetId: string, version: number | undefined): LabelerError {
  return new LabelerError(
    'DATASET_VERSION_NOT_FOUND',
    `Dataset ${datasetId} has no version ${version ?? '(none yet)'}.`,
    {
      details: { dataset_id: datasetId, version: version ?? null },
    },
  );
}

/** Relative dataset paths: forward slashes, no "..", no leading slash. */
export function normaliseDatasetPath(path: string): string {
  const clean = path.replace(/\\/g, '/').replace(/^\/+/, '');
  if (!clean || clean.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new LabelerError(
      'VALIDATION_ERROR',
      `File path "${path.slice(0, 200)}" must be a relative path without "." or ".." segments.`,
      { details: { path: path.slice(0, 1024) } },
    );
  }
  return clean;
}

/** Hashes a stream as it flows to storage (sha256 + size) without buffering it. */
function hashingTransform(): { transform: Transform; result: () => { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { transform, result: () => ({ sha256: hash.digest('hex'), size }) };
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

/** Where a version's archive is stored. */
function archiveKeyOf(datasetId: string, version: number): string {
  return `datasets/${datasetId}/archives/v${version}/archive.zip`;
}

/** Storage errors the Platform sees as the spec's R2_UNAVAILABLE (503, retryable). */
function asStorageUnavailable(error: unknown): never {
  if (
    isLabelerError(error) &&
    (error.code === 'R2_UNAVAILABLE' ||
      error.code === 'STORAGE_UNAVAILABLE' ||
      error.code === 'PLUGIN_UNAVAILABLE')
  ) {
    throw new LabelerError(
      'R2_UNAVAILABLE',
      'Dataset storage is temporarily unavailable. Retry later; dataset metadata is still available.',
      {
        retryAfterSeconds: error.retryAfterSeconds ?? 5,
        details: { storage_error: error.code },
        cause: error,
      },
    );
  }
  throw error;
}

export class StorageFilesService {
  constructor(
    private readonly app: () => AppServices,
    /** Archives recently seen in storage (download-url's existence check). */
    private readonly archives: ArchivePresence,
    /** Reads dataset folders for importDirectory; chosen by the composition root (plugins/catalog.ts). */
    private readonly connector: DatasetConnectorInstance,
  ) {}

  /** The storage a new dataset uses: an explicit instance, or the default one. */
  async resolveStorageFor(
    instanceId: string | null,
  ): Promise<{ instanceId: string | null; storageType: string }> {
    const em = this.app().orm.em.fork();
    const record = instanceId
      ? await em.findOne(PluginInstanceRecord, { id: instanceId, kind: 'storage' })
      : await em.findOne(PluginInstanceRecord, { kind: 'storage', isDefault: true });
    if (!record) {
      if (instanceId)
        throw new LabelerError('PLUGIN_INSTANCE_NOT_FOUND', `No storage plugin instance "${instanceId}".`, {
          details: { storage_instance_id: instanceId },
        });
      return { instanceId: null, storageType: 'local' };
    }
    return {
      instanceId: record.id,
      storageType: record.pluginId === 'local-disk' ? 'local' : record.pluginId,
    };
  }

  async storageOf(dataset: Pick<Dataset, 'storageInstanceId'>): Promise<StorageInstance> {
    const plugins = this.app().plugins;
    return dataset.storageInstanceId
      ? plugins.get(dataset.storageInstanceId, 'storage')
      : (await plugins.getDefault('storage')).instance;
  }

  /** Files of a version (temporal inventory). */
  async filesOf(em: Em, datasetId: string, version: number): Promise<DatasetFile[]> {
    return em.find(
      DatasetFile,
      {
        datasetId,
        firstVersion: { $lte: version },
        $or: [{ lastVersion: null }, { lastVersion: { $gte: version } }],
      },
      { orderBy: { path: 'asc' } },
    );
  }

  async listCurrentFiles(
    principal: Principal,
    datasetId: string,
    options: { limit: number; offset: number },
  ) {
    const app = this.app();
    const em = app.orm.em.fork();
    await app.datasets.getVisible(principal, datasetId, em);
    const [files, total] = await em.findAndCount(
      DatasetFile,
      { datasetId, lastVersion: null },
      { orderBy: { path: 'asc' }, limit: options.limit, offset: options.offset },
    );
    return {
      total,
      files: files.map((f) => ({
        path: f.path,
        size: Number(f.size),
        sha256: f.sha256,
        content_type: f.contentType ?? null,
        first_version: f.firstVersion,
      })),
    };
  }

  /**
   * Stores files under datasets/{id}/ while hashing them, records the inventory, and snapshots a new
   * version. Unchanged files (same sha256) are skipped, so re-running an interrupted import is cheap.
   */
  async importFiles(
    datasetId: string,
    files: AsyncIterable<{ path: string; open: () => Readable; size?: number }>,
    actor: Principal | null,
    options: {
      onProgress?: (done: number, message: string) => void;
      signal?: AbortSignal;
      note?: string;
      annotationPath?: string | null;
      /** Samples read from the dataset's own format, keyed by dataset-relative image path. */
      samples?: Map<string, SampleRecord>;
      classNames?: string[];
    } = {},
  ): Promise<{ imported: number; skipped: number; samples: number; version: DatasetVersion }> {
    const app = this.app();
    const em = app.orm.em.fork();
    const dataset = await em.findOne(Dataset, { id: datasetId, deletedAt: null });
    if (!dataset) throw datasetNotFound(datasetId);
    const storage = await this.storageOf(dataset);
    const nextVersion = dataset.version + 1;
    let imported = 0;
    let skipped = 0;
    const imagePaths: string[] = [];
    for await (const file of files) {
      options.signal?.throwIfAborted();
      const path = normaliseDatasetPath(file.path);
      const storageKey = `datasets/${datasetId}/${path}`;
      const { transform, result } = hashingTransform();
      const source = file.open();
      const hashed = source.pipe(transform);
      source.on('error', (error) => hashed.destroy(error));
      await storage
        .put(storageKey, hashed, {
          contentType: contentTypeOf(path),
          ...(file.size !== undefined ? { contentLength: file.size } : {}),
        })
        .catch(asStorageUnavailable);
      const { sha256, size } = result();
      if (IMAGE_FILE.test(path)) imagePaths.push(path);
      const current = await em.findOne(DatasetFile, { datasetId, path, lastVersion: null });
      if (current && current.sha256 === sha256) skipped++;
      else {
        if (current) current.lastVersion = nextVersion - 1;
        em.create(DatasetFile, {
          id: newId('file'),
          datasetId,
          path,
          storageKey,
          size,
          sha256,
          contentType: contentTypeOf(path),
          firstVersion: nextVersion,
          lastVersion: null,
        });
        imported++;
      }
      if ((imported + skipped) % 100 === 0) await em.flush();
      options.onProgress?.(imported + skipped, path);
    }
    if (options.annotationPath !== undefined) dataset.annotationPath = options.annotationPath;
    if (options.classNames?.length && !dataset.classNames.length) {
      dataset.classNames = options.classNames;
      dataset.numClasses = options.classNames.length;
    }
    await em.flush();
    const samples = await registerSamples(em, datasetId, imagePaths, options.samples);
    const version = await em.transactional((tem) =>
      app.datasets.createVersion(datasetId, actor, options.note ?? 'file import', tem),
    );
    return { imported, skipped, samples, version };
  }

  /**
   * Imports a local folder (CLI). When the folder is a dataset in a known format (FiftyOne, COCO, YOLO,
   * image folder), its samples keep their ids (fiftyone_id) and labels.
   */
  async importDirectory(
    datasetId: string,
    dir: string,
    actor: Principal | null,
    options: {
      onProgress?: (done: number, message: string) => void;
      signal?: AbortSignal;
      annotationPath?: string | null;
    } = {},
  ) {
    const root = dir;
    const connector = this.connector;
    const format = await connector.detectFormat(root);
    const samples = new Map<string, SampleRecord>();
    let classNames: string[] = [];
    if (format) {
      const source = { path: root, format, labelField: 'ground_truth' };
      classNames = (await connector.readInfo(source)).classes;
      for await (const sample of connector.readSamples(source)) {
        const rel = relative(root, sample.filepath).split(sep).join('/');
        if (rel.startsWith('..')) continue;
        samples.set(rel, {
          id: sample.id,
          width: sample.metadata.width ?? null,
          height: sample.metadata.height ?? null,
          tags: sample.tags,
          labels: sample.labels as Record<string, unknown>,
        });
      }
    }
    async function* files() {
      for await (const full of walk(root)) {
        const info = await stat(full);
        yield {
          path: relative(root, full).split(sep).join('/'),
          open: () => createReadStream(full),
          size: info.size,
        };
      }
    }
    return this.importFiles(datasetId, files(), actor, {
      ...options,
      note: `import from ${dir}${format ? ` (${format})` : ''}`,
      samples,
      classNames,
    });
  }

  /**
   * Upload through the API: presigned PUT URLs straight to the dataset's storage (bytes never pass through
   * Labeler when the storage is R2). completeUploads() then records what arrived.
   */
  async requestUploads(
    principal: Principal,
    datasetId: string,
    files: Array<{ path: string; content_type?: string | undefined }>,
    expiresInSeconds: number,
  ) {
    const app = this.app();
    const dataset = await app.datasets.getWritable(principal, datasetId);
    const storage = await this.storageOf(dataset).catch(asStorageUnavailable);
    if (!storage.presignPut) {
      throw new LabelerError(
        'CAPABILITY_UNSUPPORTED',
        'The dataset storage cannot issue upload URLs; upload with `labeler dataset import` instead.',
      );
    }
    const uploads = [];
    for (const file of files) {
      const path = normaliseDatasetPath(file.path);
      if (path.startsWith('archives/')) {
        throw new LabelerError(
          'VALIDATION_ERROR',
          `"archives/" is reserved for built archives; choose another path than "${path}".`,
          { details: { path } },
        );
      }
      const contentType = file.content_type ?? contentTypeOf(path);
      const signed = await storage
        .presignPut(`datasets/${datasetId}/${path}`, { expiresInSeconds, contentType })
        .catch(asStorageUnavailable);
      uploads.push({
        path,
        method: 'PUT' as const,
        upload_url: signed.url,
        headers: { 'content-type': contentType },
        expires_at: signed.expiresAt,
      });
    }
    await app.audit.record({
      actor: principal,
      action: 'dataset.upload_urls_issued',
      targetType: 'dataset',
      targetId: datasetId,
      organizationId: dataset.organizationId ?? null,
      details: { files: uploads.length },
    });
    return { dataset_id: datasetId, uploads };
  }

  /** Adopts objects already under datasets/{id}/ in the dataset's storage (hashing each by streaming). */
  async adoptExisting(
    datasetId: string,
    actor: Principal | null,
    options: { onProgress?: (done: number, message: string) => void; signal?: AbortSignal } = {},
  ) {
    const app = this.app();
    const em = app.orm.em.fork();
    const dataset = await em.findOne(Dataset, { id: datasetId, deletedAt: null });
    if (!dataset) throw datasetNotFound(datasetId);
    const storage = await this.storageOf(dataset);
    const prefix = `datasets/${datasetId}/`;
    const nextVersion = dataset.version + 1;
    let cursor: string | undefined;
    let adopted = 0;
    do {
      const page = await storage
        .list({ prefix, ...(cursor ? { cursor } : {}), limit: 1000 })
        .catch(asStorageUnavailable);
      for (const item of page.items) {
        options.signal?.throwIfAborted();
        const path = item.key.slice(prefix.length);
        if (!path || path.startsWith('archives/')) continue;
        const { transform, result } = hashingTransform();
        const object = await storage.get(item.key).catch(asStorageUnavailable);
        // Only the hash is needed: stream through the hasher and drop the bytes.
        await pipeline(object.body, transform, new Writable({ write: (_chunk, _enc, cb) => cb() }));
        const { sha256, size } = result();
        const current = await em.findOne(DatasetFile, { datasetId, path, lastVersion: null });
        if (current?.sha256 === sha256) continue;
        if (current) current.lastVersion = nextVersion - 1;
        em.create(DatasetFile, {
          id: newId('file'),
          datasetId,
          path,
          storageKey: item.key,
          size,
          sha256,
          contentType: item.contentType ?? contentTypeOf(path),
          firstVersion: nextVersion,
          lastVersion: null,
        });
        adopted++;
        options.onProgress?.(adopted, path);
      }
      await em.flush();
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const version = await em.transactional((tem) =>
      app.datasets.createVersion(datasetId, actor, 'adopted existing storage prefix', tem),
    );
    return { adopted, version };
  }

  /** Builds archive.zip for a dataset version, streamed from storage into storage (job handler body). */
  async buildArchive(
    datasetId: string,
    versionNumber: number,
    options: {
      onProgress?: (done: number, total: number, message: string) => Promise<void> | void;
      signal?: AbortSignal;
    } = {},
  ) {
    const app = this.app();
    const em = app.orm.em.fork();
    const dataset = await em.findOne(Dataset, { id: datasetId });
    if (!dataset) throw datasetNotFound(datasetId);
    const version = await app.datasets.getVersion(datasetId, versionNumber, em);
    const files = await this.filesOf(em, datasetId, versionNumber);
    const entries: ArchiveEntry[] = files.map((f) => ({
      path: f.path,
      storageKey: f.storageKey,
      size: Number(f.size),
      sha256: f.sha256,
    }));
    const plan = planArchive({
      datasetId,
      name: dataset.name,
      version: version.version,
      versionHash: version.contentHash,
      annotationPath: version.annotationPath ?? null,
      classNames: version.classNames,
      entries,
    });
    const storage = await this.storageOf(dataset);
    const key = archiveKeyOf(datasetId, versionNumber);
    version.archiveStatus = 'building';
    await em.flush();
    const { stream, bytes } = streamArchive(storage, plan, (index, entry) => {
      void options.onProgress?.(index + 1, entries.length, entry.path);
    });
    options.signal?.addEventListener('abort', () => stream.destroy(new Error('archive build aborted')), {
      once: true,
    });
    const info = await storage.put(key, stream, { contentType: 'application/zip' });
    this.archives.forget(storage, key);
    version.archiveStatus = 'ready';
    version.archiveKey = key;
    version.archiveSizeBytes = info.size || bytes();
    version.archiveContentHash = plan.contentHash;
    version.archiveManifest = plan.manifest as unknown as Record<string, unknown>;
    await em.flush();
    return {
      key,
      size_bytes: Number(version.archiveSizeBytes),
      content_hash: plan.contentHash,
      files: entries.length,
    };
  }

  async markArchiveFailed(datasetId: string, versionNumber: number): Promise<void> {
    await this.app()
      .orm.em.fork()
      .nativeUpdate(
        DatasetVersion,
        { datasetId, version: versionNumber, archiveStatus: 'building' },
        { archiveStatus: 'failed' },
      );
  }

  /** Starts (or joins) the archive build of a version; enqueued in the caller's transaction when given. */
  async startArchiveBuild(datasetId: string, versionNumber: number, createdBy: string | null, em?: Em) {
    return this.app().jobs.startJob(
      'dataset.archive',
      { dataset_id: datasetId, version: versionNumber },
      { createdBy, ...(em ? { em } : {}) },
    );
  }

  /**
   * The spec's download-url: checks the named user's access, then signs the version's archive. Metadata
   * comes from the database; only the HEAD on the archive touches storage, so an outage answers
   * R2_UNAVAILABLE while every metadata route keeps working.
   */
  async issueDownloadUrl(
    principal: Principal,
    input: DownloadUrlInput,
    meta: { requestId: string; ip: string | null; charge?: FoldableWrite | null },
  ): Promise<DownloadUrlOutput> {
    const app = this.app();
    const {
      dataset,
      decision,
      version: found,
    } = await app.datasets.findVisibleWithAccess(principal, input.dataset_id, input.user_id, {
      withVersion: true,
      version: input.version,
      charge: meta.charge,
    });
    if (input.user_id !== undefined && decision) {
      if (!decision.has_access) {
        throw new LabelerError(
          'ACCESS_DENIED',
          `User ${input.user_id} has no access to dataset ${dataset.id}.`,
          { details: { dataset_id: dataset.id, user_id: input.user_id, reason: decision.reason } },
        );
      }
    }
    if (!found) throw versionNotFound(dataset.id, input.version);
    const version = found;
    const storage = await this.storageOf(dataset).catch(asStorageUnavailable);
    if (version.archiveStatus === 'ready' && version.archiveKey) {
      const head = await this.archives.head(storage, version.archiveKey).catch(asStorageUnavailable);
      if (head) {
        if (!storage.presignGet)
          throw new LabelerError(
            'CAPABILITY_UNSUPPORTED',
            'The dataset storage cannot issue presigned URLs.',
          );
        // No custom download filename: the object is already archive.zip, and a response-content-disposition
        // parameter is not verified consistently by S3-compatible servers (the SigV4 test server rejects it).
        const signed = await storage
          .presignGet(version.archiveKey, { expiresInSeconds: input.expiration_seconds })
          .catch(asStorageUnavailable);
        await app.audit.record({
          actor: principal,
          action: 'dataset.download_url_issued',
          targetType: 'dataset',
          targetId: dataset.id,
          organizationId: dataset.organizationId ?? null,
          details: {
            version: version.version,
            user_id: input.user_id ?? null,
            purpose: input.purpose ?? null,
            expires_at: signed.expiresAt,
            expiration_seconds: input.expiration_seconds,
          },
          requestId: meta.requestId,
          ip: meta.ip,
        });
        app.metrics.presignedUrls.inc();
        const manifest = (version.archiveManifest ?? {}) as {
          images?: string;
          annotations?: string | null;
          readme?: string;
        };
        return {
          status: 'ready',
          dataset_id: dataset.id,
          download_url: signed.url,
          expires_at: signed.expiresAt.replace(/\.\d{3}Z$/, 'Z'),
          format: 'zip',
          size_bytes: Number(version.archiveSizeBytes ?? head.size),
          manifest: {
            images: manifest.images ?? 'images/',
            annotations: manifest.annotations ?? null,
            readme: manifest.readme ?? 'README.md',
          },
          version: version.version,
          content_hash: version.archiveContentHash ?? version.contentHash,
        };
      }
    }
    // Not built (or gone): ask storage about the archive's place first, so an outage answers
    // R2_UNAVAILABLE instead of starting a build that can only fail, once per poll.
    await this.archives.head(storage, archiveKeyOf(dataset.id, version.version)).catch(asStorageUnavailable);
    const { job } = await this.startArchiveBuild(dataset.id, version.version, principal.id);
    await app.orm.em
      .fork()
      .nativeUpdate(
        DatasetVersion,
        { id: version.id },
        { archiveJobId: job.id, ...(version.archiveStatus === 'ready' ? { archiveStatus: 'none' } : {}) },
      );
    return {
      status: 'building',
      dataset_id: dataset.id,
      version: version.version,
      job_id: job.id,
      retry_after_seconds: 10,
      message: `The archive of version ${version.version} is being built (job ${job.id}). Request the URL again when the job completes.`,
    };
  }
}
