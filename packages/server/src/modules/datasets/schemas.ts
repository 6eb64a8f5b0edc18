import {
  DATASET_ROLES,
  datasetFormatSchema,
  datasetIdSchema,
  datasetSchema,
  PERMISSION_REASONS,
  platformUserIdSchema,
  visibilitySchema,
} from '@labeler/core';
import { z } from 'zod';

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Text without control characters (PostgreSQL cannot store NUL; the rest are never legitimate here). */
const text = () => z.string().refine((v) => !CONTROL.test(v), 'must not contain control characters');

/** Query-string booleans: only "true"/"false" (and 1/0); anything else is a 400, not silently false. */
const queryBoolean = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

const TAG = text().pipe(z.string().trim().min(1).max(64));

export const listDatasetsInput = z.object({
  user_id: platformUserIdSchema.optional().describe('Only datasets owned by this Platform user'),
  visibility: visibilitySchema.optional(),
  labeled: queryBoolean.optional(),
  tags: z
    .string()
    .max(1000)
    .optional()
    .describe('Comma-separated; a dataset must carry every tag')
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      if (CONTROL.test(value))
        ctx.addIssue({ code: 'custom', message: 'must not contain control characters' });
      const tags = value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      for (const tag of tags) {
        if (!TAG.safeParse(tag).success)
          ctx.addIssue({ code: 'custom', message: `tag "${tag.slice(0, 80)}" must be 1-64 characters` });
      }
      if (tags.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 tags' });
      return tags;
    }),
  format: datasetFormatSchema.optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  search: text()
    .pipe(z.string().trim().max(200))
    .optional()
    .describe('Case-insensitive substring of the name (console)'),
});
export type ListDatasetsInput = z.infer<typeof listDatasetsInput>;

export const datasetListItemSchema = datasetSchema.pick({
  id: true,
  name: true,
  description: true,
  format: true,
  labeled: true,
  num_images: true,
  num_classes: true,
  visibility: true,
  owner_id: true,
  storage_type: true,
  created_at: true,
});

export const listDatasetsOutput = z.object({
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
  datasets: z.array(datasetListItemSchema),
});

export const DATASET_FIELDS = Object.keys(datasetSchema.shape) as Array<keyof typeof datasetSchema.shape>;

export const batchInput = z.object({
  dataset_ids: z.array(datasetIdSchema).min(1).max(50),
  fields: z
    .array(z.enum(DATASET_FIELDS as [string, ...string[]]))
    .min(1)
    .max(DATASET_FIELDS.length)
    .optional(),
});

export const batchOutput = z.object({
  datasets: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()),
  errors: z.record(z.string(), z.string()),
});

export const permissionOutput = z.object({
  dataset_id: z.string(),
  user_id: z.number().int(),
  has_access: z.boolean(),
  role: z.enum(DATASET_ROLES).nullable(),
  reason: z.enum(PERMISSION_REASONS),
});

const name = text().pipe(z.string().trim().min(1).max(200));
const description = z
  .string()
  .max(5000)
  .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
  .nullable();
const classNames = z.array(text().pipe(z.string().trim().min(1).max(200))).max(10_000);
const tags = z.array(TAG).max(50);

export const createDatasetInput = z.object({
  id: datasetIdSchema
    .optional()
    .describe(
      "Keep this id (the Platform's legacy dataset id): platform-wide admins only; an id that exists is 409 DATASET_ALREADY_EXISTS",
    ),
  name,
  description: description.optional(),
  format: datasetFormatSchema,
  labeled: z.boolean().default(false),
  class_names: classNames.default([]),
  tags: tags.default([]),
  visibility: visibilitySchema.default('private'),
  owner_id: platformUserIdSchema,
  organization_id: z.string().max(64).nullable().optional(),
  annotation_path: z.string().max(1024).nullable().optional(),
  num_images: z.number().int().min(0).max(1_000_000_000).optional(),
  storage_instance_id: z.string().max(64).nullable().optional(),
});

export const updateDatasetInput = z.object({
  dataset_id: datasetIdSchema,
  name: name.optional(),
  description: description.optional(),
  format: datasetFormatSchema.optional(),
  labeled: z.boolean().optional(),
  class_names: classNames.optional(),
  tags: tags.optional(),
  visibility: visibilitySchema.optional(),
  owner_id: platformUserIdSchema.optional(),
  organization_id: z.string().max(64).nullable().optional(),
  annotation_path: z.string().max(1024).nullable().optional(),
  num_images: z.number().int().min(0).max(1_000_000_000).optional(),
});

export const datasetVersionSchema = z.object({
  id: z.string(),
  dataset_id: z.string(),
  version: z.number().int(),
  content_hash: z.string(),
  annotation_path: z.string().nullable(),
  num_images: z.number().int(),
  num_classes: z.number().int(),
  class_names: z.array(z.string()),
  file_count: z.number().int(),
  total_bytes: z.number(),
  note: z.string().nullable(),
  archive: z.object({
    status: z.enum(['none', 'building', 'ready', 'failed']),
    size_bytes: z.number().nullable(),
    content_hash: z.string().nullable(),
    job_id: z.string().nullable(),
  }),
  created_at: z.string(),
});
export type DatasetVersionView = z.infer<typeof datasetVersionSchema>;
