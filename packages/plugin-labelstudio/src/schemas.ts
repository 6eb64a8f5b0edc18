/**
 * zod schemas of the Label Studio responses the plugin reads. Objects are loose (LS adds fields across
 * versions) but every field we rely on is checked, so a wrong server never crashes the plugin.
 */
import { z } from 'zod';

const record = z.record(z.string(), z.unknown());

export const accessTokenResponseSchema = z.object({ access: z.string().min(1) });

export const versionSchema = z.looseObject({
  release: z.string().optional(),
  edition: z.string().optional(),
  'label-studio-os-package': z.looseObject({ version: z.string().optional() }).optional(),
});

export const whoamiSchema = z.looseObject({
  id: z.union([z.number(), z.string()]),
  username: z.string().nullish(),
  email: z.string().nullish(),
});

export const projectSchema = z.looseObject({
  id: z.number().int(),
  title: z
    .string()
    .nullish()
    .transform((t) => t ?? ''),
  description: z.string().nullish(),
  label_config: z
    .string()
    .nullish()
    .transform((c) => c ?? ''),
  task_number: z.number().nullish(),
  total_annotations_number: z.number().nullish(),
  num_tasks_with_annotations: z.number().nullish(),
});
export type LsProject = z.output<typeof projectSchema>;

export const projectPageSchema = z.looseObject({
  count: z.number(),
  next: z.string().nullish(),
  results: z.array(projectSchema),
});

/** Community answers synchronously; Enterprise answers `{import: id}` to poll (reference §4). */
export const importResponseSchema = z.union([
  z.object({
    task_count: z.number(),
    annotation_count: z.number().nullish(),
    // OpenAPI says predictions_count, the code returns prediction_count: accept both.
    prediction_count: z.number().nullish(),
    predictions_count: z.number().nullish(),
    task_ids: z.array(z.number()).optional(),
  }),
  z.object({ import: z.number() }),
]);

export const importStatusSchema = z.looseObject({
  status: z.enum(['created', 'in_progress', 'failed', 'completed']),
  task_count: z.number().nullish(),
  task_ids: z.array(z.number()).nullish(),
  error: z.string().nullish(),
});

const userRef = z.union([
  z.number(),
  z.string(),
  z.looseObject({ id: z.union([z.number(), z.string()]) }).transform((u) => u.id),
  z.null(),
]);

export const annotationSchema = z.looseObject({
  id: z.number(),
  result: z
    .array(z.unknown())
    .nullish()
    .transform((r) => r ?? []),
  was_cancelled: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  ground_truth: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  completed_by: userRef.optional().transform((v) => v ?? null),
  created_at: z.string(),
  updated_at: z.string().nullish(),
});
export type LsAnnotation = z.output<typeof annotationSchema>;

export const taskSchema = z.looseObject({
  id: z.number(),
  project: z.number().nullish(),
  data: record,
  meta: record.nullish().transform((m) => m ?? {}),
  is_labeled: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  total_annotations: z.number().nullish(),
  cancelled_annotations: z.number().nullish(),
  annotations: z.array(annotationSchema).optional(),
});
export type LsTask = z.output<typeof taskSchema>;

export const tasksPageSchema = z.looseObject({
  tasks: z.array(taskSchema),
  total: z.number().nullish(),
});

/** `fields=task_only` listing for refs: meta is all we need, so annotations are not parsed. */
export const taskRefsPageSchema = z.looseObject({
  tasks: z.array(z.looseObject({ id: z.number(), meta: record.nullish() })),
  total: z.number().nullish(),
});

export const storageSchema = z.looseObject({
  id: z.number(),
  project: z.number().nullish(),
  title: z.string().nullish(),
  path: z.string().nullish(),
  bucket: z.string().nullish(),
  prefix: z.string().nullish(),
  status: z.string().nullish(),
  last_sync_count: z.number().nullish(),
});
export type LsStorage = z.output<typeof storageSchema>;

export const webhookSchema = z.looseObject({
  id: z.number(),
  url: z.string(),
  project: z.number().nullish(),
  headers: record.nullish(),
  actions: z.array(z.string()).nullish(),
  is_active: z.boolean().nullish(),
  send_for_all_actions: z.boolean().nullish(),
});
