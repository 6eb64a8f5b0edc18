import { randomBytes } from 'node:crypto';

/** A fresh random ObjectId-shaped id (24 hex) for labels created in Label Studio. */
export function newObjectId(): string {
  return randomBytes(12).toString('hex');
}
