import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Detection, Sample } from '@labeler/core';
import { z } from 'zod';
import { formatInvalid } from '../errors.js';
import { exists, writeFileAtomic } from '../fs-safe.js';
import { OBJECT_ID, stableId } from '../ids.js';
import {
  clamp01,
  collectClasses,
  copyMedia,
  detectionsOf,
  listImages,
  probe,
  readJsonFile,
} from './common.js';
import { type FileWrite, type FormatHandler, labelFieldOf } from './types.js';

/**
 * `fo.types.FiftyOneImageDetectionDataset` (fiftyone-formats.md §3.2): `data/<uuid>.<ext>` + `labels.json`
 * `{classes?, labels: {<uuid>: [{label, bounding_box, confidence?, attributes?}] | null}}`. The uuid (file
 * stem) is the key; when it is an ObjectId it is also the sample id, so an export named by sample id keeps
 * ids. Otherwise ids hash the relative path. Label ids hash (uuid, index).
 */
const detSchema = z.looseObject({
  label: z.union([z.string().min(1), z.number().int().nonnegative()]),
  bounding_box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  confidence: z.number().nullable().optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});
const labelsSchema = z.object({
  classes: z.array(z.string()).nullable().optional(),
  labels: z.record(z.string(), z.array(detSchema).nullable()),
});

const labelsFile = (dir: string) => join(dir, 'labels.json');
const keyOf = (rel: string) => rel.slice(0, rel.length - extname(rel).length);
const sampleIdOf = (key: string) => (OBJECT_ID.test(key) ? key : stableId(`data/${key}`));

async function load(dir: string) {
  const file = labelsFile(dir);
  return { file, doc: await readJsonFile(file, labelsSchema) };
}

export const fiftyOneImageDetectionFormat: FormatHandler = {
  format: 'fiftyone-image-detection',
  preservesLabelIds: false,
  storedFields: (field) => [field],
  async detect(dir) {
    if (!(await exists(labelsFile(dir))) || !(await exists(join(dir, 'data')))) return false;
    const head = (await readFile(labelsFile(dir), 'utf8')).slice(0, 100_000);
    return /"labels"\s*:\s*\{/.test(head) && !/"images"\s*:/.test(head);
  },
  async readInfo(source) {
    const { doc } = await load(source.path);
    const images = await listImages(join(source.path, 'data'));
    return {
      format: 'fiftyone-image-detection',
      name: basename(source.path),
      classes: doc.classes ?? [],
      sampleCount: images.length,
    };
  },
  async *readSamples(source, options = {}) {
    const { file, doc } = await load(source.path);
    const field = labelFieldOf(source);
    for (const rel of await listImages(join(source.path, 'data'))) {
      const key = keyOf(rel);
      const filepath = join(source.path, 'data', rel);
      const raw = doc.labels[key] ?? doc.labels[rel];
      const dets: Detection[] = (raw ?? []).map((d, i) => {
        const label = typeof d.label === 'number' ? doc.classes?.[d.label] : d.label;
        if (label === undefined)
          throw formatInvalid(
            file,
            `labels.${key}.${i}.label`,
            `is class index ${d.label}, but "classes" has no such entry`,
          );
        return {
          _cls: 'Detection',
          id: stableId(`fo-det:${key}:${i}`),
          label,
          bounding_box: d.bounding_box,
          ...(typeof d.confidence === 'number' ? { confidence: clamp01(d.confidence) } : {}),
          ...(d.attributes && Object.keys(d.attributes).length ? { attributes: d.attributes } : {}),
        };
      });
      const metadata = options.probeImageSize === false ? {} : await probe(filepath);
      yield {
        id: sampleIdOf(key),
        filepath,
        tags: [],
        metadata,
        labels: {
          [field]: raw === null || raw === undefined ? null : { _cls: 'Detections', detections: dets },
        },
      };
    }
  },
  async planLabelWrites(source, changed) {
    const { file } = await load(source.path);
    const raw = JSON.parse(await readFile(file, 'utf8')) as {
      classes?: string[] | null;
      labels: Record<string, unknown>;
    };
    const field = labelFieldOf(source);
    const classes = raw.classes ?? null;
    // New classes are appended to `classes` (existing indices never move).
    if (classes) {
      for (const s of changed.values())
        for (const d of detectionsOf(s.labels[field])) if (!classes.includes(d.label)) classes.push(d.label);
    }
    let touched = false;
    for (const rel of await listImages(join(source.path, 'data'))) {
      const key = keyOf(rel);
      const sample = changed.get(sampleIdOf(key));
      if (!sample) continue;
      touched = true;
      raw.labels[key] = serialize(sample, field, classes, file);
    }
    return touched ? [{ path: file, content: `${JSON.stringify(raw, null, 1)}\n` } satisfies FileWrite] : [];
  },
  async writeDataset(target, samples, options = {}) {
    const field = labelFieldOf(target);
    const all: Sample[] = [];
    for await (const s of samples) all.push(s);
    const classes = options.classes ?? collectClasses(all, [field]);
    const used = new Set<string>();
    const labels: Record<string, unknown> = {};
    for (const s of all) {
      // Media is named by sample id, so the key (and with it the sample id) survives the round trip.
      const name = `${OBJECT_ID.test(s.id) ? s.id : stableId(`sample:${s.id}`)}${extname(s.filepath).toLowerCase()}`;
      const media = await copyMedia(s.filepath, join(target.path, 'data'), used, name);
      labels[keyOf(basename(media))] = serialize(s, field, classes, labelsFile(target.path));
    }
    const file = labelsFile(target.path);
    await writeFileAtomic(file, `${JSON.stringify({ classes, labels }, null, 1)}\n`);
    return { samples: all.length, files: [file, ...used] };
  },
};

function serialize(sample: Sample, field: string, classes: string[] | null, file: string): unknown[] | null {
  const value = sample.labels[field];
  if (value === null || value === undefined) return null;
  return detectionsOf(value).map((d) => {
    const index = classes ? classes.indexOf(d.label) : -1;
    if (classes && index < 0) throw formatInvalid(file, 'classes', `has no class "${d.label}"`);
    return {
      label: classes ? index : d.label,
      bounding_box: d.bounding_box,
      ...(d.confidence !== undefined && d.confidence !== null ? { confidence: d.confidence } : {}),
      ...(d.attributes && Object.keys(d.attributes).length ? { attributes: d.attributes } : {}),
    };
  });
}
