import type {
  Classification,
  Detection,
  LabelControl,
  LabelSchema,
  LabelValue,
  Keypoint,
  Polyline,
  RleMask,
} from '@labeler/core';
import type { ImageDims, LsResult } from './ls-result.js';
import { partId } from './part-ids.js';
import { rleMaskToLsBrush } from './rle.js';

/** The LS object tag every control points at (FiftyOne's generated config uses `<Image name="image">`). */
export const LS_TO_NAME = 'image';

export interface ConversionOptions {
  /** Called for every label that cannot be expressed (wrong type for the control, bad geometry...). */
  onSkip?: (message: string) => void;
}

type Stamp = Pick<
  LsResult,
  'from_name' | 'to_name' | 'original_width' | 'original_height' | 'image_rotation'
>;

function stamp(control: LabelControl, dims: ImageDims): Stamp {
  return {
    from_name: control.name,
    to_name: LS_TO_NAME,
    original_width: dims.width,
    original_height: dims.height,
    image_rotation: 0,
  };
}

const pct = (v: number): number => v * 100;
const score = (confidence: number | null | undefined): { score?: number } =>
  confidence === null || confidence === undefined ? {} : { score: confidence };

/**
 * Core labels (one value per label field) → LS result items. Fields are the schema's control names; a
 * field whose label type does not fit its control is skipped and reported through `onSkip`.
 */
export function labelsToLsResults(
  labels: Readonly<Record<string, LabelValue | null | undefined>>,
  schema: LabelSchema,
  dims: ImageDims,
  options: ConversionOptions = {},
): LsResult[] {
  const out: LsResult[] = [];
  const skip = options.onSkip ?? (() => {});
  for (const control of schema.controls) {
    const value = labels[control.name];
    if (value === null || value === undefined) continue;
    const s = stamp(control, dims);
    const mismatch = () =>
      skip(`field "${control.name}" holds ${value._cls}, which a ${control.type} control cannot show`);
    switch (control.type) {
      case 'rectangle': {
        const dets =
          value._cls === 'Detection' ? [value] : value._cls === 'Detections' ? value.detections : null;
        if (!dets) mismatch();
        else for (const d of dets) out.push(rectangle(d, s));
        break;
      }
      case 'polygon': {
        const lines =
          value._cls === 'Polyline' ? [value] : value._cls === 'Polylines' ? value.polylines : null;
        if (!lines) mismatch();
        else for (const p of lines) out.push(...polygon(p, s, skip));
        break;
      }
      case 'keypoint': {
        const kps = value._cls === 'Keypoint' ? [value] : value._cls === 'Keypoints' ? value.keypoints : null;
        if (!kps) mismatch();
        else for (const k of kps) out.push(...keypoint(k, s, skip));
        break;
      }
      case 'brush': {
        if (value._cls === 'Segmentation')
          out.push(brush(value.id, value.label, value.mask, value.confidence, s));
        else if (value._cls === 'Detection' || value._cls === 'Detections') {
          const dets = value._cls === 'Detection' ? [value] : value.detections;
          for (const d of dets) {
            if (d.mask && isFullFrame(d.bounding_box))
              out.push(brush(d.id, d.label, d.mask, d.confidence, s));
            else
              skip(
                `field "${control.name}": detection ${d.id} has no full-frame mask, so it cannot become a brush region`,
              );
          }
        } else mismatch();
        break;
      }
      case 'choices': {
        if (value._cls === 'Classification') out.push(choices([value], s));
        else if (value._cls === 'Classifications') {
          if (value.classifications.length > 0) out.push(choices(value.classifications, s));
        } else mismatch();
        break;
      }
    }
  }
  return out;
}

export function isFullFrame(box: readonly [number, number, number, number]): boolean {
  return box[0] === 0 && box[1] === 0 && box[2] === 1 && box[3] === 1;
}

/**
 * Rotation rule: LS's x/y/width/height describe the box *before* rotation, anchored at its top-left
 * corner, and `rotation` turns it clockwise around that corner. We copy the unrotated box and keep
 * `rotation` as given (as FiftyOne does) instead of computing an axis-aligned hull, so the region comes
 * back from LS bit-for-bit the same; consumers that need a hull must apply the rotation themselves.
 */
function rectangle(d: Detection, s: Stamp): LsResult {
  const [x, y, w, h] = d.bounding_box;
  return {
    id: d.id,
    type: 'rectanglelabels',
    ...s,
    ...score(d.confidence),
    value: {
      x: pct(x),
      y: pct(y),
      width: pct(w),
      height: pct(h),
      rotation: d.rotation ?? 0,
      rectanglelabels: [d.label],
    },
  };
}

/** Every shape of a Polyline becomes its own polygon region (FiftyOne exports only the first). */
function polygon(p: Polyline, s: Stamp, skip: (m: string) => void): LsResult[] {
  const shapes = p.points.filter((shape) => shape.length > 0);
  if (shapes.length === 0) skip(`polyline ${p.id} has no points`);
  return shapes.map((shape, i) => ({
    id: shapes.length === 1 ? p.id : partId(p.id, i),
    type: 'polygonlabels' as const,
    ...s,
    ...score(p.confidence),
    value: {
      points: shape.map(([x, y]) => [pct(x), pct(y)] as [number, number]),
      polygonlabels: [p.label],
      closed: p.closed,
      filled: p.filled,
    },
  }));
}

/** LS has one region per point, so a Keypoint with N points becomes N results with part ids. */
function keypoint(k: Keypoint, s: Stamp, skip: (m: string) => void): LsResult[] {
  if (k.points.length === 0) skip(`keypoint ${k.id} has no points`);
  return k.points.map(([x, y], i) => ({
    id: k.points.length === 1 ? k.id : partId(k.id, i),
    type: 'keypointlabels' as const,
    ...s,
    ...score(k.confidence),
    value: { x: pct(x), y: pct(y), width: 0.34, keypointlabels: [k.label] },
  }));
}

function brush(
  id: string,
  label: string,
  mask: RleMask,
  confidence: number | null | undefined,
  s: Stamp,
): LsResult {
  // LS decodes a brush against original_width/height, so the stamp must be the mask's own size.
  const [height, width] = mask.size;
  return {
    id,
    type: 'brushlabels',
    ...s,
    original_width: width,
    original_height: height,
    ...score(confidence),
    value: { format: 'rle', rle: rleMaskToLsBrush(mask), brushlabels: [label] },
  };
}

/** One choices result holds every class; the ids of all classifications travel comma-joined in its id. */
function choices(cs: Classification[], s: Stamp): LsResult {
  return {
    id: cs.map((c) => c.id).join(','),
    type: 'choices',
    ...s,
    ...score(cs.length === 1 ? cs[0]!.confidence : undefined),
    value: { choices: cs.map((c) => c.label) },
  };
}
