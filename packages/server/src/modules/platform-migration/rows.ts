import { createHash } from 'node:crypto';
import {
  DATASET_ROLES,
  datasetFormatSchema,
  datasetIdSchema,
  platformUserIdSchema,
  visibilitySchema,
} from '@labeler/core';
import { z } from 'zod';
import { createDatasetInput } from '../datasets/schemas.js';

/**
 * Legacy records → the rows Labeler stores, validated with the same schemas as POST /datasets. A record
 * that does not parse is a bad row with its reason; nothing of it is written.
 */

/** Text arrays arrive as PostgreSQL arrays, JSON (jsonb or a JSON string) or "a|b|c" (CSV). */
const textList = z.preprocess((v) => {
  if (v === null || v === undefined || v === '') return [];
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        return JSON.parse(t);
      } catch {
        return v;
      }
    }
    return t.split('|').map((s) => s.trim());
  }
  return v;
}, z.array(z.string()));

const bool = z.preprocess((v) => {
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (['true', 't', '1', 'yes'].includes(t)) return true;
    if (['false', 'f', '0', 'no', ''].includes(t)) return false;
  }
  return v ?? false;
}, z.boolean());

const emptyToNull = (v: unknown) => (v === '' || v === undefined ? null : v);
const optionalInt = z.preprocess(
  (v) => (v === '' || v === null ? undefined : v),
  z.coerce.number().int().min(0).max(1_000_000_000).optional(),
);
const timestamp = z.preprocess(
  (v) => (v === '' || v === null || v === undefined ? undefined : v),
  z.coerce
    .date()
    .refine((d) => !Number.isNaN(d.getTime()), 'must be a timestamp')
    .optional(),
);

const legacyDataset = z.object({
  id: z.string({ error: 'id is missing' }).pipe(datasetIdSchema),
  name: createDatasetInput.shape.name,
  description: z.preprocess(emptyToNull, createDatasetInput.shape.description.unwrap()),
  format: datasetFormatSchema,
  labeled: bool,
  storage_type: z.preprocess(emptyToNull, z.string().min(1).max(64).nullable()),
  storage_path: z.preprocess(emptyToNull, z.string().min(1).max(255).nullable()),
  annotation_path: z.preprocess(emptyToNull, z.string().max(255).nullable()),
  num_classes: optionalInt,
  num_images: optionalInt,
  class_names: textList.pipe(createDatasetInput.shape.class_names.unwrap()),
  tags: textList.pipe(createDatasetInput.shape.tags.unwrap()),
  visibility: visibilitySchema,
  owner_id: platformUserIdSchema,
  organization: z.preprocess(
    (v) => (v === null || v === undefined || v === '' ? null : String(v)),
    z.string().max(255).nullable(),
  ),
  created_at: timestamp,
  updated_at: timestamp,
});

/** A dataset row as Labeler stores it (the migrated fields). */
export interface DatasetRow {
  id: string;
  organization_id: string | null;
  name: string;
  description: string | null;
  format: string;
  labeled: boolean;
  storage_type: string;
  storage_path: string;
  annotation_path: string | null;
  num_classes: number;
  num_images: number;
  class_names: string[];
  tags: string[];
  visibility: string;
  owner_id: number;
  /** null: the Platform has no timestamp (Labeler's is kept, or now() on create). */
  created_at: string | null;
  updated_at: string | null;
}

export interface PermissionRow {
  dataset_id: string;
  user_id: number;
  role: (typeof DATASET_ROLES)[number];
}

export interface MembershipRow {
  organization_id: string;
  user_id: number;
  role: 'admin' | 'member';
}

export type Parsed<T> = { ok: true; row: T } | { ok: false; reason: string };

function reasonOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid record';
  const field = issue.path.join('.') || 'record';
  return `${field}: ${issue.message}`;
}

/**
 * `organizations` resolves the Platform's organization reference (a Labeler organization id or slug) to
 * the Labeler id; undefined = unknown organization.
 */
