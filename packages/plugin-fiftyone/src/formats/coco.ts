import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Detection, Polyline, RleMask, Sample } from '@labeler/core';
import { z } from 'zod';
import { cocoRleFromString, cocoRleToString, rleArea } from '../conversions/rle.js';
import { formatInvalid } from '../errors.js';
import { exists, writeFileAtomic } from '../fs-safe.js';
import { stableId, toPosix } from '../ids.js';
import { collectClasses, copyMedia, detectionsOf, fmt, polylinesOf, readJsonFile } from './common.js';
import { type FileWrite, type FormatHandler, labelFieldOf } from './types.js';

/**
 * COCO detection (`fo.types.COCODetectionDataset`, fiftyone-formats.md §3.3): `labels.json` + `data/`.
 * Each annotation becomes a Detection in the label field (bbox in absolute pixels → relative; RLE
 * segmentations, uncompressed counts or the compressed string, → `mask`). Polygon segmentations also
 * become Polylines in `<field>_polylines` (as FiftyOne does when asked for both label types); both
 * carry the annotation id in `attributes.coco_id` so a write puts them back into one annotation.
 * Ids we cannot store natively travel as extra keys FiftyOne keeps as attributes: `fiftyone_id` on
 * images, `label_id`/`polyline_id` on annotations.
 */
const num = z.number().finite();
const rleSchema = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  counts: z.union([z.array(z.number().int().nonnegative()), z.string()]),
});
const annotationSchema = z.looseObject({
  id: z.number().int(),
  image_id: z.number().int(),
  category_id: z.number().int(),
  bbox: z.tuple([num, num, num.nonnegative(), num.nonnegative()]),
  segmentation: z.union([z.array(z.array(num)), rleSchema]).optional(),
  score: num.optional(),
  area: num.optional(),
  iscrowd: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
  label_id: z.string().min(1).max(64).optional(),
  polyline_id: z.string().min(1).max(64).optional(),
  labeler_kind: z.literal('polyline').optional(),
});
const imageSchema = z.looseObject({
  id: z.number().int(),
  file_name: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  fiftyone_id: z.string().min(1).optional(),
});
const cocoSchema = z.looseObject({
  info: z.unknown().optional(),
  licenses: z.array(z.unknown()).optional(),
  categories: z.array(
    z.looseObject({
      id: z.number().int(),
      name: z.string().min(1),
      supercategory: z.string().nullable().optional(),
    }),
  ),
  images: z.array(imageSchema),
  annotations: z.array(annotationSchema).optional(),
});
type Coco = z.infer<typeof cocoSchema>;
type CocoImage = z.infer<typeof imageSchema>;
type CocoAnnotation = z.infer<typeof annotationSchema>;

const labelsFile = (dir: string) => join(dir, 'labels.json');
export const polylineFieldOf = (field: string) => `${field}_polylines`;

async function load(dir: string): Promise<{ file: string; coco: Coco }> {
  const file = labelsFile(dir);
  const coco = await readJsonFile(file, cocoSchema);
  const ids = new Set<number>();
  coco.annotations?.forEach((a, i) => {
    if (ids.has(a.id))
      throw formatInvalid(file, `annotations.${i}.id`, `repeats annotation id ${a.id}; ids must be unique`);
    ids.add(a.id);
  });
  return { file, coco };
}

function imagePath(dir: string, fileName: string): string {
  if (isAbsolute(fileName)) return fileName;
  return join(dir, 'data', fileName);
}

function sampleIdOf(image: CocoImage, dir: string): string {
  return image.fiftyone_id ?? stableId(toPosix(relative(dir, imagePath(dir, image.file_name))));
}

function toMask(seg: z.infer<typeof rleSchema>, file: string, field: string): RleMask {
  try {
    return {
      size: seg.size,
      counts: typeof seg.counts === 'string' ? cocoRleFromString(seg.counts) : seg.counts,
    };
  } catch (error) {
    throw formatInvalid(
      file,
      field,
      `is not a valid compressed RLE string (${(error as Error).message})`,
      error,
    );
  }
}

