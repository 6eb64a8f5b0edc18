import { randomBytes } from 'node:crypto';
import { ID_PREFIXES, type IdKind } from '@labeler/core';

/** Public id: type prefix + 16 random hex characters (e.g. ds_c75023ca76d7448b). */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBytes(8).toString('hex')}`;
}