export function parseDataset(
  raw: Record<string, unknown>,
  organizations: (ref: string) => string | undefined,
): Parsed<DatasetRow> {
  const parsed = legacyDataset.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  const d = parsed.data;
  let organizationId: string | null = null;
  if (d.organization !== null) {
    const resolved = organizations(d.organization);
    if (!resolved)
      return { ok: false, reason: `organization: unknown organization "${d.organization.slice(0, 80)}"` };
    organizationId = resolved;
  }
  if (d.visibility === 'organization' && !organizationId)
    return { ok: false, reason: 'visibility: "organization" needs an organization' };
  return {
    ok: true,
    row: {
      id: d.id,
      organization_id: organizationId,
      name: d.name,
      description: d.description ?? null,
      format: d.format,
      labeled: d.labeled,
      storage_type: d.storage_type ?? 'r2',
      storage_path: d.storage_path ?? `datasets/${d.id}/`,
      annotation_path: d.annotation_path ?? null,
      num_classes: d.num_classes ?? d.class_names.length,
      num_images: d.num_images ?? 0,
      class_names: d.class_names,
      tags: [...new Set(d.tags)],
      visibility: d.visibility,
      owner_id: d.owner_id,
      created_at: d.created_at?.toISOString() ?? null,
      updated_at: (d.updated_at ?? d.created_at)?.toISOString() ?? null,
    },
  };
}

const roleOf = (roles: Record<string, string>) =>
  z.preprocess((v) => (typeof v === 'string' ? (roles[v] ?? v) : v), z.string());

export function parsePermission(
  raw: Record<string, unknown>,
  roles: Record<string, string>,
): Parsed<PermissionRow> {
  const parsed = z
    .object({
      dataset_id: z.string({ error: 'dataset_id is missing' }).pipe(datasetIdSchema),
      user_id: platformUserIdSchema,
      role: roleOf(roles).pipe(z.enum(DATASET_ROLES)),
    })
    .safeParse(raw);
  return parsed.success ? { ok: true, row: parsed.data } : { ok: false, reason: reasonOf(parsed.error) };
}

export function parseMembership(
  raw: Record<string, unknown>,
  roles: Record<string, string>,
  organizations: (ref: string) => string | undefined,
): Parsed<MembershipRow> {
  const parsed = z
    .object({
      organization: z.coerce.string().min(1),
      user_id: platformUserIdSchema,
      role: roleOf(roles).pipe(z.enum(['admin', 'member'])),
    })
    .safeParse(raw);
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  const organizationId = organizations(parsed.data.organization);
  if (!organizationId)
    return {
      ok: false,
      reason: `organization: unknown organization "${parsed.data.organization.slice(0, 80)}"`,
    };
  return {
    ok: true,
    row: { organization_id: organizationId, user_id: parsed.data.user_id, role: parsed.data.role },
  };
}

/**
 * The migrated fields of a row in a fixed order: what "same" compares and the checksums hash. A legacy
 * row without created_at takes `labelerCreatedAt` (the Platform did not say, so Labeler's stands).
 */
export function canonicalDataset(r: DatasetRow, labelerCreatedAt: string | null = null): string {
  return JSON.stringify([
    r.id,
    r.organization_id,
    r.name,
    r.description,
    r.format,
    r.labeled,
    r.storage_type,
    r.storage_path,
    r.annotation_path,
    r.num_classes,
    r.num_images,
    r.class_names,
    r.tags,
    r.visibility,
    r.owner_id,
    r.created_at ?? labelerCreatedAt,
  ]);
}
export const canonicalPermission = (r: PermissionRow) => JSON.stringify([r.dataset_id, r.user_id, r.role]);
export const canonicalMembership = (r: MembershipRow) =>
  JSON.stringify([r.organization_id, r.user_id, r.role]);

/**
 * An order-independent checksum (sum of each row's first 8 sha256 bytes, mod 2^64), so both sides can be
 * summed batch by batch in whatever order they are read.
 */
export class Checksum {
  count = 0;
  #sum = 0n;
  add(canonical: string): void {
    this.count++;
    this.#sum =
      (this.#sum + createHash('sha256').update(canonical).digest().readBigUInt64BE(0)) & 0xffffffffffffffffn;
  }
  get hex(): string {
    return this.#sum.toString(16).padStart(16, '0');
  }
}
