import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertValidPresignExpiry,
  assertValidStorageKey,
  type GetResult,
  type HealthReport,
  healthy,
  LabelerError,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type PluginLogger,
  type PresignedUrl,
  type PresignOptions,
  type PutOptions,
  type StorageBody,
  type StorageInstance,
  toLabelerError,
  unhealthy,
} from '@labeler/core';
import type { ResolvedR2Config } from './config.js';
import { isTransportError, mapS3Error } from './errors.js';
import { BodyStreamError, MAX_PARTS, MIN_PART_SIZE, uploadStream } from './multipart.js';

/**
 * Multipart part size: R2 wants equal non-trailing parts of at least 5 MiB. A streamed upload holds
 * PART_BUFFERS × PART_SIZE (10 MiB) of part buffers, whatever the body's size.
 */
export const PART_SIZE = MIN_PART_SIZE;
const PART_BUFFERS = 2;
const MIB = 1024 * 1024;

/** PART_SIZE, or larger parts (whole MiB) when a known length would need more than MAX_PARTS parts. */
function partSizeFor(contentLength: number | undefined): number {
  if (contentLength === undefined || contentLength <= PART_SIZE * MAX_PARTS) return PART_SIZE;
  return Math.ceil(contentLength / MAX_PARTS / MIB) * MIB;
}
const MAX_LIST_LIMIT = 1000;

export interface R2StorageInstance extends StorageInstance {
  presignGet(key: string, options: PresignOptions): Promise<PresignedUrl>;
  presignPut(key: string, options: PresignOptions): Promise<PresignedUrl>;
  /** Bucket and key prefix in use (safe to show). */
  readonly location: { endpoint: string; bucket: string; prefix: string };
}

function asBuffer(body: StorageBody): Buffer | null {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return null;
}

function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const cleanEtag = (etag: string | undefined): string | undefined => etag ?? undefined;

export class R2Storage implements R2StorageInstance {
  private disposed = false;

  constructor(
    private readonly client: S3Client,
    private readonly config: ResolvedR2Config,
    private readonly logger: PluginLogger,
  ) {}

  get location(): { endpoint: string; bucket: string; prefix: string } {
    return { endpoint: this.config.endpoint, bucket: this.config.bucket, prefix: this.config.prefix };
  }

  /** Storage key → bucket key. Validates first so nothing invalid ever reaches the network. */
  private objectKey(key: string): string {
    assertValidStorageKey(key);
    return this.config.prefix + key;
  }

