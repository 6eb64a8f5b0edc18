import type { Readable } from 'node:stream';
import { LabelerError } from '../errors.js';
import type { PluginDefinition, PluginInstance } from '../plugin.js';

/**
 * Storage contract 1.0: an object store with flat string keys ("datasets/ds_1/images/a.jpg").
 * Implementations: local disk (core), R2/S3 (plugin-r2). Conformance: `runStorageConformance`.
 */
export interface StorageCapabilities {
  /** presignGet() is implemented. */
  presignGet: boolean;
  /** presignPut() is implemented. */
  presignPut: boolean;
  /** put() streams large bodies in parts without buffering them whole. */
  multipart: boolean;
}

export type StorageBody = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  contentType?: string;
  /** Known length of a streamed body; lets implementations skip buffering. */
  contentLength?: number;
  metadata?: Record<string, string>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: string;
  contentType?: string;
}

export interface GetResult extends ObjectInfo {
  /** The object's bytes as a stream; the caller must consume or destroy it. */
  body: Readable;
}

export interface ListOptions {
  prefix?: string;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** Page size, 1-1000 (default 1000). */
  limit?: number;
}

export interface ListPage {
  items: ObjectInfo[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export interface PresignOptions {
  /** 1 second to 7 days (R2's cap). */
  expiresInSeconds: number;
  contentType?: string;
  /** Suggested file name for downloads (Content-Disposition). */
  filename?: string;
}

export interface PresignedUrl {
  url: string;
  expiresAt: string;
}

export interface StorageInstance extends PluginInstance {
  put(key: string, body: StorageBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Throws STORAGE_OBJECT_NOT_FOUND when the key does not exist. */
  get(key: string): Promise<GetResult>;
  /** Null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  list(options?: ListOptions): Promise<ListPage>;
  presignGet?(key: string, options: PresignOptions): Promise<PresignedUrl>;
  presignPut?(key: string, options: PresignOptions): Promise<PresignedUrl>;
}

export type StoragePluginDefinition<Config = unknown> = PluginDefinition<
  'storage',
  Config,
  StorageInstance,
  StorageCapabilities
>;

export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Keys are relative, slash-separated, without "..", backslashes or control characters; at most 1024 bytes. */
export function assertValidStorageKey(key: string): void {
  const problem =
    typeof key !== 'string' || key.length === 0
      ? 'must not be empty'
      : Buffer.byteLength(key) > 1024
        ? 'must be at most 1024 bytes'
        : key.startsWith('/')
          ? 'must not start with "/"'
          : key.includes('\\')
            ? 'must not contain backslashes'
            : key.split('/').some((part) => part === '..' || part === '.')
              ? 'must not contain "." or ".." segments'
              : // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
                /[\u0000-\u001f\u007f]/.test(key)
                ? 'must not contain control characters'
                : null;
  if (problem)
    throw new LabelerError(
      'STORAGE_KEY_INVALID',
      `Storage key ${JSON.stringify(String(key).slice(0, 200))} ${problem}.`,
      { details: { key: String(key).slice(0, 1024) } },
    );
}

export function assertValidPresignExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new LabelerError(
      'PRESIGN_EXPIRY_INVALID',
      `expiration must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days); got ${seconds}.`,
      {
        details: { expiration_seconds: seconds, min: 1, max: MAX_PRESIGN_SECONDS },
      },
    );
  }
}

export function storageObjectNotFound(key: string): LabelerError {
  return new LabelerError('STORAGE_OBJECT_NOT_FOUND', `No object at key "${key}".`, { details: { key } });
}
