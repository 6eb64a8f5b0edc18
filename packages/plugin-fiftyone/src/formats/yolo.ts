import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import type { Detection, Polyline, Sample } from '@labeler/core';
import YAML from 'yaml';
import { z } from 'zod';
import { formatInvalid, parseWith } from '../errors.js';
import { exists, writeFileAtomic } from '../fs-safe.js';
import { stableId, toPosix } from '../ids.js';
import {
  clamp01,
  collectClasses,
  copyMedia,
  detectionsOf,
  fmt,
  listImages,
  polylinesOf,
  probe,
} from './common.js';
import { polylineFieldOf } from './coco.js';
import { type FileWrite, type FormatHandler, labelFieldOf } from './types.js';

/**
 * YOLO v5/v8 (`fo.types.YOLOv5Dataset`, fiftyone-formats.md §3.4): `data.yaml`/`dataset.yaml` with
 * `names` (list or `{index: name}`) and split keys, `images/<split>/…`, `labels/<split>/<stem>.txt`.
 * Rows are `class xc yc w h [conf]` (centre format, normalised) or, for segmentation, `class x1 y1 x2 y2 …`
 * (polygons → `<field>_polylines`). YOLO has no id slot: sample ids hash the image's relative path and
 * label ids hash (path, line), so they are stable across reads but a rewrite renumbers label ids.
 */
const YAML_NAMES = ['data.yaml', 'dataset.yaml'];
const SPLITS = ['train', 'val', 'test'];

const yamlSchema = z.looseObject({
  path: z.string().optional(),
  names: z.union([
    z.array(z.string().min(1)),
    z.record(z.string().regex(/^\d+$/, 'must be a class index'), z.string().min(1)),
  ]),
  train: z.union([z.string(), z.array(z.string())]).optional(),
  val: z.union([z.string(), z.array(z.string())]).optional(),
  test: z.union([z.string(), z.array(z.string())]).optional(),
});

async function yamlFile(dir: string): Promise<string | null> {
  for (const n of YAML_NAMES) if (await exists(join(dir, n))) return join(dir, n);
  return null;
}

interface YoloLayout {
  file: string;
  classes: string[];
  /** [split, absolute images dir] */
  splits: Array<[string, string]>;
}

async function loadLayout(dir: string): Promise<YoloLayout> {
  const file = await yamlFile(dir);
  if (!file)
    throw formatInvalid(
      join(dir, 'data.yaml'),
      '(file)',
      'is missing: a YOLO dataset needs data.yaml or dataset.yaml',
    );
  let doc: unknown;
  try {
    doc = YAML.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw formatInvalid(file, '(root)', `is not valid YAML (${(error as Error).message})`, error);
  }
  const y = parseWith(yamlSchema, doc, file);
  let classes: string[];
  if (Array.isArray(y.names)) classes = y.names;
  else {
    const entries = Object.entries(y.names)
      .map(([k, v]) => [Number(k), v] as const)
      .sort((a, b) => a[0] - b[0]);
    classes = [];
    for (const [i, name] of entries) classes[i] = name;
    if (classes.some((c) => c === undefined) || classes.length !== entries.length)
      throw formatInvalid(file, 'names', 'must number classes 0..n-1 without gaps');
  }
  const base = resolve(dir, y.path ?? '.');
  const splits: Array<[string, string]> = [];
  for (const split of SPLITS) {
    const v = y[split as 'train'];
    for (const p of v === undefined ? [] : Array.isArray(v) ? v : [v]) splits.push([split, resolve(base, p)]);
  }
  // No split keys: fall back to whatever sits under images/.
  if (splits.length === 0) {
    const imgs = join(dir, 'images');
    const subdirs = (await exists(imgs))
      ? (await readdir(imgs, { withFileTypes: true }))
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
          .sort()
      : [];
    for (const s of subdirs) splits.push([s, join(imgs, s)]);
  }
  return { file, classes, splits };
}

