import { z } from 'zod';

/**
 * Sample label types, modelled on FiftyOne's (fiftyone/core/labels.py). Coordinates are relative (0-1)
 * with a top-left origin. `id` is a stable label id (FiftyOne uses 24-hex ObjectIds) that survives
 * round trips through annotation backends.
 */
const unit = z.number().finite();
const point = z.tuple([unit, unit]);
const labelBase = {
  id: z.string().min(1).max(64),
  label: z.string().min(1).max(256),
  confidence: z.number().min(0).max(1).nullable().optional(),
  tags: z.array(z.string()).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
};

/** Run-length encoded binary mask (COCO-style uncompressed counts, column-major). */
export const rleMaskSchema = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]).describe('[height, width]'),
  counts: z.array(z.number().int().nonnegative()),
});

export const classificationSchema = z.object({ _cls: z.literal('Classification'), ...labelBase });
export const classificationsSchema = z.object({
  _cls: z.literal('Classifications'),
  classifications: z.array(classificationSchema),
});

export const detectionSchema = z.object({
  _cls: z.literal('Detection'),
  ...labelBase,
  bounding_box: z
    .tuple([unit, unit, unit, unit])
    .describe('[top-left x, top-left y, width, height], relative'),
  /** Clockwise rotation in degrees around the top-left corner (Label Studio's convention), kept as given. */
  rotation: z.number().finite().optional(),
  mask: rleMaskSchema.optional(),
  iscrowd: z.boolean().optional(),
});
export const detectionsSchema = z.object({
  _cls: z.literal('Detections'),
  detections: z.array(detectionSchema),
});

export const polylineSchema = z.object({
  _cls: z.literal('Polyline'),
  ...labelBase,
  points: z.array(z.array(point)),
  closed: z.boolean().default(false),
  filled: z.boolean().default(false),
});
export const polylinesSchema = z.object({ _cls: z.literal('Polylines'), polylines: z.array(polylineSchema) });

export const keypointSchema = z.object({ _cls: z.literal('Keypoint'), ...labelBase, points: z.array(point) });
export const keypointsSchema = z.object({ _cls: z.literal('Keypoints'), keypoints: z.array(keypointSchema) });

/** Full-frame semantic mask for one class. */
export const segmentationSchema = z.object({
  _cls: z.literal('Segmentation'),
  ...labelBase,
  mask: rleMaskSchema,
});

export const labelValueSchema = z.discriminatedUnion('_cls', [
  classificationSchema,
  classificationsSchema,
  detectionSchema,
  detectionsSchema,
  polylineSchema,
  polylinesSchema,
  keypointSchema,
  keypointsSchema,
  segmentationSchema,
]);

export type RleMask = z.infer<typeof rleMaskSchema>;
export type Classification = z.infer<typeof classificationSchema>;
export type Classifications = z.infer<typeof classificationsSchema>;
export type Detection = z.infer<typeof detectionSchema>;
export type Detections = z.infer<typeof detectionsSchema>;
export type Polyline = z.infer<typeof polylineSchema>;
export type Polylines = z.infer<typeof polylinesSchema>;
export type Keypoint = z.infer<typeof keypointSchema>;
export type Keypoints = z.infer<typeof keypointsSchema>;
export type Segmentation = z.infer<typeof segmentationSchema>;
export type LabelValue = z.infer<typeof labelValueSchema>;

export type SingleLabel = Classification | Detection | Polyline | Keypoint | Segmentation;

/** The individual labels of a field value: containers (Detections, Polylines, …) are opened up. */
export function individualLabels(value: LabelValue | null | undefined): SingleLabel[] {
  if (!value) return [];
  switch (value._cls) {
    case 'Detections':
      return value.detections;
    case 'Polylines':
      return value.polylines;
    case 'Keypoints':
      return value.keypoints;
    case 'Classifications':
      return value.classifications;
    default:
      return [value];
  }
}

/** Label schema of an annotation project: which tools and classes annotators get. */
export const labelControlSchema = z.object({
  type: z.enum(['rectangle', 'polygon', 'keypoint', 'brush', 'choices']),
  /** Control name in the backend's label config; also the sample label field it maps to. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an identifier (letters, digits, _)'),
  labels: z.array(z.string().min(1).max(256)).min(1).max(1000),
  /** For choices: allow several. */
  multiple: z.boolean().optional(),
});
export const labelSchemaSchema = z.object({
  controls: z.array(labelControlSchema).min(1).max(32),
});
export type LabelControl = z.infer<typeof labelControlSchema>;
export type LabelSchema = z.infer<typeof labelSchemaSchema>;
