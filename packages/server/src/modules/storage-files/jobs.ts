import { datasetIdSchema } from '@labeler/core';
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import type { JobDefinition } from '../../jobs/types.js';

const archivePayload = z.object({ dataset_id: datasetIdSchema, version: z.number().int().min(1) });
const adoptPayload = z.object({ dataset_id: datasetIdSchema });

/** Long storage work runs on the `storage` queue (its own long timeout). */
export function storageFileJobs(app: () => AppServices): JobDefinition[] {
  const archive: JobDefinition<z.infer<typeof archivePayload>> = {
    kind: 'dataset.archive',
    queue: 'storage',
    payloadSchema: archivePayload,
    maxAttempts: 3,
    dedupKey: (p) => `dataset.archive:${p.dataset_id}:v${p.version}`,
    run: (ctx) =>
      app().storageFiles.buildArchive(ctx.payload.dataset_id, ctx.payload.version, {
        signal: ctx.signal,
        onProgress: (done, total, message) => ctx.progress(done, total, message),
      }),
    onFailure: (ctx) => app().storageFiles.markArchiveFailed(ctx.payload.dataset_id, ctx.payload.version),
  };
  const adopt: JobDefinition<z.infer<typeof adoptPayload>> = {
    kind: 'dataset.adopt-files',
    queue: 'storage',
    payloadSchema: adoptPayload,
    dedupKey: (p) => `dataset.adopt-files:${p.dataset_id}`,
    run: async (ctx) => {
      const result = await app().storageFiles.adoptExisting(ctx.payload.dataset_id, null, {
        signal: ctx.signal,
        onProgress: (done, message) => void ctx.progress(done, null, message),
      });
      return { adopted: result.adopted, version: result.version.version };
    },
  };
  return [archive as JobDefinition, adopt as JobDefinition];
}