/** The last `/images/` becomes `/labels/` and the extension `.txt` (FiftyOne `_get_yolo_v5_labels_path`). */
export function yoloLabelPath(imagePath: string): string {
  const posix = toPosix(imagePath);
  const at = posix.lastIndexOf('/images/');
  if (at < 0)
    throw formatInvalid(
      imagePath,
      'filepath',
      'has no "images/" directory, so its YOLO label file cannot be located',
    );
  const swapped = `${posix.slice(0, at)}/labels/${posix.slice(at + '/images/'.length)}`;
  return swapped.slice(0, swapped.length - extname(swapped).length) + '.txt';
}

function parseRows(
  text: string,
  file: string,
  classes: string[],
  sampleKey: string,
): { dets: Detection[]; polys: Polyline[] } {
  const dets: Detection[] = [];
  const polys: Polyline[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const parts = t.split(/\s+/);
    const nums = parts.map(Number);
    if (nums.some((n) => !Number.isFinite(n)))
      throw formatInvalid(file, `line ${i + 1}`, `is not a row of numbers: "${t.slice(0, 80)}"`);
    const cls = nums[0]!;
    const label = Number.isInteger(cls) ? classes[cls] : undefined;
    if (label === undefined)
      throw formatInvalid(
        file,
        `line ${i + 1}`,
        `names class ${parts[0]}, which data.yaml does not define (${classes.length} classes)`,
      );
    const id = stableId(`yolo:${sampleKey}:${i}`);
    if (nums.length === 5 || nums.length === 6) {
      const [, xc, yc, w, h, conf] = nums as [number, number, number, number, number, number | undefined];
      dets.push({
        _cls: 'Detection',
        id,
        label,
        bounding_box: [xc - w / 2, yc - h / 2, w, h],
        ...(conf !== undefined ? { confidence: clamp01(conf) } : {}),
      });
    } else if (nums.length >= 7 && nums.length % 2 === 1) {
      const pts: Array<[number, number]> = [];
      for (let k = 1; k < nums.length; k += 2) pts.push([nums[k]!, nums[k + 1]!]);
      polys.push({ _cls: 'Polyline', id, label, points: [pts], closed: true, filled: true });
    } else
      throw formatInvalid(
        file,
        `line ${i + 1}`,
        `has ${nums.length} values; expected "class xc yc w h [conf]" or a polygon`,
      );
  });
  return { dets, polys };
}

