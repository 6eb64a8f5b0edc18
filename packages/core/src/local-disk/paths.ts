import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { assertValidStorageKey } from '../contracts/storage.js';
import { LabelerError } from '../errors.js';

/**
 * On-disk layout under `root`:
 *   <root>/<key>                         the object's bytes (the tree you see is the dataset)
 *   <root>/.labeler/meta/ab/cd/<sha>.json  sidecar: content type and metadata given to put()
 *   <root>/.labeler/tmp/                 temp files, renamed into place (same filesystem → atomic)
 * Sidecars are keyed by a hash so no key can collide with another key's sidecar.
 */
export const RESERVED_DIR = '.labeler';

function invalidKey(key: string, problem: string): LabelerError {
  return new LabelerError(
    'STORAGE_KEY_INVALID',
    `Storage key ${JSON.stringify(key.slice(0, 200))} ${problem}.`,
    { details: { key: key.slice(0, 1024) } },
  );
}

/** The contract's key rules plus what a filesystem needs: no empty segments, no reserved top folder. */
export function assertLocalKey(key: string): void {
  assertValidStorageKey(key);
  const segments = key.split('/');
  // "a//b" and "a/" would alias "a/b" and the folder "a" on disk.
  if (segments.some((segment) => segment.length === 0))
    throw invalidKey(key, 'must not contain empty segments ("//" or a trailing "/") on local disk');
  if (segments[0] === RESERVED_DIR)
    throw invalidKey(key, `must not start with the reserved folder "${RESERVED_DIR}/"`);
  if (segments.some((segment) => Buffer.byteLength(segment) > 255))
    throw invalidKey(key, 'has a segment longer than 255 bytes, which the filesystem cannot store');
}

export class DiskLayout {
  readonly tmpDir: string;
  readonly metaDir: string;
  private realRoot: string | undefined;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, RESERVED_DIR, 'tmp');
    this.metaDir = path.join(root, RESERVED_DIR, 'meta');
  }

  /** Absolute path of a key's file; the key must already be validated. Lexically inside root. */
  objectPath(key: string): string {
    const full = path.join(this.root, ...key.split('/'));
    const rel = path.relative(this.root, full);
    if (rel.startsWith('..') || path.isAbsolute(rel))
      throw invalidKey(key, 'resolves outside the storage root');
    return full;
  }

  sidecarPath(key: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    return path.join(this.metaDir, hash.slice(0, 2), hash.slice(2, 4), `${hash}.json`);
  }

  /**
   * Rejects a path whose existing directories resolve (through symlinks) outside root. Lexical checks
   * alone would let a symlinked folder inside root point anywhere.
   */
  async assertInsideRoot(full: string, key: string): Promise<void> {
    this.realRoot ??= await realpath(this.root);
    let dir = path.dirname(full);
    for (;;) {
      try {
        const real = await realpath(dir);
        const rel = path.relative(this.realRoot, real);
        if (rel.startsWith('..') || path.isAbsolute(rel))
          throw invalidKey(key, 'resolves outside the storage root through a symlink');
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dir === this.root) throw error;
        dir = path.dirname(dir); // not created yet: check the nearest existing ancestor
      }
    }
  }

  /** Folders that passed the check within the last second (HEAD only; see assertInsideRootForMetadata). */
  private readonly checkedDirs = new LRUCache<string, true>({ max: 10_000, ttl: 1000 });

  /**
   * The same check for metadata reads (HEAD), remembered per folder for a second. A folder swapped for
   * an outward symlink could expose one object's size and time for that second, never its bytes: get()
   * and every write check afresh. It spares the download-url route a filesystem call per request.
   */
  async assertInsideRootForMetadata(full: string, key: string): Promise<void> {
    const dir = path.dirname(full);
    if (this.checkedDirs.has(dir)) return;
    await this.assertInsideRoot(full, key);
    this.checkedDirs.set(dir, true);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  zip: 'application/zip',
  tar: 'application/x-tar',
  gz: 'application/gzip',
  mp4: 'video/mp4',
};

/** Content type for objects written without one (or placed on disk by hand). */
export function contentTypeFromKey(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return key.includes('.') ? (CONTENT_TYPES[ext] ?? 'application/octet-stream') : 'application/octet-stream';
}
