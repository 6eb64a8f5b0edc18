import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import type { Detection, LabelValue, Polyline, Sample } from '@labeler/core';
import type { z } from 'zod';
import { formatInvalid, parseWith } from '../errors.js';
import { toPosix } from '../ids.js';
import { readImageSize } from '../image-size.js';

export const IMAGE_EXTS = new Set(['.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp', '.tif', '.tiff']);

export function isImage(name: string): boolean {
  return IMAGE_EXTS.has(extname(name).toLowerCase());
}

/** Reads and validates a JSON file; bad JSON or a schema violation becomes DATASET_FORMAT_INVALID. */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw formatInvalid(path, '(file)', 'cannot be read: the file is missing or unreadable', error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw formatInvalid(path, '(root)', `is not valid JSON (${(error as Error).message})`, error);
  }
  return parseWith(schema, value, path);
}

/** Image files under `dir`, recursively, as sorted dataset-relative posix paths (deterministic order). */
export async function listImages(dir: string, root = dir): Promise<string[]> {
  let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listImages(full, root)));
    else if (e.isFile() && isImage(e.name)) out.push(toPosix(relative(root, full)));
  }
  return out;
}

/** Width/height/mime from the image header; null when the file is missing or not a known image. */
export async function probe(path: string): Promise<Sample['metadata']> {
  try {
    const size = await readImageSize(path);
    return size ? { width: size.width, height: size.height, mime_type: size.mimeType } : {};
  } catch {
    return {};
  }
}

/** Copies media into an export layout, keeping the file name and de-duplicating collisions. */
export async function copyMedia(
  src: string,
  destDir: string,
  used: Set<string>,
  preferredName = basename(src),
): Promise<string> {
  await mkdir(destDir, { recursive: true });
  let name = preferredName;
  for (let n = 1; used.has(join(destDir, name)); n++) {
    const ext = extname(preferredName);
    name = `${basename(preferredName, ext)}-${n}${ext}`;
  }
  const dest = join(destDir, name);
  used.add(dest);
  await copyFile(src, dest);
  return dest;
}

export function detectionsOf(value: LabelValue | null | undefined): Detection[] {
  if (!value) return [];
  if (value._cls === 'Detection') return [value];
  if (value._cls === 'Detections') return value.detections;
  return [];
}

export function polylinesOf(value: LabelValue | null | undefined): Polyline[] {
  if (!value) return [];
  if (value._cls === 'Polyline') return [value];
  if (value._cls === 'Polylines') return value.polylines;
  return [];
}

export function classLabelsOf(value: LabelValue | null | undefined): string[] {
  if (!value) return [];
  switch (value._cls) {
    case 'Detections':
      return value.detections.map((d) => d.label);
    case 'Polylines':
      return value.polylines.map((p) => p.label);
    case 'Keypoints':
      return value.keypoints.map((k) => k.label);
    case 'Classifications':
      return value.classifications.map((c) => c.label);
    default:
      return [value.label];
  }
}

/** Classes named by a list of samples' labels, sorted (used when an export gets no explicit class list). */
export function collectClasses(samples: Iterable<Sample>, fields: string[]): string[] {
  const set = new Set<string>();
  for (const s of samples) for (const f of fields) for (const l of classLabelsOf(s.labels[f])) set.add(l);
  return [...set].sort();
}

export async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** Numbers written to text formats: short, but lossless for what float64 → string → float64 needs. */
export function fmt(v: number): string {
  return String(Number(v.toPrecision(15)));
}
