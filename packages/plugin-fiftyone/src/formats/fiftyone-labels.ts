import type { LabelValue } from '@labeler/core';
import { labelValueSchema, rleMaskSchema } from '@labeler/core';
import { formatInvalid } from '../errors.js';
import { OBJECT_ID, stableId } from '../ids.js';

/**
 * FiftyOne label documents (fiftyone/core/labels.py as serialised in samples.json) ↔ core labels.
 * FiftyOne masks are numpy arrays in `$binary`, which a non-Python reader cannot decode reliably; we read
 * and write masks as our own RLE under the dynamic attribute `mask_rle` and leave foreign `mask` values
 * untouched in fields we do not rewrite.
 */
type Doc = Record<string, unknown>;

const LABEL_CLASSES = new Set([
  'Classification',
  'Classifications',
  'Detection',
  'Detections',
  'Polyline',
  'Polylines',
  'Keypoint',
  'Keypoints',
  'Segmentation',
]);
const KNOWN_KEYS = new Set([
  '_id',
  '_cls',
  'id',
  'label',
  'confidence',
  'tags',
  'attributes',
  'bounding_box',
  'rotation',
  'mask',
  'mask_rle',
  'iscrowd',
  'points',
  'closed',
  'filled',
  'index',
  'logits',
  'confidences',
  'mask_path',
]);

export function isLabelDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && LABEL_CLASSES.has(String((value as Doc)._cls));
}

export function oidOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Doc).$oid === 'string')
    return (value as { $oid: string }).$oid;
  return null;
}

/** Label ids written to FiftyOne must be ObjectIds; any other id maps to a derived, stable ObjectId. */
export function toObjectId(id: string): string {
  return OBJECT_ID.test(id) ? id : stableId(`label:${id}`);
}

/** Parses one label field; `where` names file and field for errors, `fallbackId` seeds derived ids. */
export function fromFiftyOneLabel(
  doc: Doc,
  where: { file: string; field: string },
  fallbackId: string,
): LabelValue {
  const item = (d: Doc, key: string): Doc => {
    const attributes: Doc = { ...((d.attributes as Doc | undefined) ?? {}) };
    for (const [k, v] of Object.entries(d)) if (!KNOWN_KEYS.has(k)) attributes[k] = v;
    const out: Doc = {
      _cls: d._cls,
      id: oidOf(d._id) ?? (typeof d.id === 'string' ? d.id : stableId(key)),
      label: d.label,
      ...(typeof d.confidence === 'number' ? { confidence: d.confidence } : {}),
      ...(Array.isArray(d.tags) && d.tags.length > 0 ? { tags: d.tags } : {}),
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    };
    if (d._cls === 'Detection') {
      out.bounding_box = d.bounding_box;
      if (typeof d.rotation === 'number') out.rotation = d.rotation;
      if (d.iscrowd !== undefined) out.iscrowd = d.iscrowd === true || d.iscrowd === 1;
      if (d.mask_rle) out.mask = d.mask_rle;
    } else if (d._cls === 'Polyline') {
      Object.assign(out, { points: d.points, closed: d.closed ?? false, filled: d.filled ?? false });
    } else if (d._cls === 'Keypoint') out.points = d.points;
    else if (d._cls === 'Segmentation') out.mask = d.mask_rle;
    return out;
  };
  const listKey = {
    Detections: 'detections',
    Polylines: 'polylines',
    Keypoints: 'keypoints',
    Classifications: 'classifications',
  }[String(doc._cls)];
  const raw = listKey
    ? {
        _cls: doc._cls,
        [listKey]: (Array.isArray(doc[listKey]) ? (doc[listKey] as Doc[]) : []).map((d, i) =>
          item(d, `${fallbackId}:${i}`),
        ),
      }
    : item(doc, fallbackId);
  const parsed = labelValueSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw formatInvalid(where.file, [where.field, ...issue.path.map(String)].join('.'), issue.message);
  }
  if (parsed.data._cls === 'Segmentation' && !rleMaskSchema.safeParse(parsed.data.mask).success) {
    throw formatInvalid(
      where.file,
      `${where.field}.mask_rle`,
      'is missing: Segmentation masks must be stored as mask_rle',
    );
  }
  return parsed.data;
}

export function toFiftyOneLabel(value: LabelValue): Doc {
  const item = (
    l: Exclude<LabelValue, { _cls: 'Detections' | 'Polylines' | 'Keypoints' | 'Classifications' }>,
  ): Doc => {
    const out: Doc = { _id: { $oid: toObjectId(l.id) }, _cls: l._cls, tags: l.tags ?? [], label: l.label };
    if (l.confidence !== undefined && l.confidence !== null) out.confidence = l.confidence;
    switch (l._cls) {
      case 'Detection':
        out.bounding_box = l.bounding_box;
        if (l.rotation !== undefined) out.rotation = l.rotation;
        if (l.iscrowd !== undefined) out.iscrowd = l.iscrowd ? 1 : 0;
        if (l.mask) out.mask_rle = l.mask;
        break;
      case 'Polyline':
        Object.assign(out, { points: l.points, closed: l.closed, filled: l.filled });
        break;
      case 'Keypoint':
        out.points = l.points;
        break;
      case 'Segmentation':
        out.mask_rle = l.mask;
        break;
    }
    // Dynamic attributes are plain extra keys in current FiftyOne (the `attributes` dict is deprecated).
    for (const [k, v] of Object.entries(l.attributes ?? {})) if (!(k in out)) out[k] = v;
    return out;
  };
  switch (value._cls) {
    case 'Detections':
      return { _cls: 'Detections', detections: value.detections.map(item) };
    case 'Polylines':
      return { _cls: 'Polylines', polylines: value.polylines.map(item) };
    case 'Keypoints':
      return { _cls: 'Keypoints', keypoints: value.keypoints.map(item) };
    case 'Classifications':
      return { _cls: 'Classifications', classifications: value.classifications.map(item) };
    default:
      return item(value);
  }
}
