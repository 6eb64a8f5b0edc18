import { z } from 'zod';

/** The LS region types this connector converts (see label-studio-api.md §7). */
export const LS_RESULT_TYPES = [
  'rectanglelabels',
  'polygonlabels',
  'keypointlabels',
  'brushlabels',
  'choices',
] as const;
export type LsResultType = (typeof LS_RESULT_TYPES)[number];

const num = z.number().finite();

export const rectangleValueSchema = z.object({
  x: num,
  y: num,
  width: num,
  height: num,
  rotation: num.optional(),
  rectanglelabels: z.array(z.string()).min(1),
});
export const polygonValueSchema = z.object({
  points: z.array(z.tuple([num, num])),
  polygonlabels: z.array(z.string()).min(1),
  closed: z.boolean().optional(),
  /** Not an LS field: we add it so FiftyOne's `filled` survives a round trip; LS ignores it. */
  filled: z.boolean().optional(),
});
export const keypointValueSchema = z.object({
  x: num,
  y: num,
  width: num.optional(),
  keypointlabels: z.array(z.string()).min(1),
});
export const brushValueSchema = z.object({
  format: z.literal('rle'),
  rle: z.array(z.number().int().min(0).max(255)),
  brushlabels: z.array(z.string()).min(1),
});
export const choicesValueSchema = z.object({ choices: z.array(z.string()) });

const base = {
  id: z.string().min(1).optional(),
  from_name: z.string(),
  to_name: z.string(),
  origin: z.string().optional(),
  original_width: z.number().int().positive().optional(),
  original_height: z.number().int().positive().optional(),
  image_rotation: z.number().optional(),
  /** Per-region prediction score; carries a label's `confidence`. */
  score: z.number().optional(),
};

/** One LS result item (a region or a choice), validated before conversion. */
export const lsResultSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('rectanglelabels'), value: rectangleValueSchema }),
  z.object({ ...base, type: z.literal('polygonlabels'), value: polygonValueSchema }),
  z.object({ ...base, type: z.literal('keypointlabels'), value: keypointValueSchema }),
  z.object({ ...base, type: z.literal('brushlabels'), value: brushValueSchema }),
  z.object({ ...base, type: z.literal('choices'), value: choicesValueSchema }),
]);
export type LsResult = z.infer<typeof lsResultSchema>;

/** Image size a result list is stamped with (LS needs it to decode brushes and to show pixels). */
export interface ImageDims {
  width: number;
  height: number;
}
