/** Instance configuration of the Label Studio plugin (validated by the host with `parsePluginConfig`). */
import { secret } from '@labeler/core';
import { z } from 'zod';
import { mountConfigSchema } from './path-mapping.js';

export const labelStudioConfigSchema = z.object({
  url: z
    .string()
    .url()
    .describe('Base URL of Label Studio, e.g. http://labelstudio:8080 (no /api suffix).')
    .transform((value) => value.replace(/\/+$/, '')),
  apiKey: secret(
    z.string().min(1).describe('Legacy token (40 hex) or Personal Access Token (a JWT refresh token).'),
  ),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(900_000)
    .default(60_000)
    .describe('Per-request timeout. Imports of large batches can be slow on big projects.'),
  maxRetries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(4)
    .describe('Retries for idempotent requests on network errors, 5xx and 504.'),
  retryBaseDelayMs: z
    .number()
    .int()
    .min(1)
    .max(60_000)
    .default(250)
    .describe('First backoff delay; doubles per attempt with full jitter.'),
  importBatchSize: z.number().int().min(1).max(1000).default(100).describe('Tasks per import request.'),
  importConcurrency: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(4)
    .describe('Most import requests in flight at once (adaptive mode), or exactly this many (fixed mode).'),
  importConcurrencyMode: z
    .enum(['adaptive', 'fixed'])
    .default('adaptive')
    .describe(
      'adaptive: start with one import request in flight and add more only while Label Studio stays as fast (SQLite serialises writes); fixed: always importConcurrency.',
    ),
  documentRoot: z
    .string()
    .optional()
    .describe(
      "Label Studio's LOCAL_FILES_DOCUMENT_ROOT as seen inside Label Studio; enables the local-files checks of diagnose().",
    ),
  localFilesPrefix: z
    .string()
    .default('/data/local-files/?d=')
    .describe('URL prefix of local-files links in task data.'),
  mount: mountConfigSchema
    .optional()
    .describe(
      'Shared-disk mapping of this Label Studio: tasks of absolute sample paths under host_root then carry local-files URLs instead of Labeler media links.',
    ),
});

export type LabelStudioConfigInput = z.input<typeof labelStudioConfigSchema>;
export type LabelStudioConfig = z.output<typeof labelStudioConfigSchema>;
