import type {
  Classification,
  Detection,
  Keypoint,
  LabelControl,
  LabelSchema,
  LabelValue,
  Polyline,
  Segmentation,
} from '@labeler/core';
import { newObjectId } from './ids.js';
import { type LsResult, lsResultSchema } from './ls-result.js';
import { parsePartId } from './part-ids.js';
import { lsBrushToRleMask } from './rle.js';
import type { ConversionOptions } from './to-ls.js';

const CONTROL_RESULT_TYPE: Record<LabelControl['type'], LsResult['type']> = {
  rectangle: 'rectanglelabels',
  polygon: 'polygonlabels',
  keypoint: 'keypointlabels',
  brush: 'brushlabels',
  choices: 'choices',
};

export interface FromLsOptions extends ConversionOptions {
  /**
   * The sample's current labels. Used only to keep a field's shape: a field that holds a single
   * `Detection`/`Polyline`/`Keypoint` today stays singular when exactly one region comes back; otherwise
   * the plural container is returned (FiftyOne's default for LS fields).
   */
  like?: Readonly<Record<string, LabelValue | null | undefined>>;
}

const rel = (v: number): number => v / 100;
const confidence = (r: LsResult): { confidence?: number } =>
  r.score !== undefined && r.score >= 0 && r.score <= 1 ? { confidence: r.score } : {};

/**
 * LS result items → core labels, one entry per schema control (field). A field without results maps to
 * `null`, which is how a pull says "the annotator removed every label of this field". Items that fail
 * validation, or whose `from_name`/`type` do not match a control, are skipped and reported.
 */
