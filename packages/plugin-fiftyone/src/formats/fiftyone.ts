import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { DatasetInfo, DatasetSource, Sample } from '@labeler/core';
import { z } from 'zod';
import { formatInvalid } from '../errors.js';
import { OBJECT_ID, stableId, toPosix } from '../ids.js';
import { collectClasses, copyMedia, probe, readJsonFile } from './common.js';
import { exists, writeFileAtomic } from '../fs-safe.js';
import { fromFiftyOneLabel, isLabelDoc, oidOf, toFiftyOneLabel } from './fiftyone-labels.js';
import type { FileWrite, FormatHandler, ReadOptions, WriteDatasetOptions } from './types.js';

/**
 * `fo.types.FiftyOneDataset`: `metadata.json` + `samples.json` (fiftyone-formats.md §3.1). We read both the
 * new layout (metadata has `version`) and the legacy one, and write the legacy one, which the reference
 * calls the easiest target for a non-Python writer. Sample `_id.$oid` is kept as the core sample id
 * (`fiftyone_id`), the join key to Label Studio.
 */
const metadataSchema = z
  .object({
    name: z.string().nullable().optional(),
    version: z.string().optional(),
    media_type: z.string().optional(),
    classes: z.record(z.string(), z.array(z.string())).optional(),
    default_classes: z.array(z.string()).optional(),
    info: z
      .looseObject({ classes: z.array(z.string()).optional() })
      .nullable()
      .optional(),
  })
  .loose();