  private storageKey(objectKey: string): string {
    return objectKey.slice(this.config.prefix.length);
  }

  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.objectKey(key);
    const common = {
      Bucket: this.config.bucket,
      Key,
      ContentType: options.contentType,
      Metadata: options.metadata,
    };
    const buffer = asBuffer(body);
    try {
      if (buffer && buffer.length <= PART_SIZE) {
        const out = await this.client.send(
          new PutObjectCommand({ ...common, Body: buffer, ContentLength: buffer.length }),
        );
        return {
          key,
          size: buffer.length,
          etag: cleanEtag(out.ETag),
          ...(options.contentType ? { contentType: options.contentType } : {}),
        };
      }
      // Streams (and large buffers): one PutObject when the body fits in a part, otherwise a multipart
      // upload through a fixed set of PART_BUFFERS part buffers (see uploadStream).
      const source: AsyncIterable<Uint8Array | string> = buffer
        ? (async function* () {
            yield buffer;
          })()
        : (body as Readable | AsyncIterable<Uint8Array>);
      const { size, etag } = await uploadStream(this.client, common, source, {
        partSize: partSizeFor(options.contentLength),
        buffers: PART_BUFFERS,
      });
      if (options.contentLength !== undefined && options.contentLength !== size) {
        await this.delete(key).catch(() => undefined);
        throw new LabelerError(
          'VALIDATION_ERROR',
          `The body had ${size} bytes but contentLength said ${options.contentLength}; the object was not kept.`,
          {
            details: { key, expected: options.contentLength, actual: size },
          },
        );
      }
      return {
        key,
        size,
        etag: cleanEtag(etag),
        ...(options.contentType ? { contentType: options.contentType } : {}),
      };
    } catch (error) {
      // The caller's stream failed (e.g. the client went away): report that, not an S3 error.
      if (error instanceof BodyStreamError) throw error.original;
      if (error instanceof Error && !('$metadata' in error) && !isTransportError(error)) throw error;
      throw mapS3Error(error, 'put', key);
    }
  }

  async get(key: string): Promise<GetResult> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned a non-stream body');
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: cleanEtag(out.ETag),
        ...(out.LastModified ? { lastModified: out.LastModified.toISOString() } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        body: out.Body,
      };
    } catch (error) {
      throw mapS3Error(error, 'get', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: cleanEtag(out.ETag),
        ...(out.LastModified ? { lastModified: out.LastModified.toISOString() } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
      };
    } catch (error) {
      const mapped = mapS3Error(error, 'head', key);
      if (mapped.code === 'STORAGE_OBJECT_NOT_FOUND') return null;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key }));
    } catch (error) {
      const mapped = mapS3Error(error, 'delete', key);
      if (mapped.code !== 'STORAGE_OBJECT_NOT_FOUND') throw mapped; // some servers answer 404; deleting is idempotent
    }
  }

  /** Keys ascending by UTF-8 bytes (S3 order). The cursor is S3's continuation token. */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const limit = options.limit ?? MAX_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new LabelerError(
        'VALIDATION_ERROR',
        `list limit must be a whole number from 1 to ${MAX_LIST_LIMIT}; got ${limit}.`,
        { details: { field: 'limit' } },
      );
    }
    const Prefix = this.config.prefix + (options.prefix ?? '');
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: Prefix || undefined,
          MaxKeys: limit,
          ContinuationToken: options.cursor || undefined,
        }),
      );
      const items: ObjectInfo[] = (out.Contents ?? []).flatMap((object) =>
        object.Key === undefined
          ? []
          : [
              {
                key: this.storageKey(object.Key),
                size: object.Size ?? 0,
                etag: cleanEtag(object.ETag),
                ...(object.LastModified ? { lastModified: object.LastModified.toISOString() } : {}),
              },
            ],
      );
      return {
        items,
        nextCursor: out.IsTruncated && out.NextContinuationToken ? out.NextContinuationToken : null,
      };
    } catch (error) {
      throw mapS3Error(error, 'list');
    }
  }

  async presignGet(key: string, options: PresignOptions): Promise<PresignedUrl> {
    const Key = this.objectKey(key);
    assertValidPresignExpiry(options.expiresInSeconds);
    const command = new GetObjectCommand({
      Bucket: this.config.bucket,
      Key,
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.filename ? contentDisposition(options.filename) : undefined,
    });
    return this.sign(command, options.expiresInSeconds);
  }

  async presignPut(key: string, options: PresignOptions): Promise<PresignedUrl> {
    const Key = this.objectKey(key);
    assertValidPresignExpiry(options.expiresInSeconds);
    // A signed ContentType forces the uploader to send the same Content-Type header.
    const command = new PutObjectCommand({
      Bucket: this.config.bucket,
      Key,
      ContentType: options.contentType,
    });
    return this.sign(command, options.expiresInSeconds);
  }

  private async sign(command: GetObjectCommand | PutObjectCommand, expiresIn: number): Promise<PresignedUrl> {
    const signedAt = Date.now();
    try {
      const url = await getSignedUrl(this.client, command, { expiresIn });
      return {
        url,
        expiresAt: new Date(Math.floor(signedAt / 1000) * 1000 + expiresIn * 1000).toISOString(),
      };
    } catch (error) {
      throw mapS3Error(error, 'presign');
    }
  }

  /** Reachable and writable: put and delete a small probe object under the prefix. */
  async health(): Promise<HealthReport> {
    const probe = `${this.config.prefix}.labeler-health/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.config.bucket, Key: probe, Body: 'ok', ContentLength: 2 }),
      );
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: probe }));
      return healthy(undefined, { bucket: this.config.bucket, latencyMs: Date.now() - started });
    } catch (error) {
      const mapped = toLabelerError(mapS3Error(error, 'health'));
      this.logger.warn({ code: mapped.code, details: mapped.details }, 'R2 health check failed');
      return unhealthy(`Bucket "${this.config.bucket}" is not reachable and writable: ${mapped.message}`, {
        bucket: this.config.bucket,
        code: mapped.code,
      });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.client.destroy(); // closes the keep-alive sockets
  }
}
