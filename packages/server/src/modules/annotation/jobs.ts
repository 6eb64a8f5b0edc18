/** Job definitions of the annotation module; one import/pull at a time per project (dedup keys). */
import { projectIdSchema } from '@labeler/core';
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import type { JobDefinition } from '../../jobs/types.js';
import { IMPORT_JOB, PULL_JOB, SYNC_TASK_JOB } from './job-kinds.js';

const importPayload = z.object({
  project_id: projectIdSchema,
  batch_size: z.number().int().min(1).max(1000).optional(),
});
const pullPayload = z.object({ project_id: projectIdSchema });
const syncTaskPayload = z.object({
  project_id: projectIdSchema,
  task_id: z.string().min(1).max(64),
  source: z.enum(['webhook', 'sync-one']),
});

export function annotationJobs(app: () => AppServices): JobDefinition[] {
  const importJob: JobDefinition<z.infer<typeof importPayload>> = {
    kind: IMPORT_JOB,
    queue: 'default',
    payloadSchema: importPayload,
    timeoutSeconds: 6 * 3600,
    maxAttempts: 3,
    dedupKey: (p) => `${IMPORT_JOB}:${p.project_id}`,
    run: (ctx) =>
      app().annotation.runImport(ctx.payload.project_id, {
        batchSize: ctx.payload.batch_size,
        signal: ctx.signal,
        progress: (d, t, m) => ctx.progress(d, t, m),
      }),
    onFailure: (ctx, error) => app().annotation.markFailed(ctx.payload.project_id, 'import', error),
  };
  const pullJob: JobDefinition<z.infer<typeof pullPayload>> = {
    kind: PULL_JOB,
    queue: 'default',
    payloadSchema: pullPayload,
    timeoutSeconds: 3 * 3600,
    maxAttempts: 3,
    dedupKey: (p) => `${PULL_JOB}:${p.project_id}`,
    run: (ctx) =>
      app().annotation.runPull(ctx.payload.project_id, {
        signal: ctx.signal,
        progress: (d, t, m) => ctx.progress(d, t, m),
      }),
    onFailure: (ctx, error) => app().annotation.markFailed(ctx.payload.project_id, 'pull', error),
  };
  // Webhook follow-ups are small and latency-sensitive.
  const syncTaskJob: JobDefinition<z.infer<typeof syncTaskPayload>> = {
    kind: SYNC_TASK_JOB,
    queue: 'high',
    payloadSchema: syncTaskPayload,
    timeoutSeconds: 120,
    maxAttempts: 5,
    dedupKey: (p) => `${SYNC_TASK_JOB}:${p.project_id}:${p.task_id}`,
    run: (ctx) => app().annotation.syncOne(ctx.payload.project_id, ctx.payload.task_id, ctx.payload.source),
  };
  return [importJob as JobDefinition, pullJob as JobDefinition, syncTaskJob as JobDefinition];
}