function annotationToLabels(
  a: CocoAnnotation,
  index: number,
  img: CocoImage,
  catName: string,
  file: string,
): { det: Detection | null; poly: Polyline | null } {
  const labelId = a.label_id ?? stableId(`coco:${img.id}:${a.id}`);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (
      ![
        'id',
        'image_id',
        'category_id',
        'bbox',
        'segmentation',
        'score',
        'area',
        'iscrowd',
        'label_id',
        'polyline_id',
        'labeler_kind',
      ].includes(k)
    )
      extra[k] = v;
  }
  const attributes = { coco_id: a.id, ...extra };
  const confidence = a.score !== undefined && a.score >= 0 && a.score <= 1 ? { confidence: a.score } : {};
  const polygons = Array.isArray(a.segmentation) ? a.segmentation.filter((p) => p.length >= 6) : [];
  const poly: Polyline | null =
    polygons.length > 0
      ? {
          _cls: 'Polyline',
          id:
            a.labeler_kind === 'polyline'
              ? labelId
              : (a.polyline_id ?? stableId(`coco-seg:${img.id}:${a.id}`)),
          label: catName,
          points: polygons.map((p) => {
            const pts: Array<[number, number]> = [];
            for (let i = 0; i + 1 < p.length; i += 2) pts.push([p[i]! / img.width, p[i + 1]! / img.height]);
            return pts;
          }),
          closed: true,
          filled: true,
          ...confidence,
          attributes,
        }
      : null;
  if (a.labeler_kind === 'polyline') return { det: null, poly };
  const [x, y, w, h] = a.bbox;
  const det: Detection = {
    _cls: 'Detection',
    id: labelId,
    label: catName,
    bounding_box: [x / img.width, y / img.height, w / img.width, h / img.height],
    ...confidence,
    ...(a.iscrowd !== undefined ? { iscrowd: a.iscrowd === 1 || a.iscrowd === true } : {}),
    ...(a.segmentation && !Array.isArray(a.segmentation)
      ? { mask: toMask(a.segmentation, file, `annotations.${index}.segmentation`) }
      : {}),
    attributes,
  };
  return { det, poly };
}

function samplesOf(dir: string, file: string, coco: Coco, field: string): Sample[] {
  const cats = new Map(coco.categories.map((c) => [c.id, c.name]));
  const byImage = new Map<number, Array<{ a: CocoAnnotation; i: number }>>();
  const imageIds = new Set(coco.images.map((im) => im.id));
  coco.annotations?.forEach((a, i) => {
    if (!imageIds.has(a.image_id))
      throw formatInvalid(
        file,
        `annotations.${i}.image_id`,
        `names image ${a.image_id}, which is not in "images"`,
      );
    if (!cats.has(a.category_id))
      throw formatInvalid(
        file,
        `annotations.${i}.category_id`,
        `names category ${a.category_id}, which is not in "categories"`,
      );
    const list = byImage.get(a.image_id) ?? [];
    list.push({ a, i });
    byImage.set(a.image_id, list);
  });
  return coco.images.map((img) => {
    const dets: Detection[] = [];
    const polys: Polyline[] = [];
    for (const { a, i } of byImage.get(img.id) ?? []) {
      const { det, poly } = annotationToLabels(a, i, img, cats.get(a.category_id)!, file);
      if (det) dets.push(det);
      if (poly) polys.push(poly);
    }
    const labels: Sample['labels'] = { [field]: { _cls: 'Detections', detections: dets } };
    if (polys.length > 0) labels[polylineFieldOf(field)] = { _cls: 'Polylines', polylines: polys };
    return {
      id: sampleIdOf(img, dir),
      filepath: resolve(imagePath(dir, img.file_name)),
      tags: [],
      metadata: { width: img.width, height: img.height },
      labels,
    };
  });
}

