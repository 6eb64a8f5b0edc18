import { randomBytes } from 'node:crypto';
import { constants, createWriteStream, type Dirent, type Stats } from 'node:fs';
import {
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import {
  assertValidPresignExpiry,
  type GetResult,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type PresignedUrl,
  type PresignOptions,
  type PutOptions,
  type StorageBody,
  type StorageInstance,
  storageObjectNotFound,
} from '../contracts/storage.js';
import { isLabelerError, LabelerError } from '../errors.js';
import { type HealthReport, healthy, type PluginContext, unhealthy } from '../plugin.js';
import { assertLocalKey, contentTypeFromKey, DiskLayout, RESERVED_DIR } from './paths.js';
import {
  buildPresignedUrl,
  contentDisposition,
  PRESIGN_QUERY,
  type PresignMethod,
  type SignedFields,
  signatureMatches,
} from './presign.js';

/** Framework-neutral request the server's HTTP layer hands to `servePresigned`. */
export interface PresignedRequest {
  method: string;
  /** Storage key: the path after /storage/local/{instanceId}/, each segment percent-decoded. */
  key: string;
  /** Query parameters (first value of each). */
  query: Record<string, string | undefined>;
  /** Request body for PUT. */
  body?: Readable;
}

export interface PresignedResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable | null;
}

export interface LocalDiskStorageInstance extends StorageInstance {
  /** Absolute storage root. */
  readonly root: string;
  presignGet(key: string, options: PresignOptions): Promise<PresignedUrl>;
  presignPut(key: string, options: PresignOptions): Promise<PresignedUrl>;
  /** Verifies a presigned URL (constant-time) and serves GET/HEAD or stores a PUT body. Never throws for client errors. */
  servePresigned(request: PresignedRequest): Promise<PresignedResponse>;
}

const sidecarSchema = z.object({
  contentType: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
type Sidecar = z.infer<typeof sidecarSchema>;

const MAX_LIST_LIMIT = 1000;

function isErrno(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    codes.includes(String((error as NodeJS.ErrnoException).code))
  );
}

function toReadable(body: StorageBody): Readable | Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Readable) return body;
  return Readable.from(body, { objectMode: false });
}

const etagOf = (stats: Stats): string =>
  `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;

/**
 * Identifies one stored version of an object file. put() writes the sidecar before it renames a new
 * file (new inode) into place, so a sidecar read for a given stamp stays right for as long as the stamp.
 */
const stampOf = (stats: Stats): string => `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;

function encodeCursor(prefix: string, after: string): string {
  return Buffer.from(JSON.stringify({ p: prefix, a: after })).toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  try {
    const parsed = z
      .object({ p: z.string(), a: z.string() })
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.p === prefix) return parsed.a;
  } catch {
    // fall through to the error below
  }
  throw new LabelerError(
    'VALIDATION_ERROR',
    'The list cursor is invalid or belongs to another prefix; start again without a cursor.',
    { details: { field: 'cursor' } },
  );
}

function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): PresignedResponse {
  const body = JSON.stringify({ error: { code, message, details: {}, timestamp: new Date().toISOString() } });
  return {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      ...headers,
    },
    body: Readable.from([Buffer.from(body)]),
  };
}

export class LocalDiskStorage implements LocalDiskStorageInstance {
  private readonly layout: DiskLayout;
  /** Sidecars by key, valid while the object's stamp is unchanged (spares a HEAD four file calls). */
  private readonly sidecars = new LRUCache<string, { stamp: string; sidecar: Sidecar }>({ max: 10_000 });

  constructor(
    readonly root: string,
    private readonly ctx: Pick<PluginContext, 'instanceId' | 'publicBaseUrl' | 'signingKey'>,
  ) {
    this.layout = new DiskLayout(root);
  }

  async init(): Promise<void> {
    await mkdir(this.layout.tmpDir, { recursive: true });
    await mkdir(this.layout.metaDir, { recursive: true });
  }

