import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file atomically: the content goes to a temp file in the same directory, then a rename swaps it
 * in. A crash mid-write therefore leaves either the old file or the new one, never half of each.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `20261121T051103123Z`: sortable, filesystem-safe, and recognisable by undo. */
export function backupStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

const BACKUP = /^(.*)\.(\d{8}T\d{9}Z)\.bak$/;

/** Copies `path` to `<path>.<stamp>.bak` (the DST convention) and returns the backup's path. */
export async function backupFile(path: string, stamp: string): Promise<string> {
  const target = `${path}.${stamp}.bak`;
  await copyFile(path, target);
  return target;
}

/** The file a backup was made from, or null when the name is not one of ours. */
export function originalOfBackup(backup: string): string | null {
  const m = BACKUP.exec(backup);
  return m ? m[1]! : null;
}