function rowsOf(sample: Sample, field: string, classIndex: Map<string, number>, file: string): string {
  const idx = (label: string) => {
    const i = classIndex.get(label);
    if (i === undefined)
      throw formatInvalid(file, 'names', `has no class "${label}"; add it to data.yaml names`);
    return i;
  };
  const lines: string[] = [];
  for (const d of detectionsOf(sample.labels[field])) {
    // Clamp to the image, as DST's sync does: YOLO values must stay within 0-1.
    const [x, y, w, h] = d.bounding_box;
    const x0 = clamp01(x);
    const y0 = clamp01(y);
    const x1 = clamp01(x + w);
    const y1 = clamp01(y + h);
    const row = [idx(d.label), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0].map((v, i) =>
      i === 0 ? String(v) : fmt(v),
    );
    if (d.confidence !== undefined && d.confidence !== null) row.push(fmt(d.confidence));
    lines.push(row.join(' '));
  }
  for (const p of polylinesOf(sample.labels[polylineFieldOf(field)])) {
    for (const shape of p.points) {
      if (shape.length < 3) continue;
      lines.push(
        [String(idx(p.label)), ...shape.flatMap(([x, y]) => [fmt(clamp01(x)), fmt(clamp01(y))])].join(' '),
      );
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** data.yaml with extra classes appended; parsed as a YAML document so comments and key order survive. */
async function appendNames(file: string, names: string[], start: number): Promise<string> {
  const doc = YAML.parseDocument(await readFile(file, 'utf8'));
  const current = doc.get('names');
  if (YAML.isSeq(current)) for (const n of names) current.add(n);
  else if (YAML.isMap(current)) for (const [i, n] of names.entries()) current.set(start + i, n);
  else throw formatInvalid(file, 'names', 'must be a list or a map of class names');
  return doc.toString();
}

export const yoloFormat: FormatHandler = {
  format: 'yolo',
  preservesLabelIds: false,
  storedFields: (field) => [field, polylineFieldOf(field)],
  async detect(dir) {
    return (await yamlFile(dir)) !== null;
  },
  async readInfo(source) {
    const layout = await loadLayout(source.path);
    let count = 0;
    for (const [, imgDir] of layout.splits) count += (await listImages(imgDir)).length;
    return { format: 'yolo', name: basename(source.path), classes: layout.classes, sampleCount: count };
  },
  async *readSamples(source, options = {}) {
    const layout = await loadLayout(source.path);
    const field = labelFieldOf(source);
    for (const [split, imgDir] of layout.splits) {
      for (const rel of await listImages(imgDir)) {
        const filepath = join(imgDir, rel);
        const key = toPosix(relative(source.path, filepath));
        const labelFile = yoloLabelPath(filepath);
        const text = (await exists(labelFile)) ? await readFile(labelFile, 'utf8') : '';
        const { dets, polys } = parseRows(text, labelFile, layout.classes, key);
        const labels: Sample['labels'] = { [field]: { _cls: 'Detections', detections: dets } };
        if (polys.length > 0) labels[polylineFieldOf(field)] = { _cls: 'Polylines', polylines: polys };
        const metadata = options.probeImageSize === false ? {} : await probe(filepath);
        yield { id: stableId(key), filepath, tags: [split], metadata, labels };
      }
    }
  },
  async planLabelWrites(source, changed) {
    const layout = await loadLayout(source.path);
    const field = labelFieldOf(source);
    const classIndex = new Map(layout.classes.map((c, i) => [c, i]));
    const writes: FileWrite[] = [];
    // Classes the annotation tool introduced are appended to `names` (existing indices never move), so a
    // pull with a new class extends the dataset instead of failing.
    const added: string[] = [];
    for (const sample of changed.values()) {
      for (const l of [
        ...detectionsOf(sample.labels[field]),
        ...polylinesOf(sample.labels[polylineFieldOf(field)]),
      ]) {
        if (!classIndex.has(l.label)) {
          classIndex.set(l.label, classIndex.size);
          added.push(l.label);
        }
      }
    }
    if (added.length > 0)
      writes.push({
        path: layout.file,
        content: await appendNames(layout.file, added, layout.classes.length),
      });
    for (const sample of changed.values()) {
      const file = yoloLabelPath(sample.filepath);
      const content = rowsOf(sample, field, classIndex, layout.file);
      // An image without labels has no txt file in YOLO, so an emptied label set deletes it.
      if (content) writes.push({ path: file, content });
      else if (await exists(file)) writes.push({ path: file, content: null });
    }
    return writes;
  },
  async writeDataset(target, samples, options = {}) {
    const field = labelFieldOf(target);
    const all: Sample[] = [];
    for await (const s of samples) all.push(s);
    const classes = options.classes ?? collectClasses(all, [field, polylineFieldOf(field)]);
    const classIndex = new Map(classes.map((c, i) => [c, i]));
    const used = new Set<string>();
    const files: string[] = [];
    const splits = new Set<string>();
    const yamlPath = join(target.path, 'data.yaml');
    for (const s of all) {
      const split = s.tags.find((t) => SPLITS.includes(t)) ?? 'train';
      splits.add(split);
      const media = await copyMedia(s.filepath, join(target.path, 'images', split), used);
      files.push(media);
      const content = rowsOf(s, field, classIndex, yamlPath);
      if (content) {
        const labelPath = yoloLabelPath(media);
        await writeFileAtomic(labelPath, content);
        files.push(labelPath);
      }
    }
    const doc: Record<string, unknown> = { path: '.' };
    for (const split of SPLITS) if (splits.has(split)) doc[split] = `./images/${split}/`;
    doc.names = Object.fromEntries(classes.map((c, i) => [i, c]));
    await writeFileAtomic(yamlPath, YAML.stringify(doc));
    return { samples: all.length, files: [yamlPath, ...files] };
  },
};
