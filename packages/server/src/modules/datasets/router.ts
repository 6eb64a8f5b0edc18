import { DATASET_ROLES, datasetIdSchema, datasetSchema, platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, authedProcedure, router, scopedProcedure } from '../../trpc/init.js';
import { platformProcedure } from '../../trpc/rate-limit.js';
import { downloadUrlInput, downloadUrlOutput } from '../storage-files/schemas.js';
import {
  batchInput,
  batchOutput,
  createDatasetInput,
  DATASET_FIELDS,
  datasetVersionSchema,
  listDatasetsInput,
  listDatasetsOutput,
  permissionOutput,
  updateDatasetInput,
} from './schemas.js';
import { toDatasetView, toVersionView } from './service.js';

const TAG = 'Datasets';
const byId = z.object({ dataset_id: datasetIdSchema });

export const datasetsRouter = router({
  get: platformProcedure('datasets:read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/datasets/{dataset_id}',
        tags: [TAG],
        summary: 'Get one dataset',
        errorResponses: [400, 401, 403, 404, 429],
      },
    })
    .input(byId)
    .output(datasetSchema)
    .query(async ({ ctx, input }) =>
      toDatasetView(await ctx.app.datasets.findVisible(ctx.principal, input.dataset_id)),
    ),

  list: platformProcedure('datasets:read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/datasets',
        tags: [TAG],
        summary: 'List datasets with filters',
        errorResponses: [400, 401, 403, 429],
      },
    })
    .input(listDatasetsInput)
    .output(listDatasetsOutput)
    .query(async ({ ctx, input }) => {
      const page = await ctx.app.datasets.list(ctx.principal, input);
      return {
        total: page.total,
        page: page.page,
        limit: page.limit,
        datasets: page.datasets.map((d) => {
          const v = toDatasetView(d);
          return {
            id: v.id,
            name: v.name,
            description: v.description,
            format: v.format,
            labeled: v.labeled,
            num_images: v.num_images,
            num_classes: v.num_classes,
            visibility: v.visibility,
            owner_id: v.owner_id,
            storage_type: v.storage_type,
            created_at: v.created_at,
          };
        }),
      };
    }),

  permission: platformProcedure('datasets:permissions')
    .meta({
      openapi: {
        method: 'GET',
        path: '/datasets/{dataset_id}/permissions/{user_id}',
        tags: [TAG],
        summary: 'Can this Platform user access the dataset, and why',
        errorResponses: [400, 401, 403, 404, 429],
      },
    })
    .input(z.object({ dataset_id: datasetIdSchema, user_id: platformUserIdSchema }))
    .output(permissionOutput)
    .query(async ({ ctx, input }) => {
      const dataset = await ctx.app.datasets.findVisible(ctx.principal, input.dataset_id);
      const decision = await ctx.app.datasets.checkAccess(dataset, input.user_id);
      return { dataset_id: dataset.id, user_id: input.user_id, ...decision };
    }),

  downloadUrl: platformProcedure('datasets:download')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets/{dataset_id}/download-url',
        tags: [TAG],
        summary: 'Presigned download URL of the dataset archive',
        description:
          'Signs the archive of the requested version (default: latest). When that archive is not built yet, answers 202 with the build job (status "building"); poll again after Retry-After. Every issued URL is written to the audit log.',
        errorResponses: [400, 401, 403, 404, 429, 503],
      },
    })
    .input(downloadUrlInput)
    .output(downloadUrlOutput)
    .mutation(async ({ ctx, input }) => {
      const result = await ctx.app.storageFiles.issueDownloadUrl(ctx.principal, input, {
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
      if (result.status === 'building') {
        ctx.response.status = 202;
        ctx.response.headers['Retry-After'] = String(result.retry_after_seconds);
        ctx.response.headers.Location = `/api/v1/jobs/${result.job_id}`;
      }
      return result;
    }),

  batch: platformProcedure('datasets:read')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets/batch',
        tags: [TAG],
        summary: 'Get up to 50 datasets at once',
        errorResponses: [400, 401, 403, 429],
      },
    })
    .input(batchInput)
    .output(batchOutput)
    .mutation(async ({ ctx, input }) => {
      const found = await ctx.app.datasets.batch(ctx.principal, input.dataset_ids);
      const fields = input.fields ?? DATASET_FIELDS;
      const datasets: Record<string, Record<string, unknown> | null> = {};
      const errors: Record<string, string> = {};
      for (const id of input.dataset_ids) {
        const dataset = found.get(id);
        if (ctx.rateLimitedDatasetIds.has(id)) {
          datasets[id] = null;
          errors[id] = 'Rate limit exceeded';
        } else if (!dataset) {
          datasets[id] = null;
          errors[id] = 'Dataset not found';
        } else {
          const view = toDatasetView(dataset) as Record<string, unknown>;
          datasets[id] = Object.fromEntries(fields.map((f) => [f, view[f]]));
        }
      }
      return { datasets, errors };
    }),

  create: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets',
        tags: [TAG],
        summary: 'Register a dataset (admins and TypeScript clients)',
        errorResponses: [400, 401, 403, 409],
      },
    })
    .input(createDatasetInput)
    .output(datasetSchema)
    .mutation(async ({ ctx, input }) => {
      const storage = await ctx.app.storageFiles.resolveStorageFor(input.storage_instance_id ?? null);
      const dataset = await ctx.app.datasets.create(input, ctx.principal, storage, {
        requestId: ctx.requestId,
      });
      ctx.response.status = 201;
      return toDatasetView(dataset);
    }),

  update: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/datasets/{dataset_id}',
        tags: [TAG],
        summary: 'Update dataset metadata',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(updateDatasetInput)
    .output(datasetSchema)
    .mutation(async ({ ctx, input }) =>
      toDatasetView(await ctx.app.datasets.update(input, ctx.principal, { requestId: ctx.requestId })),
    ),

  delete: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/datasets/{dataset_id}',
        tags: [TAG],
        summary: 'Soft-delete a dataset',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(z.object({ id: z.string(), deleted: z.literal(true), deleted_at: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const dataset = await ctx.app.datasets.softDelete(input.dataset_id, ctx.principal, {
        requestId: ctx.requestId,
      });
      return { id: dataset.id, deleted: true as const, deleted_at: dataset.deletedAt!.toISOString() };
    }),

  versions: scopedProcedure('datasets:read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/datasets/{dataset_id}/versions',
        tags: [TAG],
        summary: 'Immutable versions of a dataset, newest first',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(z.object({ versions: z.array(datasetVersionSchema) }))
    .query(async ({ ctx, input }) => ({
      versions: (await ctx.app.datasets.listVersions(ctx.principal, input.dataset_id)).map(toVersionView),
    })),

  createVersion: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets/{dataset_id}/versions',
        tags: [TAG],
        summary: 'Snapshot the current files as a new immutable version',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(z.object({ dataset_id: datasetIdSchema, note: z.string().max(1000).optional() }))
    .output(datasetVersionSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.app.datasets.getVisible(ctx.principal, input.dataset_id);
      ctx.response.status = 201;
      return toVersionView(
        await ctx.app.datasets.createVersion(input.dataset_id, ctx.principal, input.note ?? null),
      );
    }),

  // Console-only procedures (no REST path).
  permissionsList: authedProcedure.input(byId).query(async ({ ctx, input }) => ({
    permissions: await ctx.app.datasets.listPermissions(ctx.principal, input.dataset_id),
  })),
  grant: adminProcedure
    .input(
      z.object({ dataset_id: datasetIdSchema, user_id: platformUserIdSchema, role: z.enum(DATASET_ROLES) }),
    )
    .mutation(async ({ ctx, input }) => {
      const p = await ctx.app.datasets.grant(input.dataset_id, input.user_id, input.role, ctx.principal);
      return { user_id: p.userId, role: p.role };
    }),
  revokePermission: adminProcedure
    .input(z.object({ dataset_id: datasetIdSchema, user_id: platformUserIdSchema }))
    .mutation(async ({ ctx, input }) => ({
      removed: await ctx.app.datasets.revokePermission(input.dataset_id, input.user_id, ctx.principal),
    })),
});
