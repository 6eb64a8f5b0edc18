import { readFile } from 'node:fs/promises';
import { LabelerError } from '@labeler/core';
import { z } from 'zod';

/**
 * Where the Platform keeps each field: a table and its columns (a PostgreSQL source), or the field names
 * of a JSONL/CSV record. The defaults are the Platform-shaped schema of docs/platform-migration.md; a
 * mapping file overrides any part of them.
 */
export const DEFAULT_MAPPING = {
  datasets: {
    table: 'datasets',
    columns: {
      id: 'id',
      name: 'name',
      description: 'description',
      format: 'format',
      labeled: 'labeled',
      storage_type: 'storage_type',
      storage_path: 'storage_path',
      annotation_path: 'annotation_path',
      num_classes: 'num_classes',
      num_images: 'num_images',
      class_names: 'class_names',
      tags: 'tags',
      visibility: 'visibility',
      owner_id: 'owner_id',
      organization: 'organization_id',
      created_at: 'created_at',
      updated_at: 'updated_at',
    },
  },
  permissions: {
    table: 'dataset_permissions',
    columns: { dataset_id: 'dataset_id', user_id: 'user_id', role: 'role' },
  },
  invitations: {
    table: 'invitations',
    columns: { dataset_id: 'dataset_id', user_id: 'invitee_id', role: 'role', status: 'status' },
  },
  memberships: {
    table: 'organization_members',
    columns: { organization: 'organization_id', user_id: 'user_id', role: 'role' },
  },
  /** Which invitation statuses count as accepted (→ an explicit permission). */
  accepted_statuses: ['accepted'],
  /** Legacy role → Labeler role; roles not listed must already be Labeler roles. */
  roles: { read: 'viewer', write: 'editor' } as Record<string, string>,
};
export type Mapping = typeof DEFAULT_MAPPING;
export type Kind = 'datasets' | 'permissions' | 'invitations' | 'memberships';
export const KINDS: readonly Kind[] = ['datasets', 'permissions', 'invitations', 'memberships'];

/** SQL identifiers only (the names are interpolated into the source's queries). */
const ident = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, 'must be a SQL identifier');

function tableOverride<C extends Record<string, string>>(columns: C) {
  return z
    .object({
      table: ident.optional(),
      columns: z
        .object(
          Object.fromEntries(Object.keys(columns).map((k) => [k, ident.optional()])) as {
            [K in keyof C]: z.ZodOptional<typeof ident>;
          },
        )
        .strict()
        .optional(),
    })
    .strict()
    .optional();
}

export const mappingFileSchema = z
  .object({
    datasets: tableOverride(DEFAULT_MAPPING.datasets.columns),
    permissions: tableOverride(DEFAULT_MAPPING.permissions.columns),
    invitations: tableOverride(DEFAULT_MAPPING.invitations.columns),
    memberships: tableOverride(DEFAULT_MAPPING.memberships.columns),
    accepted_statuses: z.array(z.string().min(1).max(64)).min(1).max(20).optional(),
    roles: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
  })
  .strict();
export type MappingFile = z.infer<typeof mappingFileSchema>;

export function resolveMapping(file: MappingFile = {}): Mapping {
  const merged = structuredClone(DEFAULT_MAPPING);
  for (const kind of KINDS) {
    const override = file[kind];
    if (!override) continue;
    if (override.table) merged[kind].table = override.table;
    Object.assign(merged[kind].columns, override.columns ?? {});
  }
  if (file.accepted_statuses) merged.accepted_statuses = file.accepted_statuses;
  if (file.roles) Object.assign(merged.roles, file.roles);
  return merged;
}

export async function loadMappingFile(path: string): Promise<Mapping> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new LabelerError(
      'VALIDATION_ERROR',
      `Mapping file ${path} is not readable JSON: ${(error as Error).message}`,
    );
  }
  const parsed = mappingFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new LabelerError('VALIDATION_ERROR', `Mapping file ${path} is invalid`, {
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  return resolveMapping(parsed.data);
}