const sampleDocSchema = z.looseObject({
  _id: z.union([z.string(), z.object({ $oid: z.string() })]).optional(),
  filepath: z.string().min(1),
  tags: z.array(z.string()).optional(),
  metadata: z
    .looseObject({
      width: z.number().int().positive().nullable().optional(),
      height: z.number().int().positive().nullable().optional(),
      size_bytes: z.number().int().nonnegative().nullable().optional(),
      mime_type: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
});
const samplesFileSchema = z.object({ samples: z.array(sampleDocSchema) });
type SampleDoc = z.infer<typeof sampleDocSchema>;

const RESERVED = new Set([
  '_id',
  'id',
  'filepath',
  'tags',
  'metadata',
  'created_at',
  'last_modified_at',
  '_media_type',
  '_rand',
  '_dataset_id',
]);

export function sampleIdOf(doc: SampleDoc, dir: string): string {
  const oid = oidOf(doc._id);
  return oid ?? stableId(toPosix(relativeFilepath(doc.filepath, dir)));
}

function relativeFilepath(filepath: string, dir: string): string {
  return isAbsolute(filepath) ? relative(dir, filepath) : filepath;
}

async function readDocs(dir: string): Promise<{ file: string; docs: SampleDoc[] }> {
  const file = join(dir, 'samples.json');
  const { samples } = await readJsonFile(file, samplesFileSchema);
  return { file, docs: samples };
}

async function readMetadata(dir: string): Promise<z.infer<typeof metadataSchema> | null> {
  const file = join(dir, 'metadata.json');
  return (await exists(file)) ? readJsonFile(file, metadataSchema) : null;
}

async function toSample(
  doc: SampleDoc,
  index: number,
  dir: string,
  file: string,
  options: ReadOptions,
): Promise<Sample> {
  const id = sampleIdOf(doc, dir);
  const filepath = resolve(dir, doc.filepath);
  const labels: Sample['labels'] = {};
  for (const [key, value] of Object.entries(doc)) {
    if (RESERVED.has(key) || key.startsWith('_')) continue;
    // A null field is an empty label field (FiftyOne stores unlabeled samples that way).
    if (value === null) labels[key] = null;
    if (!isLabelDoc(value)) continue;
    labels[key] = fromFiftyOneLabel(value, { file, field: `samples.${index}.${key}` }, `${id}:${key}`);
  }
  const m = doc.metadata ?? {};
  let metadata: Sample['metadata'] = {
    ...(m.width ? { width: m.width } : {}),
    ...(m.height ? { height: m.height } : {}),
    ...(m.size_bytes !== null && m.size_bytes !== undefined ? { size_bytes: m.size_bytes } : {}),
    ...(m.mime_type ? { mime_type: m.mime_type } : {}),
  };
  if ((!metadata.width || !metadata.height) && options.probeImageSize !== false)
    metadata = { ...metadata, ...(await probe(filepath)) };
  return { id, filepath, tags: doc.tags ?? [], metadata, labels };
}

function sampleToDoc(sample: Sample, dir: string, filepath: string): Record<string, unknown> {
  const rel = relative(dir, filepath);
  const doc: Record<string, unknown> = {
    _id: { $oid: OBJECT_ID.test(sample.id) ? sample.id : stableId(`sample:${sample.id}`) },
    filepath: rel.startsWith('..') || isAbsolute(rel) ? filepath : toPosix(rel),
    tags: sample.tags,
    metadata: { _cls: 'ImageMetadata', ...sample.metadata },
  };
  for (const [field, value] of Object.entries(sample.labels))
    doc[field] = value ? toFiftyOneLabel(value) : null;
  return doc;
}

export const fiftyOneFormat: FormatHandler = {
  format: 'fiftyone',
  preservesLabelIds: true,
  storedFields: () => [],
  async detect(dir) {
    return exists(join(dir, 'samples.json'));
  },
  async readInfo(source: DatasetSource): Promise<DatasetInfo> {
    const meta = await readMetadata(source.path);
    const { docs, file } = await readDocs(source.path);
    let classes =
      meta?.default_classes ?? meta?.info?.classes ?? Object.values(meta?.classes ?? {})[0] ?? null;
    if (!classes) {
      const samples: Sample[] = [];
      for (const [i, d] of docs.entries())
        samples.push(await toSample(d, i, source.path, file, { probeImageSize: false }));
      classes = collectClasses(samples, [...new Set(samples.flatMap((s) => Object.keys(s.labels)))]);
    }
    return { format: 'fiftyone', name: meta?.name ?? null, classes, sampleCount: docs.length };
  },
  async *readSamples(source, options = {}) {
    // samples.json is one JSON document, so it is parsed whole; samples are then converted and yielded
    // one at a time, and images are never opened beyond their headers.
    const { docs, file } = await readDocs(source.path);
    for (const [i, d] of docs.entries()) yield await toSample(d, i, source.path, file, options);
  },
  async planLabelWrites(source, changed) {
    const file = join(source.path, 'samples.json');
    const raw = JSON.parse(await readFile(file, 'utf8')) as { samples: Array<Record<string, unknown>> };
    const { docs } = await readDocs(source.path);
    let touched = 0;
    docs.forEach((doc, i) => {
      const sample = changed.get(sampleIdOf(doc, source.path));
      if (!sample) return;
      touched++;
      const target = raw.samples[i]!;
      // Only label fields are rewritten; every other key (FiftyOne's private ones included) stays as read.
      for (const [field, value] of Object.entries(sample.labels)) {
        if (RESERVED.has(field))
          throw formatInvalid(file, field, 'is a reserved sample key and cannot hold labels');
        target[field] = value ? toFiftyOneLabel(value) : null;
      }
    });
    return touched === 0
      ? []
      : [{ path: file, content: `${JSON.stringify(raw, null, 1)}\n` } satisfies FileWrite];
  },
  async writeDataset(target, samples, options: WriteDatasetOptions = {}) {
    const docs: Array<Record<string, unknown>> = [];
    const all: Sample[] = [];
    const used = new Set<string>();
    for await (const s of samples) {
      const media = await copyMedia(s.filepath, join(target.path, 'data'), used);
      docs.push(sampleToDoc(s, target.path, media));
      all.push(s);
    }
    const fields = [...new Set(all.flatMap((s) => Object.keys(s.labels)))];
    const classes = options.classes ?? collectClasses(all, fields);
    const meta = { name: null, media_type: 'image', default_classes: classes, info: { classes } };
    const metaFile = join(target.path, 'metadata.json');
    const samplesFile = join(target.path, 'samples.json');
    await writeFileAtomic(metaFile, `${JSON.stringify(meta, null, 1)}\n`);
    await writeFileAtomic(samplesFile, `${JSON.stringify({ samples: docs }, null, 1)}\n`);
    return { samples: docs.length, files: [metaFile, samplesFile, ...used] };
  },
};