/** COCO annotations for one sample's labels; `nextId` hands out ids for annotations that had none. */
function toAnnotations(
  sample: Sample,
  field: string,
  imageId: number,
  size: { width: number; height: number },
  catIds: Map<string, number>,
  nextId: () => number,
  used: Set<number>,
): CocoAnnotation[] {
  const { width: W, height: H } = size;
  const catOf = (label: string): number => {
    const id = catIds.get(label);
    if (id === undefined)
      throw formatInvalid(
        'labels.json',
        'categories',
        `has no category "${label}"; pass it in the class list`,
      );
    return id;
  };
  const takeId = (attrs: Record<string, unknown> | undefined): number => {
    const wanted = attrs?.coco_id;
    if (typeof wanted === 'number' && Number.isInteger(wanted) && !used.has(wanted)) {
      used.add(wanted);
      return wanted;
    }
    return nextId();
  };
  const extraOf = (attrs: Record<string, unknown> | undefined) =>
    Object.fromEntries(Object.entries(attrs ?? {}).filter(([k]) => k !== 'coco_id'));
  const flat = (p: Polyline) =>
    p.points.map((shape) => shape.flatMap(([x, y]) => [Number(fmt(x * W)), Number(fmt(y * H))]));
  const polys = polylinesOf(sample.labels[polylineFieldOf(field)]);
  const paired = new Set<Polyline>();
  const out: CocoAnnotation[] = [];
  for (const d of detectionsOf(sample.labels[field])) {
    const [x, y, w, h] = d.bounding_box;
    const poly = polys.find(
      (p) =>
        !paired.has(p) &&
        p.attributes?.coco_id !== undefined &&
        p.attributes.coco_id === d.attributes?.coco_id,
    );
    if (poly) paired.add(poly);
    const bbox: [number, number, number, number] = [x * W, y * H, w * W, h * H].map((v) =>
      Number(fmt(v)),
    ) as [number, number, number, number];
    out.push({
      ...extraOf(d.attributes),
      id: takeId(d.attributes),
      image_id: imageId,
      category_id: catOf(d.label),
      bbox,
      segmentation: d.mask ? { size: d.mask.size, counts: d.mask.counts } : poly ? flat(poly) : [],
      area: d.mask ? rleArea(d.mask) : Number(fmt(bbox[2] * bbox[3])),
      iscrowd: d.iscrowd ? 1 : 0,
      ...(d.confidence !== undefined && d.confidence !== null ? { score: d.confidence } : {}),
      label_id: d.id,
      ...(poly ? { polyline_id: poly.id } : {}),
    });
  }
  for (const p of polys) {
    if (paired.has(p)) continue;
    const xs = p.points.flat().map(([px]) => px * W);
    const ys = p.points.flat().map(([, py]) => py * H);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    const bbox: [number, number, number, number] = [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0].map(
      (v) => Number(fmt(v)),
    ) as [number, number, number, number];
    out.push({
      ...extraOf(p.attributes),
      id: takeId(p.attributes),
      image_id: imageId,
      category_id: catOf(p.label),
      bbox,
      segmentation: flat(p),
      area: Number(fmt(bbox[2] * bbox[3])),
      iscrowd: 0,
      ...(p.confidence !== undefined && p.confidence !== null ? { score: p.confidence } : {}),
      label_id: p.id,
      labeler_kind: 'polyline',
    });
  }
  return out;
}

