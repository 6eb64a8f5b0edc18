import { DATASET_ROLES, datasetIdSchema, datasetSchema, platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';
import { router, scopedProcedure } from '../../trpc/init.js';
import { platformMutation, platformQuery } from '../../trpc/platform.js';
import {
  batchDatasetsRoute,
  datasetPermissionRoute,
  downloadUrlRoute,
  getDatasetRoute,
  listDatasetsRoute,
} from './platform-routes.js';
import { createDatasetInput, datasetVersionSchema, updateDatasetInput } from './schemas.js';
import { assertOwnOrganization } from '../organizations/tenancy.js';
import type { DatasetPermission } from '../permissions/entities.js';
import { toDatasetView, toVersionView } from './service.js';

const TAG = 'Datasets';
const byId = z.object({ dataset_id: datasetIdSchema });
const byUser = byId.extend({ user_id: platformUserIdSchema });

const permissionView = z.object({
  dataset_id: z.string(),
  user_id: z.number().int(),
  role: z.enum(DATASET_ROLES),
  granted_by: z.string().nullable().describe('The principal that set this role'),
  created_at: z.string(),
});

function toPermissionView(p: DatasetPermission): z.infer<typeof permissionView> {
  return {
    dataset_id: p.datasetId,
    user_id: p.userId,
    role: p.role,
    granted_by: p.grantedBy ?? null,
    created_at: p.createdAt.toISOString(),
  };
}

export const datasetsRouter = router({
  get: platformQuery(getDatasetRoute),
  list: platformQuery(listDatasetsRoute),
  permission: platformQuery(datasetPermissionRoute),
  downloadUrl: platformMutation(downloadUrlRoute),
  batch: platformMutation(batchDatasetsRoute),

  create: scopedProcedure('datasets:write')
    .meta({
      openapi: {
        method: 'POST',
        path: '/datasets',
        tags: [TAG],
        summary: 'Register a dataset (admins and TypeScript clients)',
        description:
          "An organization's key creates datasets in its own organization only (another organization_id → 403 ACCESS_DENIED); an unknown organization_id is 404 NOT_FOUND. `id` keeps a chosen id (the Platform's legacy ids): platform-wide admins only (others → 403 ACCESS_DENIED); a taken id → 409 DATASET_ALREADY_EXISTS.",
        errorResponses: [400, 401, 403, 404, 409],
      },
    })
    .input(createDatasetInput)
    .output(datasetSchema)
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      if (input.organization_id) await ctx.app.organizations.requireExists(input.organization_id);
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
        description:
          "Writable by the dataset's organization's admins and datasets:write keys, and by platform-wide principals. Another organization's key gets 404 DATASET_NOT_FOUND (private) or 403 ACCESS_DENIED (public). Changing organization_id is a platform-wide admin action.",
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(updateDatasetInput)
    .output(datasetSchema)
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      if (input.organization_id) await ctx.app.organizations.requireExists(input.organization_id);
      return toDatasetView(await ctx.app.datasets.update(input, ctx.principal, { requestId: ctx.requestId }));
    }),

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
      const version = await ctx.app.datasets.createVersion(
        input.dataset_id,
        ctx.principal,
        input.note ?? null,
        undefined,
        ctx.principal,
      );
      ctx.response.status = 201;
      return toVersionView(version);
    }),

  // Explicit permissions: REST for the Platform, the same procedures for the console.
  permissionsList: scopedProcedure('datasets:permissions')
    .meta({
      openapi: {
        method: 'GET',
        path: '/datasets/{dataset_id}/permissions',
        tags: [TAG],
        summary: "A dataset's explicit permissions, oldest first",
        description:
          'Any dataset the key can see (404 DATASET_NOT_FOUND otherwise). Owner, organization and public access are not listed: ask GET /datasets/{dataset_id}/permissions/{user_id}.',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(z.object({ permissions: z.array(permissionView.omit({ dataset_id: true })) }))
    .query(async ({ ctx, input }) => ({
      permissions: await ctx.app.datasets.listPermissions(ctx.principal, input.dataset_id),
    })),
  grant: scopedProcedure('permissions:write')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/datasets/{dataset_id}/permissions/{user_id}',
        tags: [TAG],
        summary: "Set a Platform user's explicit role on a dataset",
        description:
          "Idempotent: repeating it changes nothing and answers the same. Needs permissions:write under the dataset write rule (the dataset's organization's keys and admins, platform-wide keys); another organization's dataset is 404 DATASET_NOT_FOUND (private) or 403 ACCESS_DENIED (public). Audited when the role changes.",
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byUser.extend({ role: z.enum(DATASET_ROLES) }))
    .output(permissionView)
    .mutation(async ({ ctx, input }) => {
      const p = await ctx.app.datasets.grant(input.dataset_id, input.user_id, input.role, ctx.principal, {
        requestId: ctx.requestId,
      });
      return toPermissionView(p);
    }),
  revokePermission: scopedProcedure('permissions:write')
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/datasets/{dataset_id}/permissions/{user_id}',
        tags: [TAG],
        summary: "Remove a Platform user's explicit permission on a dataset",
        description:
          'Idempotent: 200 with removed false when there was none. Same authorization as the PUT; audited when a permission was removed.',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byUser)
    .output(z.object({ dataset_id: z.string(), user_id: z.number().int(), removed: z.boolean() }))
    .mutation(async ({ ctx, input }) => ({
      dataset_id: input.dataset_id,
      user_id: input.user_id,
      removed: await ctx.app.datasets.revokePermission(input.dataset_id, input.user_id, ctx.principal, {
        requestId: ctx.requestId,
      }),
    })),
});