export function lsResultsToLabels(
  results: readonly unknown[],
  schema: LabelSchema,
  options: FromLsOptions = {},
): Record<string, LabelValue | null> {
  const skip = options.onSkip ?? (() => {});
  const byField = new Map<string, LsResult[]>();
  for (const control of schema.controls) byField.set(control.name, []);
  for (const raw of results) {
    const parsed = lsResultSchema.safeParse(raw);
    if (!parsed.success) {
      const type =
        typeof raw === 'object' && raw !== null ? String((raw as { type?: unknown }).type) : typeof raw;
      skip(`result of type "${type}" skipped: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      continue;
    }
    const r = parsed.data;
    const control = schema.controls.find((c) => c.name === r.from_name);
    if (!control) {
      skip(`result from "${r.from_name}" skipped: no such control in the label schema`);
      continue;
    }
    if (CONTROL_RESULT_TYPE[control.type] !== r.type) {
      skip(`result of type ${r.type} skipped: control "${control.name}" is a ${control.type} control`);
      continue;
    }
    byField.get(control.name)!.push(r);
  }
  const out: Record<string, LabelValue | null> = {};
  for (const control of schema.controls) {
    const items = byField.get(control.name)!;
    const like = options.like?.[control.name]?._cls;
    out[control.name] = items.length === 0 ? null : convertField(control, items, like, skip);
  }
  return out;
}

function convertField(
  control: LabelControl,
  items: LsResult[],
  like: string | undefined,
  skip: (m: string) => void,
): LabelValue | null {
  switch (control.type) {
    case 'rectangle': {
      const dets = items.flatMap((r) => (r.type === 'rectanglelabels' ? [toDetection(r)] : []));
      return like === 'Detection' && dets.length === 1 ? dets[0]! : { _cls: 'Detections', detections: dets };
    }
    case 'polygon': {
      const lines = regroup(
        items,
        (r, id) => (r.type === 'polygonlabels' ? toPolyline(r, id) : null),
        mergePolylines,
      );
      return like === 'Polyline' && lines.length === 1 ? lines[0]! : { _cls: 'Polylines', polylines: lines };
    }
    case 'keypoint': {
      const kps = regroup(
        items,
        (r, id) => (r.type === 'keypointlabels' ? toKeypoint(r, id) : null),
        mergeKeypoints,
      );
      return like === 'Keypoint' && kps.length === 1 ? kps[0]! : { _cls: 'Keypoints', keypoints: kps };
    }
    case 'brush': {
      const segs: Segmentation[] = [];
      for (const r of items) {
        if (r.type !== 'brushlabels') continue;
        if (!r.original_width || !r.original_height) {
          skip(
            `brush region ${r.id ?? '(no id)'} skipped: original_width/original_height missing, the mask cannot be decoded`,
          );
          continue;
        }
        try {
          const mask = lsBrushToRleMask(r.value.rle, r.original_width, r.original_height);
          segs.push({
            _cls: 'Segmentation',
            id: r.id ?? newObjectId(),
            label: r.value.brushlabels[0]!,
            ...confidence(r),
            mask,
          });
        } catch (error) {
          skip(`brush region ${r.id ?? '(no id)'} skipped: ${(error as Error).message}`);
        }
      }
      if (segs.length === 0) return null;
      // One brush region is a Segmentation; several (a Segmentation holds one class) become full-frame
      // instance masks, FiftyOne's `label_type="instances"` representation.
      if (segs.length === 1 && like !== 'Detections' && like !== 'Detection') return segs[0]!;
      return {
        _cls: 'Detections',
        detections: segs.map((s) => ({
          _cls: 'Detection' as const,
          id: s.id,
          label: s.label,
          bounding_box: [0, 0, 1, 1] as [number, number, number, number],
          mask: s.mask,
          ...(s.confidence === undefined ? {} : { confidence: s.confidence }),
        })),
      };
    }
    case 'choices': {
      const r = items[0]!;
      if (r.type !== 'choices') return null;
      if (items.length > 1)
        skip(`field "${control.name}": ${items.length} choices results, only the first is used`);
      const ids = r.id ? r.id.split(',') : [];
      const labels = r.value.choices;
      // Ids travel comma-joined in order; when the annotator changed the selection the count differs
      // and the pull matches classifications by label instead (see workflow.ts).
      const idFor = (i: number) => (ids.length === labels.length ? ids[i]! : newObjectId());
      const cs: Classification[] = labels.map((label, i) => ({
        _cls: 'Classification',
        id: idFor(i),
        label,
        ...(labels.length === 1 ? confidence(r) : {}),
      }));
      if (control.multiple) return { _cls: 'Classifications', classifications: cs };
      return cs[0] ?? null;
    }
  }
}

function toDetection(r: Extract<LsResult, { type: 'rectanglelabels' }>): Detection {
  const v = r.value;
  const rotation = v.rotation ?? 0;
  return {
    _cls: 'Detection',
    id: r.id ?? newObjectId(),
    label: v.rectanglelabels[0]!,
    bounding_box: [rel(v.x), rel(v.y), rel(v.width), rel(v.height)],
    ...(rotation !== 0 ? { rotation } : {}),
    ...confidence(r),
  };
}

function toPolyline(r: Extract<LsResult, { type: 'polygonlabels' }>, id: string): Polyline {
  const closed = r.value.closed ?? true;
  return {
    _cls: 'Polyline',
    id,
    label: r.value.polygonlabels[0]!,
    points: [r.value.points.map(([x, y]) => [rel(x), rel(y)] as [number, number])],
    // LS polygons are closed areas; FiftyOne imports them closed and filled, so those are the defaults.
    closed,
    filled: r.value.filled ?? closed,
    ...confidence(r),
  };
}

function toKeypoint(r: Extract<LsResult, { type: 'keypointlabels' }>, id: string): Keypoint {
  return {
    _cls: 'Keypoint',
    id,
    label: r.value.keypointlabels[0]!,
    points: [[rel(r.value.x), rel(r.value.y)]],
    ...confidence(r),
  };
}

const mergePolylines = (a: Polyline, b: Polyline): Polyline => ({ ...a, points: [...a.points, ...b.points] });
const mergeKeypoints = (a: Keypoint, b: Keypoint): Keypoint => ({ ...a, points: [...a.points, ...b.points] });

/** Regroups part results (`<id>::<i>`) into one label per id, parts ordered by index, labels by first appearance. */
function regroup<T>(
  items: LsResult[],
  convert: (r: LsResult, id: string) => T | null,
  merge: (a: T, b: T) => T,
): T[] {
  const groups = new Map<string, Array<{ index: number; label: T }>>();
  for (const r of items) {
    const part = r.id ? parsePartId(r.id) : null;
    const id = part ? part.labelId : (r.id ?? newObjectId());
    const label = convert(r, id);
    if (label === null) continue;
    const list = groups.get(id) ?? [];
    list.push({ index: part ? part.index : 0, label });
    groups.set(id, list);
  }
  return [...groups.values()].map((parts) => {
    parts.sort((a, b) => a.index - b.index);
    return parts.slice(1).reduce((acc, p) => merge(acc, p.label), parts[0]!.label);
  });
}