export const cocoFormat: FormatHandler = {
  format: 'coco',
  preservesLabelIds: true,
  storedFields: (field) => [field, polylineFieldOf(field)],
  async detect(dir) {
    if (!(await exists(labelsFile(dir)))) return false;
    try {
      const head = (await readFile(labelsFile(dir), 'utf8')).slice(0, 1_000_000);
      return /"images"\s*:/.test(head) && /"categories"\s*:/.test(head);
    } catch {
      return false;
    }
  },
  async readInfo(source) {
    const { coco } = await load(source.path);
    const classes = [...coco.categories].sort((a, b) => a.id - b.id).map((c) => c.name);
    const info = coco.info as { description?: unknown } | undefined;
    return {
      format: 'coco',
      name: typeof info?.description === 'string' ? info.description : null,
      classes,
      sampleCount: coco.images.length,
    };
  },
  async *readSamples(source) {
    const { file, coco } = await load(source.path);
    yield* samplesOf(source.path, file, coco, labelFieldOf(source));
  },
  async planLabelWrites(source, changed) {
    const { file, coco } = await load(source.path);
    const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & {
      annotations?: Array<Record<string, unknown>>;
      categories: Array<{ id: number; name: string }>;
    };
    const field = labelFieldOf(source);
    const catIds = new Map(coco.categories.map((c) => [c.name, c.id]));
    // New class names from the annotation tool become new categories rather than failing the write.
    let nextCat = Math.max(0, ...coco.categories.map((c) => c.id)) + 1;
    for (const s of changed.values()) {
      for (const l of [...detectionsOf(s.labels[field]), ...polylinesOf(s.labels[polylineFieldOf(field)])]) {
        if (!catIds.has(l.label)) {
          catIds.set(l.label, nextCat);
          raw.categories.push({ id: nextCat++, name: l.label, supercategory: null } as {
            id: number;
            name: string;
          });
        }
      }
    }
    const byId = new Map(coco.images.map((im) => [sampleIdOf(im, source.path), im]));
    const changedImages = new Set<number>();
    for (const id of changed.keys()) {
      const im = byId.get(id);
      if (im) changedImages.add(im.id);
    }
    if (changedImages.size === 0) return [];
    const kept = (raw.annotations ?? []).filter((a) => !changedImages.has(a.image_id as number));
    const used = new Set(kept.map((a) => a.id as number));
    let next = Math.max(0, ...(coco.annotations ?? []).map((a) => a.id)) + 1;
    const nextId = () => {
      while (used.has(next)) next++;
      used.add(next);
      return next;
    };
    const added: CocoAnnotation[] = [];
    for (const [id, sample] of changed) {
      const im = byId.get(id);
      if (im) added.push(...toAnnotations(sample, field, im.id, im, catIds, nextId, used));
    }
    // Keep the file's mask style: if it already used compressed RLE strings, new masks are compressed too.
    const compressed = (coco.annotations ?? []).some(
      (a) => a.segmentation && !Array.isArray(a.segmentation) && typeof a.segmentation.counts === 'string',
    );
    if (compressed) {
      for (const a of added) {
        if (a.segmentation && !Array.isArray(a.segmentation) && Array.isArray(a.segmentation.counts))
          a.segmentation = { size: a.segmentation.size, counts: cocoRleToString(a.segmentation.counts) };
      }
    }
    raw.annotations = [...kept, ...added].sort(
      (a, b) => (a.image_id as number) - (b.image_id as number) || (a.id as number) - (b.id as number),
    );
    return [{ path: file, content: `${JSON.stringify(raw)}\n` } satisfies FileWrite];
  },
  async writeDataset(target, samples, options = {}) {
    const field = labelFieldOf(target);
    const all: Sample[] = [];
    for await (const s of samples) all.push(s);
    const classes = options.classes ?? collectClasses(all, [field, polylineFieldOf(field)]);
    const catIds = new Map(classes.map((c, i) => [c, i + 1]));
    const used = new Set<string>();
    const images: CocoImage[] = [];
    const annotations: CocoAnnotation[] = [];
    const usedAnn = new Set<number>();
    let next = 1;
    const nextId = () => {
      while (usedAnn.has(next)) next++;
      usedAnn.add(next);
      return next;
    };
    for (const [i, s] of all.entries()) {
      const { width, height } = s.metadata;
      if (!width || !height)
        throw formatInvalid(
          s.filepath,
          'metadata.width/height',
          'is unknown; COCO needs image sizes (probe the image first)',
        );
      const media = await copyMedia(s.filepath, join(target.path, 'data'), used);
      images.push({
        id: i + 1,
        file_name: toPosix(relative(join(target.path, 'data'), media)),
        width,
        height,
        fiftyone_id: s.id,
      });
      // Source COCO ids are reused when still unique (they pair detections with their polygons); label ids
      // travel in label_id either way.
      annotations.push(...toAnnotations(s, field, i + 1, { width, height }, catIds, nextId, usedAnn));
    }
    const coco = {
      info: {
        year: new Date().getUTCFullYear(),
        version: '1.0',
        description: 'Exported by Labeler',
        contributor: 'Labeler',
        url: '',
        date_created: new Date().toISOString(),
      },
      licenses: [],
      categories: classes.map((name, i) => ({ id: i + 1, name, supercategory: null })),
      images,
      annotations,
    };
    const file = labelsFile(target.path);
    await writeFileAtomic(file, `${JSON.stringify(coco)}\n`);
    return { samples: all.length, files: [file, ...used] };
  },
};
