import { datasetIdSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, authedProcedure, router } from '../../trpc/init.js';

export const filesRouter = router({
  list: authedProcedure
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
  /** Starts a job that records objects already under datasets/{id}/ in the dataset's storage. */
  adoptExisting: adminProcedure
    .input(z.object({ dataset_id: datasetIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getVisible(ctx.principal, input.dataset_id);
      return ctx.app.jobs.startJob(
        'dataset.adopt-files',
        { dataset_id: input.dataset_id },
        { createdBy: ctx.principal.id },
      );
    }),
  buildArchive: adminProcedure
    .input(z.object({ dataset_id: datasetIdSchema, version: z.number().int().min(1).optional() }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getVisible(ctx.principal, input.dataset_id);
      const version = await ctx.app.datasets.getVersion(input.dataset_id, input.version);
      return ctx.app.storageFiles.startArchiveBuild(input.dataset_id, version.version, ctx.principal.id);
    }),
});
