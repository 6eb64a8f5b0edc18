import { posix } from 'node:path';
import { LabelerError } from '@labeler/core';
import { z } from 'zod';

/**
 * Host file → Label Studio local-files URL (label-studio-api.md §9, DST `mount.*`):
 *
 *   host file            /mnt/datasets/cats/img 1.jpg
 *   mount.host_root      /mnt/datasets            (where the files live on this machine)
 *   mount.ls_mount_path  /label-studio/data/ds    (where LS's container sees host_root; default: ls_document_root)
 *   mount.ls_document_root /label-studio/data     (LS's LOCAL_FILES_DOCUMENT_ROOT)
 *   URL                  /data/local-files/?d=ds/cats/img%201.jpg
 *
 * `?d=` is relative to the document root, uses forward slashes and percent-encodes each segment (so `#`,
 * `?`, `%`, `&`, `+` and spaces survive Django's query parsing).
 */
const absolute = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const mountConfigSchema = z.object({
  host_root: absolute.describe('Directory on the Labeler host that holds the dataset files'),
  ls_document_root: absolute.describe(
    "Label Studio's LOCAL_FILES_DOCUMENT_ROOT, as seen inside Label Studio",
  ),
  ls_mount_path: absolute
    .optional()
    .describe('Where host_root appears inside Label Studio (default: ls_document_root)'),
  local_files_prefix: z
    .string()
    .min(1)
    .default('/data/local-files/?d=')
    .describe('URL prefix of Label Studio local-files links'),
});
export type MountConfig = z.input<typeof mountConfigSchema>;
type Mount = z.output<typeof mountConfigSchema>;

export type PathMappingReason =
  | 'relative_path'
  | 'outside_host_root'
  | 'outside_document_root'
  | 'not_a_local_files_url';

export class PathMappingError extends LabelerError {
  constructor(
    readonly reason: PathMappingReason,
    message: string,
    readonly path: string,
  ) {
    super('VALIDATION_ERROR', message, { details: { reason, path } });
  }
}

const clean = (p: string): string => {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};

/** True when `child` is `parent` or inside it, on a path-segment boundary (`/data/ds` ≠ `/data/ds-private`). */
export function isUnder(child: string, parent: string): boolean {
  const c = clean(child);
  const p = clean(parent);
  return p === '/' || c === p || c.startsWith(`${p}/`);
}

function resolveMount(mount: MountConfig): Mount {
  return mountConfigSchema.parse(mount);
}

/** The file's absolute path inside Label Studio. */
export function lsPathOf(filepath: string, mountConfig: MountConfig): string {
  const mount = resolveMount(mountConfig);
  if (!filepath.startsWith('/'))
    throw new PathMappingError(
      'relative_path',
      `"${filepath}" is not an absolute path; resolve sample paths before mapping them`,
      filepath,
    );
  const file = clean(filepath);
  if (!isUnder(file, mount.host_root)) {
    throw new PathMappingError(
      'outside_host_root',
      `"${filepath}" is outside mount.host_root (${mount.host_root}); Label Studio cannot see it`,
      filepath,
    );
  }
  const rel = posix.relative(clean(mount.host_root), file);
  return rel
    ? posix.join(clean(mount.ls_mount_path ?? mount.ls_document_root), rel)
    : clean(mount.ls_mount_path ?? mount.ls_document_root);
}

/** Sample filepath → Label Studio local-files URL. */
export function toLocalFilesUrl(filepath: string, mountConfig: MountConfig): string {
  const mount = resolveMount(mountConfig);
  const lsPath = lsPathOf(filepath, mount);
  if (!isUnder(lsPath, mount.ls_document_root) || clean(lsPath) === clean(mount.ls_document_root)) {
    throw new PathMappingError(
      'outside_document_root',
      `"${filepath}" maps to ${lsPath}, outside Label Studio's document root ${mount.ls_document_root}; LS only serves files under it`,
      filepath,
    );
  }
  const rel = posix.relative(clean(mount.ls_document_root), lsPath);
  return mount.local_files_prefix + rel.split('/').map(encodeURIComponent).join('/');
}

/** Label Studio local-files URL (absolute or relative) → host filepath. */
export function fromLocalFilesUrl(url: string, mountConfig: MountConfig): string {
  const mount = resolveMount(mountConfig);
  // Accept absolute URLs too (http://ls:8080/data/local-files/?d=…) by matching from the prefix on.
  const at = url.indexOf(mount.local_files_prefix);
  if (at < 0)
    throw new PathMappingError(
      'not_a_local_files_url',
      `"${url}" does not contain the local-files prefix ${mount.local_files_prefix}`,
      url,
    );
  const encoded = url.slice(at + mount.local_files_prefix.length).split('&')[0]!;
  // Django decodes `+` as a space in query strings; we never emit `+`, but honour it when reading.
  const rel = encoded
    .split('/')
    .map((s) => decodeURIComponent(s.replace(/\+/g, ' ')))
    .join('/');
  const lsPath = posix.join(clean(mount.ls_document_root), rel);
  const lsRoot = clean(mount.ls_mount_path ?? mount.ls_document_root);
  if (!isUnder(lsPath, lsRoot))
    throw new PathMappingError(
      'outside_host_root',
      `"${url}" points at ${lsPath}, outside the mounted host root (${lsRoot})`,
      url,
    );
  const back = posix.relative(lsRoot, lsPath);
  return back ? posix.join(clean(mount.host_root), back) : clean(mount.host_root);
}
