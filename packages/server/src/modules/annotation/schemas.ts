/** zod schemas at the annotation module's boundaries: procedure inputs/outputs and webhook bodies. */
import {
  datasetIdSchema,
  jobSchema,
  labelSchemaSchema,
  pluginInstanceIdSchema,
  PROJECT_STATUSES,
  projectSchema,
  projectIdSchema,
  SYNC_STATUSES,
} from '@labeler/core';
import { z } from 'zod';

const isoDate = z.string().describe('ISO 8601 UTC timestamp');

/** How task images reach the backend. Without a mount, tasks carry Labeler's signed media links. */
export const mediaSettingsSchema = z.object({
  mount: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "Shared-disk mapping in the backend's own shape (Label Studio: host_root, ls_document_root, ls_mount_path, local_files_prefix), validated by the backend: tasks then carry its file URLs (local-files) instead of Labeler media links.",
    ),
});
export type MediaSettings = z.infer<typeof mediaSettingsSchema>;

export const createProjectInput = z.object({
  dataset_id: datasetIdSchema,
  backend_instance_id: pluginInstanceIdSchema,
  name: z.string().trim().min(1).max(200),
  label_schema: labelSchemaSchema,
  media: mediaSettingsSchema.optional(),
});
export type CreateProjectInput = z.infer<typeof createProjectInput>;

/**
 * `{ project_id }` ensures a recorded project; `{ dataset_id, backend_instance_id, name, label_schema }`
 * records one first (or finds it). One object schema with a refinement, because the OpenAPI adapter
 * needs an object at the top level.
 */
export const ensureInput = z
  .object({
    project_id: projectIdSchema.optional(),
    dataset_id: datasetIdSchema.optional(),
    backend_instance_id: pluginInstanceIdSchema.optional(),
    name: z.string().trim().min(1).max(200).optional(),
    label_schema: labelSchemaSchema.optional(),
    media: mediaSettingsSchema.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const creation = ['dataset_id', 'backend_instance_id', 'name', 'label_schema'] as const;
    if (value.project_id !== undefined) {
      if (creation.some((k) => value[k] !== undefined) || value.media !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['project_id'],
          message: 'send either project_id alone or the creation fields, not both',
        });
      }
      return;
    }
    for (const key of creation)
      if (value[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required when project_id is absent' });
  });
export type EnsureInput = z.infer<typeof ensureInput>;

/** The core Project, plus what the console and workflow need. */
export const projectView = projectSchema.extend({
  last_error: z.string().nullable(),
  label_schema: labelSchemaSchema,
  media: mediaSettingsSchema.nullable(),
  webhook_registered: z.boolean(),
  updated_at: isoDate,
});
export type ProjectView = z.infer<typeof projectView>;

export const ensureOutput = z.object({
  project_id: z.string(),
  external_id: z.string(),
  created: z.boolean().describe('True when this call created the backend project.'),
  adopted: z
    .boolean()
    .describe('True when an existing backend project was found by recorded id or title and reused.'),
  status: z.enum(PROJECT_STATUSES),
  task_count: z.number().int(),
  message: z.string(),
});
export type EnsureOutput = z.infer<typeof ensureOutput>;

export const VALIDATION_STATUSES = ['ready', 'pending', 'not_found', 'forbidden', 'unreachable'] as const;
export const validateOutput = z.object({
  project_id: z.string(),
  external_id: z.string().nullable(),
  exists: z.boolean(),
  accessible: z.boolean(),
  task_count: z.number().int(),
  annotation_count: z.number().int(),
  status: z
    .enum(VALIDATION_STATUSES)
    .describe('pending = never ensured; not_found = deleted in the backend (ensure recreates it).'),
  message: z.string().nullable(),
  checked_at: isoDate,
  cached: z.boolean().describe('Served from the 1-minute validation cache.'),
});
export type ValidateOutput = z.infer<typeof validateOutput>;

export const byProject = z.object({ project_id: projectIdSchema });

export const importInput = z.object({
  project_id: projectIdSchema,
  batch_size: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Tasks per import request (default 100).'),
});
export const pullInput = byProject;

export const jobOutput = z.object({
  project_id: z.string(),
  job: jobSchema,
  deduplicated: z
    .boolean()
    .describe(
      'True when a queued or running job of the same kind for this project was returned instead of a new one.',
    ),
});

export const authUrlInput = z.object({
  project_id: projectIdSchema,
  locale: z
    .enum(['en', 'ko', 'zh'])
    .optional()
    .describe(
      "Stores the caller's language preference (console users); Label Studio itself has no language parameter.",
    ),
});
export const authUrlOutput = z.object({
  url: z
    .string()
    .describe(
      "Labeler's signed, single-project launch link; it checks access and redirects to the backend's project page.",
    ),
  expires_at: isoDate,
  project_id: z.string(),
  external_id: z.string(),
  backend_url: z.string().describe("The backend's own project page (needs a backend login of its own)."),
  locale: z.string().nullable().describe("The caller's stored language preference, for Labeler's own UI."),
});

export const syncOneInput = z.object({
  project_id: projectIdSchema,
  task_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a backend task id'),
});
export const syncOneOutput = z.object({
  project_id: z.string(),
  task_id: z.string(),
  sample_id: z.string().nullable(),
  synced: z.boolean().describe('False when the task has no submitted (non-cancelled) annotation.'),
  annotation_id: z.string().nullable(),
  external_annotation_id: z.string().nullable(),
});
export type SyncOneOutput = z.infer<typeof syncOneOutput>;

export const progressOutput = z.object({
  project_id: z.string(),
  status: z.enum(PROJECT_STATUSES),
  sync_status: z.enum(SYNC_STATUSES),
  task_count: z.number().int(),
  annotation_count: z.number().int(),
  percent: z
    .number()
    .min(0)
    .max(100)
    .describe('annotation_count / task_count × 100, two decimals (0 without tasks).'),
  last_sync_at: isoDate.nullable(),
});

export const listInput = z.object({
  dataset_id: datasetIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const listOutput = z.object({ total: z.number().int(), projects: z.array(projectView) });

export const deleteInput = z.object({
  project_id: projectIdSchema,
  delete_in_backend: z
    .boolean()
    .default(false)
    .describe('Also delete the backend project (and its annotations there).'),
});
export const deleteOutput = z.object({
  project_id: z.string(),
  deleted: z.literal(true),
  backend_deleted: z.boolean(),
});

/**
 * Label Studio webhook bodies (label-studio-api.md §10). Loose: LS adds fields between versions, and
 * `send_payload=false` sends only `{action}`.
 */
const lsId = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);
export const webhookBodySchema = z.looseObject({
  action: z.string().min(1).max(100),
  task: z.looseObject({ id: lsId }).optional(),
  annotation: z.looseObject({ id: lsId, task: lsId.optional() }).optional(),
  tasks: z.array(z.looseObject({ id: lsId })).optional(),
  annotations: z.array(z.looseObject({ id: lsId })).optional(),
  project: z.looseObject({ id: lsId }).optional(),
});
export type WebhookBody = z.infer<typeof webhookBodySchema>;