  // ---- objects -----------------------------------------------------------------------------------

  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<ObjectInfo> {
    assertLocalKey(key);
    const target = this.layout.objectPath(key);
    await this.layout.assertInsideRoot(target, key);
    const tmp = path.join(this.layout.tmpDir, `${randomBytes(12).toString('hex')}.tmp`);
    try {
      const size = await this.writeTemp(tmp, toReadable(body));
      if (options.contentLength !== undefined && options.contentLength !== size) {
        throw new LabelerError(
          'VALIDATION_ERROR',
          `The body had ${size} bytes but contentLength said ${options.contentLength}; nothing was stored.`,
          {
            details: { key, expected: options.contentLength, actual: size },
          },
        );
      }
      await this.writeSidecar(key, { contentType: options.contentType, metadata: options.metadata });
      this.sidecars.delete(key);
      await this.renameIntoPlace(tmp, target, key);
      const stats = await stat(target);
      return {
        key,
        size: stats.size,
        etag: etagOf(stats),
        lastModified: stats.mtime.toISOString(),
        contentType: options.contentType ?? contentTypeFromKey(key),
      };
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  private async writeTemp(tmp: string, source: Readable | Buffer): Promise<number> {
    if (Buffer.isBuffer(source)) {
      await writeFile(tmp, source, { flag: 'wx' });
      return source.length;
    }
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer | string, _encoding, done) {
        size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(source, counter, createWriteStream(tmp, { flags: 'wx' }));
    return size;
  }

  private async renameIntoPlace(tmp: string, target: string, key: string): Promise<void> {
    // A concurrent delete may prune the freshly created parent folder; retry once it is recreated.
    for (let attempt = 0; ; attempt++) {
      await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => {
        if (isErrno(error, 'ENOTDIR', 'EEXIST')) throw this.conflict(key);
        throw error;
      });
      try {
        await rename(tmp, target);
        return;
      } catch (error) {
        if (isErrno(error, 'EISDIR', 'ENOTEMPTY', 'ENOTDIR')) throw this.conflict(key);
        if (!isErrno(error, 'ENOENT') || attempt >= 3) throw error;
      }
    }
  }

  private conflict(key: string): LabelerError {
    return new LabelerError(
      'CONFLICT',
      `Cannot store "${key}" on local disk: it collides with an existing object or folder of the same name.`,
      { details: { key } },
    );
  }

  private async writeSidecar(key: string, sidecar: Sidecar): Promise<void> {
    const file = this.layout.sidecarPath(key);
    if (sidecar.contentType === undefined && sidecar.metadata === undefined) {
      await rm(file, { force: true }); // an overwrite without a content type must not keep the old one
      return;
    }
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(this.layout.tmpDir, `${randomBytes(12).toString('hex')}.meta`);
    await writeFile(tmp, JSON.stringify(sidecar));
    await rename(tmp, file);
  }

  private async readSidecar(key: string): Promise<Sidecar> {
    try {
      return sidecarSchema.parse(JSON.parse(await readFile(this.layout.sidecarPath(key), 'utf8')));
    } catch {
      return {}; // missing or unreadable sidecar: derive from the key
    }
  }

  private async info(key: string, stats: Stats): Promise<ObjectInfo> {
    const stamp = stampOf(stats);
    const cached = this.sidecars.get(key);
    let sidecar: Sidecar;
    if (cached?.stamp === stamp) sidecar = cached.sidecar;
    else {
      sidecar = await this.readSidecar(key);
      this.sidecars.set(key, { stamp, sidecar });
    }
    return {
      key,
      size: stats.size,
      etag: etagOf(stats),
      lastModified: stats.mtime.toISOString(),
      contentType: sidecar.contentType ?? contentTypeFromKey(key),
    };
  }

  async get(key: string): Promise<GetResult> {
    assertLocalKey(key);
    const target = this.layout.objectPath(key);
    await this.layout.assertInsideRoot(target, key).catch((error: unknown) => {
      if (isLabelerError(error)) throw error;
      throw storageObjectNotFound(key);
    });
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      // O_NOFOLLOW: a symlink planted at the key must not be followed out of root.
      handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR')) throw storageObjectNotFound(key);
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw storageObjectNotFound(key);
      const info = await this.info(key, stats);
      return { ...info, body: handle.createReadStream({ autoClose: true, highWaterMark: 64 * 1024 }) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertLocalKey(key);
    const target = this.layout.objectPath(key);
    try {
      await this.layout.assertInsideRootForMetadata(target, key);
      // lstat: a symlink at the key is not an object, as in get().
      const stats = await lstat(target);
      if (!stats.isFile()) return null;
      return await this.info(key, stats);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertLocalKey(key);
    const target = this.layout.objectPath(key);
    await this.layout.assertInsideRoot(target, key);
    try {
      await unlink(target);
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw error;
    }
    await rm(this.layout.sidecarPath(key), { force: true });
    this.sidecars.delete(key);
    await this.pruneEmptyParents(path.dirname(target));
  }

  /** Removes folders left empty by a delete, so a later put of the folder's name as a file works. */
  private async pruneEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current !== this.root && current.startsWith(this.root)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop
      }
      current = path.dirname(current);
    }
  }

