import { datasetIdSchema, platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';

export const downloadUrlInput = z.object({
  dataset_id: datasetIdSchema,
  /** The Platform user the URL is for; their access is checked (403 ACCESS_DENIED when they have none). */
  user_id: platformUserIdSchema.optional(),
  expiration_seconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  purpose: z.string().trim().min(1).max(200).optional(),
  version: z.number().int().min(1).optional(),
});
export type DownloadUrlInput = z.infer<typeof downloadUrlInput>;

export const downloadUrlReady = z.object({
  status: z.literal('ready'),
  dataset_id: z.string(),
  download_url: z.string(),
  expires_at: z.string(),
  format: z.literal('zip'),
  size_bytes: z.number(),
  manifest: z.object({ images: z.string(), annotations: z.string().nullable(), readme: z.string() }),
  version: z.number().int(),
  content_hash: z.string(),
});

export const downloadUrlBuilding = z.object({
  status: z.literal('building'),
  dataset_id: z.string(),
  version: z.number().int(),
  job_id: z.string(),
  retry_after_seconds: z.number().int(),
  message: z.string(),
});

export const downloadUrlOutput = z.discriminatedUnion('status', [downloadUrlReady, downloadUrlBuilding]);
export type DownloadUrlOutput = z.infer<typeof downloadUrlOutput>;
