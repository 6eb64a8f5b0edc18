import { datasetIdSchema, jobSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, router, scopedProcedure } from '../../trpc/init.js';

export const filesRouter = router({
  list: scopedProcedure('datasets:read')
    .input(
      z.object({
        dataset_id: datasetIdSchema,
        limit: z.number().int().min(1).max(500).default(100),
        offset: z.number().int().min(0).default(0),
      }),
    )
    .query(({ ctx, input }) =>
      ctx.app.storageFiles.listCurrentFiles(ctx.principal, input.dataset_id, {
        limit: input.limit,
        offset: input.offset,
      }),
    ),
  /** Presigned PUT URLs for files to add to a dataset; then call complete. */
  requestUploads: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets/{dataset_id}/uploads',
        tags: ['Dataset files'],
        summary: 'Presigned upload URLs for dataset files',
        description:
          'PUT each file to its upload_url with the given headers, then POST /datasets/{dataset_id}/uploads/complete.',
        errorResponses: [400, 401, 403, 404, 501, 503],
      },
    })
    .input(
      z.object({
        dataset_id: datasetIdSchema,
        files: z
          .array(
            z.object({ path: z.string().min(1).max(1024), content_type: z.string().max(200).optional() }),
          )
          .min(1)
          .max(1000),
        expiration_seconds: z
          .number()
          .int()
          .min(60)
          .max(7 * 24 * 3600)
          .default(3600),
      }),
    )
    .output(
      z.object({
        dataset_id: z.string(),
        uploads: z.array(
          z.object({
            path: z.string(),
            method: z.literal('PUT'),
            upload_url: z.string(),
            headers: z.record(z.string(), z.string()),
            expires_at: z.string(),
          }),
        ),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.app.storageFiles.requestUploads(
        ctx.principal,
        input.dataset_id,
        input.files,
        input.expiration_seconds,
      ),
    ),
  /** Records the uploaded files (sha256, size) and snapshots a new version, as a job. */
  completeUploads: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets/{dataset_id}/uploads/complete',
        tags: ['Dataset files'],
        summary: 'Record uploaded files as a new dataset version (a job)',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(z.object({ dataset_id: datasetIdSchema }))
    .output(z.object({ job: jobSchema, deduplicated: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getWritable(ctx.principal, input.dataset_id);
      const started = await ctx.app.jobs.startJob(
        'dataset.adopt-files',
        { dataset_id: input.dataset_id },
        { createdBy: ctx.principal.id },
      );
      ctx.response.status = 202;
      ctx.response.headers.Location = `/api/v1/jobs/${started.job.id}`;
      return started;
    }),
  /** Starts a job that records objects already under datasets/{id}/ in the dataset's storage. */
  adoptExisting: adminProcedure
    .input(z.object({ dataset_id: datasetIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getWritable(ctx.principal, input.dataset_id);
      return ctx.app.jobs.startJob(
        'dataset.adopt-files',
        { dataset_id: input.dataset_id },
        { createdBy: ctx.principal.id },
      );
    }),
  buildArchive: adminProcedure
    .input(z.object({ dataset_id: datasetIdSchema, version: z.number().int().min(1).optional() }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getWritable(ctx.principal, input.dataset_id);
      const version = await ctx.app.datasets.getVersion(input.dataset_id, input.version);
      return ctx.app.storageFiles.startArchiveBuild(input.dataset_id, version.version, ctx.principal.id);
    }),
});
