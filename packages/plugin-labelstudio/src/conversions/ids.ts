import { createHash, randomBytes } from 'node:crypto';

/** FiftyOne ObjectIds are 24 lowercase hex characters. */
export const OBJECT_ID = /^[0-9a-f]{24}$/;

/**
 * A stable 24-hex id derived from a string (usually a dataset-relative path). Formats without their own
 * sample ids (COCO, YOLO, image folders) need an id that is identical on every read, otherwise a pull
 * could not find the sample again; hashing the relative path gives exactly that.
 */
export function stableId(key: string): string {
  return createHash('sha1').update(key, 'utf8').digest('hex').slice(0, 24);
}

/** A fresh random ObjectId-shaped id for labels created in Labeler or in the annotation backend. */
export function newObjectId(): string {
  return randomBytes(12).toString('hex');
}

/** Dataset-relative path with forward slashes, the key every derived id is computed from. */
export function toPosix(path: string): string {
  return path.split('\\').join('/');
}