  /**
   * Lists keys ascending by UTF-8 bytes (S3 order). Walks the folder that contains the prefix on every
   * call: fine for local development and tests, not meant for millions of files.
   */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const prefix = options.prefix ?? '';
    const limit = options.limit ?? MAX_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new LabelerError(
        'VALIDATION_ERROR',
        `list limit must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${limit}.`,
        { details: { field: 'limit' } },
      );
    }
    const after = options.cursor ? decodeCursor(options.cursor, prefix) : null;
    const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await this.walk(startDir, (key) => {
      if (
        key.startsWith(prefix) &&
        (after === null || Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0)
      )
        keys.push(key);
    });
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const pageKeys = keys.slice(0, limit);
    const items: ObjectInfo[] = [];
    for (const key of pageKeys) {
      const stats = await stat(this.layout.objectPath(key)).catch(() => null);
      if (stats?.isFile()) items.push(await this.info(key, stats)); // vanished since the walk: skip
    }
    const last = pageKeys.at(-1);
    return {
      items,
      nextCursor: keys.length > limit && last !== undefined ? encodeCursor(prefix, last) : null,
    };
  }

  private async walk(relDir: string, visit: (key: string) => void): Promise<void> {
    let dirPath: string;
    try {
      if (relDir) assertLocalKey(relDir);
      dirPath = relDir ? this.layout.objectPath(relDir) : this.root;
    } catch {
      return; // a prefix that cannot be a folder has no keys under it on disk
    }
    let entries: Dirent[];
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      if (!relDir && entry.name === RESERVED_DIR) continue;
      const key = relDir ? `${relDir}/${entry.name}` : entry.name;
      // Symlinks are neither files nor folders here: listing never follows a link out of root.
      if (entry.isDirectory()) await this.walk(key, visit);
      else if (entry.isFile()) visit(key);
    }
  }

  // ---- presigned URLs ----------------------------------------------------------------------------

  async presignGet(key: string, options: PresignOptions): Promise<PresignedUrl> {
    return this.presign('GET', key, options);
  }

  async presignPut(key: string, options: PresignOptions): Promise<PresignedUrl> {
    return this.presign('PUT', key, options);
  }

  private requireSigningKey(): string {
    if (!this.ctx.signingKey) {
      throw new LabelerError(
        'PLUGIN_UNAVAILABLE',
        'Local-disk presigned URLs need the host signing key, and none was configured.',
        { retryable: false },
      );
    }
    return this.ctx.signingKey;
  }

  private async presign(method: PresignMethod, key: string, options: PresignOptions): Promise<PresignedUrl> {
    assertLocalKey(key);
    assertValidPresignExpiry(options.expiresInSeconds);
    const expires = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    const fields: SignedFields = {
      instanceId: this.ctx.instanceId,
      method,
      key,
      expires,
      contentType: options.contentType,
      filename: options.filename,
    };
    const url = buildPresignedUrl(this.ctx.publicBaseUrl, this.requireSigningKey(), fields);
    return { url, expiresAt: new Date(expires * 1000).toISOString() };
  }

  async servePresigned(request: PresignedRequest): Promise<PresignedResponse> {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
      request.body?.resume();
      return errorResponse(
        405,
        'METHOD_NOT_ALLOWED',
        `Presigned storage URLs accept GET, HEAD and PUT, not ${method}.`,
        { Allow: 'GET, HEAD, PUT' },
      );
    }
    const denied = this.verify(method === 'HEAD' ? 'GET' : method, request);
    if (denied) {
      request.body?.resume(); // drain so the connection can be reused
      return errorResponse(403, 'PRESIGNED_URL_INVALID', denied);
    }
    const contentType = request.query[PRESIGN_QUERY.contentType];
    if (method === 'PUT') {
      if (!request.body)
        return errorResponse(400, 'VALIDATION_ERROR', 'A presigned PUT needs a request body.');
      try {
        const info = await this.put(
          request.key,
          request.body,
          contentType === undefined ? {} : { contentType },
        );
        return {
          status: 200,
          headers: { ETag: info.etag ?? '', 'Content-Length': '0', 'Cache-Control': 'no-store' },
          body: null,
        };
      } catch (error) {
        if (isLabelerError(error) && error.status < 500)
          return errorResponse(error.status, error.code, error.message);
        throw error;
      }
    }
    let object: GetResult;
    try {
      object = await this.get(request.key);
    } catch (error) {
      if (isLabelerError(error) && error.code === 'STORAGE_OBJECT_NOT_FOUND')
        return errorResponse(404, error.code, 'The object behind this link no longer exists.');
      throw error;
    }
    const filename = request.query[PRESIGN_QUERY.filename];
    const headers: Record<string, string> = {
      'Content-Type': contentType ?? object.contentType ?? 'application/octet-stream',
      'Content-Length': String(object.size),
      'Cache-Control': 'private, no-store',
      // The bytes are user content served from the Labeler origin: never let a browser run them.
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      ...(object.etag ? { ETag: object.etag } : {}),
      ...(object.lastModified ? { 'Last-Modified': new Date(object.lastModified).toUTCString() } : {}),
      ...(filename ? { 'Content-Disposition': contentDisposition(filename) } : {}),
    };
    if (method === 'HEAD') {
      object.body.destroy();
      return { status: 200, headers, body: null };
    }
    return { status: 200, headers, body: object.body };
  }

  /** Null when the URL is valid for this method; otherwise the reason (safe to show). */
  private verify(method: PresignMethod, request: PresignedRequest): string | null {
    const q = request.query;
    const signature = q[PRESIGN_QUERY.signature];
    const expiresRaw = q[PRESIGN_QUERY.expires];
    if (!signature || !expiresRaw || !q[PRESIGN_QUERY.method])
      return 'This link is not a valid presigned storage URL: parameters are missing.';
    if (q[PRESIGN_QUERY.method] !== method)
      return `This link was signed for ${q[PRESIGN_QUERY.method]}, not ${method}.`;
    if (!/^\d{1,12}$/.test(expiresRaw)) return 'This link is not a valid presigned storage URL.';
    const expires = Number(expiresRaw);
    try {
      assertLocalKey(request.key);
    } catch {
      return 'This link is not a valid presigned storage URL.';
    }
    const fields: SignedFields = {
      instanceId: this.ctx.instanceId,
      method,
      key: request.key,
      expires,
      contentType: q[PRESIGN_QUERY.contentType],
      filename: q[PRESIGN_QUERY.filename],
    };
    // Check the signature before expiry so an attacker learns nothing from tampered expiry values.
    if (!signatureMatches(this.requireSigningKey(), fields, signature))
      return 'This link is not a valid presigned storage URL: the signature does not match.';
    if (Math.floor(Date.now() / 1000) > expires) return 'This link has expired; ask for a new one.';
    return null;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async health(): Promise<HealthReport> {
    try {
      const stats = await stat(this.root);
      if (!stats.isDirectory()) return unhealthy(`Storage root ${this.root} is not a folder.`);
      const probe = path.join(this.layout.tmpDir, `health-${randomBytes(6).toString('hex')}`);
      await mkdir(this.layout.tmpDir, { recursive: true });
      await writeFile(probe, 'ok');
      await unlink(probe);
      return healthy(undefined, { root: this.root });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      return unhealthy(
        `Storage root ${this.root} is not writable (${code}): check that it exists and the server may write to it.`,
        { root: this.root, code },
      );
    }
  }

  async dispose(): Promise<void> {
    // Nothing held open between calls; streams returned by get() close themselves.
  }
}
