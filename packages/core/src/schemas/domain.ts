import { z } from 'zod';
import { datasetIdSchema } from './ids.js';
import { labelValueSchema } from './labels.js';

export const DATASET_FORMATS = ['coco', 'yolo', 'dice', 'imagefolder'] as const;
export const datasetFormatSchema = z.enum(DATASET_FORMATS);
export type DatasetFormat = z.infer<typeof datasetFormatSchema>;

export const VISIBILITIES = ['public', 'private', 'organization'] as const;
export const visibilitySchema = z.enum(VISIBILITIES);
export type Visibility = z.infer<typeof visibilitySchema>;

export const DATASET_ROLES = ['owner', 'editor', 'viewer'] as const;
export const datasetRoleSchema = z.enum(DATASET_ROLES);
export type DatasetRole = z.infer<typeof datasetRoleSchema>;

export const PERMISSION_REASONS = [
  'owner',
  'public_dataset',
  'organization_member',
  'explicit_permission',
  'no_access',
] as const;
export type PermissionReason = (typeof PERMISSION_REASONS)[number];

const isoDate = z.string().describe('ISO 8601 UTC timestamp');

/** The Dataset as the Platform sees it (spec §2.1.1), field for field. */
export const datasetSchema = z.object({
  id: datasetIdSchema,
  name: z.string(),
  description: z.string().nullable(),
  format: datasetFormatSchema,
  labeled: z.boolean(),
  storage_type: z.string(),
  storage_path: z.string(),
  annotation_path: z.string().nullable(),
  num_classes: z.number().int(),
  num_images: z.number().int(),
  class_names: z.array(z.string()),
  tags: z.array(z.string()),
  visibility: visibilitySchema,
  owner_id: z.number().int(),
  created_at: isoDate,
  updated_at: isoDate,
  version: z.number().int(),
  content_hash: z.string().nullable(),
});
export type Dataset = z.infer<typeof datasetSchema>;

/** A dataset sample: one image with its labels, keyed by a stable sample id. */
export const sampleSchema = z.object({
  /** Stable id; FiftyOne datasets use the 24-hex ObjectId (`fiftyone_id`). */
  id: z.string().min(1).max(128),
  filepath: z.string().min(1),
  tags: z.array(z.string()).default([]),
  metadata: z
    .object({
      width: z.number().int().positive().optional(),
      height: z.number().int().positive().optional(),
      size_bytes: z.number().int().nonnegative().optional(),
      mime_type: z.string().optional(),
    })
    .partial()
    .default({}),
  labels: z.record(z.string(), labelValueSchema.nullable()).default({}),
});
export type Sample = z.infer<typeof sampleSchema>;

export const SERVICE_ACCOUNT_SCOPES = [
  'datasets:read',
  'datasets:download',
  'datasets:permissions',
  'datasets:write',
  /** Grant and revoke explicit dataset permissions (the dataset write rule applies). */
  'permissions:write',
  /** Add and remove organization members. */
  'memberships:write',
  'admin',
] as const;
export const scopeSchema = z.enum(SERVICE_ACCOUNT_SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

export const serviceAccountSchema = z.object({
  id: z.string(),
  name: z.string(),
  key_prefix: z.string(),
  scopes: z.array(scopeSchema),
  created_at: isoDate,
  expires_at: isoDate.nullable(),
  revoked_at: isoDate.nullable(),
  last_used_at: isoDate.nullable(),
  status: z.enum(['active', 'revoked', 'expired']),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export const ORG_ROLES = ['admin', 'member'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** Who is calling: produced by an auth plugin from a request. */
export const principalSchema = z.object({
  kind: z.enum(['service_account', 'admin_user', 'system']),
  id: z.string(),
  name: z.string(),
  organizationId: z.string().nullable(),
  roles: z.array(z.string()),
  scopes: z.array(scopeSchema),
  /** Which auth plugin instance authenticated the request. */
  authenticatedBy: z.string(),
});
export type Principal = z.infer<typeof principalSchema>;

export const JOB_STATES = ['queued', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export const jobStateSchema = z.enum(JOB_STATES);
export type JobState = z.infer<typeof jobStateSchema>;
export const JOB_QUEUES = ['critical', 'high', 'default', 'low', 'storage'] as const;
export type JobQueue = (typeof JOB_QUEUES)[number];

export const jobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  queue: z.enum(JOB_QUEUES),
  state: jobStateSchema,
  dedup_key: z.string().nullable(),
  progress: z.object({ done: z.number(), total: z.number().nullable(), message: z.string().nullable() }),
  attempts: z.number().int(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  created_by: z.string().nullable(),
  created_at: isoDate,
  started_at: isoDate.nullable(),
  finished_at: isoDate.nullable(),
  result: z.unknown().nullable(),
});
export type Job = z.infer<typeof jobSchema>;

export const PROJECT_STATUSES = ['pending', 'ready', 'importing', 'failed', 'archived'] as const;
export const SYNC_STATUSES = ['pending', 'syncing', 'synced', 'failed'] as const;
export const projectSchema = z.object({
  id: z.string(),
  dataset_id: z.string(),
  backend_instance_id: z.string(),
  name: z.string(),
  external_id: z.string().nullable(),
  status: z.enum(PROJECT_STATUSES),
  sync_status: z.enum(SYNC_STATUSES),
  task_count: z.number().int(),
  annotation_count: z.number().int(),
  last_sync_at: isoDate.nullable(),
  created_at: isoDate,
});
export type Project = z.infer<typeof projectSchema>;
