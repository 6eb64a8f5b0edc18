import { datasetIdSchema, datasetSchema, platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';
import { type LaneRoute, platformRoute } from '../../trpc/platform.js';
import { downloadUrlInput, downloadUrlOutput } from '../storage-files/schemas.js';
import {
  batchInput,
  batchOutput,
  DATASET_FIELDS,
  listDatasetsInput,
  listDatasetsOutput,
  permissionOutput,
} from './schemas.js';
import type { DatasetViewField } from './dataset-json.js';
import { toDatasetView } from './service.js';

/** The routes the Platform calls with service-account keys (spec: labeler-dataset-api.md). */
const TAG = 'Datasets';

/** The fields of a list item, in the order they are written. */
export const LIST_ITEM_FIELDS = [
  'id',
  'name',
  'description',
  'format',
  'labeled',
  'num_images',
  'num_classes',
  'visibility',
  'owner_id',
  'storage_type',
  'created_at',
] as const satisfies readonly DatasetViewField[];

export const getDatasetRoute = platformRoute({
  scope: 'datasets:read',
  openapi: {
    method: 'GET',
    path: '/datasets/{dataset_id}',
    tags: [TAG],
    summary: 'Get one dataset',
    errorResponses: [400, 401, 403, 404, 429],
  },
  input: z.object({ dataset_id: datasetIdSchema }),
  output: datasetSchema,
  run: async (ctx, input) =>
    toDatasetView(await ctx.app.datasets.findVisible(ctx.principal, input.dataset_id, ctx.charge)),
});

export const listDatasetsRoute = platformRoute({
  scope: 'datasets:read',
  openapi: {
    method: 'GET',
    path: '/datasets',
    tags: [TAG],
    summary: 'List datasets with filters',
    errorResponses: [400, 401, 403, 429],
  },
  input: listDatasetsInput,
  output: listDatasetsOutput,
  respond: async (ctx, input) => {
    const page = await ctx.app.datasets.listJson(ctx.principal, input, LIST_ITEM_FIELDS, ctx.charge);
    return `{"total":${page.total},"page":${page.page},"limit":${page.limit},"datasets":[${page.datasets.join(',')}]}`;
  },
});

export const datasetPermissionRoute = platformRoute({
  scope: 'datasets:permissions',
  openapi: {
    method: 'GET',
    path: '/datasets/{dataset_id}/permissions/{user_id}',
    tags: [TAG],
    summary: 'Can this Platform user access the dataset, and why',
    errorResponses: [400, 401, 403, 404, 429],
  },
  input: z.object({ dataset_id: datasetIdSchema, user_id: platformUserIdSchema }),
  output: permissionOutput,
  run: async (ctx, input) => {
    const { dataset, decision } = await ctx.app.datasets.findVisibleWithAccess(
      ctx.principal,
      input.dataset_id,
      input.user_id,
      { charge: ctx.charge },
    );
    return { dataset_id: dataset.id, user_id: input.user_id, ...decision! };
  },
});

export const downloadUrlRoute = platformRoute({
  scope: 'datasets:download',
  openapi: {
    method: 'POST',
    path: '/datasets/{dataset_id}/download-url',
    tags: [TAG],
    summary: 'Presigned download URL of the dataset archive',
    description:
      'Signs the archive of the requested version (default: latest). When that archive is not built yet, answers 202 with the build job (status "building"); poll again after Retry-After. Every issued URL is written to the audit log.',
    errorResponses: [400, 401, 403, 404, 429, 503],
  },
  input: downloadUrlInput,
  output: downloadUrlOutput,
  run: async (ctx, input) => {
    const result = await ctx.app.storageFiles.issueDownloadUrl(ctx.principal, input, {
      requestId: ctx.requestId,
      ip: ctx.ip,
      charge: ctx.charge,
    });
    if (result.status === 'building') {
      ctx.response.status = 202;
      ctx.response.headers['Retry-After'] = String(result.retry_after_seconds);
      ctx.response.headers.Location = `/api/v1/jobs/${result.job_id}`;
    }
    return result;
  },
});

export const batchDatasetsRoute = platformRoute({
  scope: 'datasets:read',
  openapi: {
    method: 'POST',
    path: '/datasets/batch',
    tags: [TAG],
    summary: 'Get up to 50 datasets at once',
    errorResponses: [400, 401, 403, 429],
  },
  input: batchInput,
  output: batchOutput,
  respond: async (ctx, input) => {
    const fields = (input.fields ?? DATASET_FIELDS) as DatasetViewField[];
    const found = await ctx.app.datasets.batchJson(ctx.principal, input.dataset_ids, fields, ctx.charge);
    // Each id once, where it first appears; a missing id is null with an entry in errors.
    const seen = new Set<string>();
    const datasets: string[] = [];
    const errors: string[] = [];
    for (const id of input.dataset_ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const key = JSON.stringify(id);
      const json = found.get(id);
      datasets.push(`${key}:${json ?? 'null'}`);
      if (json === undefined) errors.push(`${key}:"Dataset not found"`);
    }
    return `{"datasets":{${datasets.join(',')}},"errors":{${errors.join(',')}}}`;
  },
});

/** Served by the REST fast lane; literal paths first so "/datasets/batch" never reads as an id. */
export const PLATFORM_LANE_ROUTES: readonly LaneRoute[] = [
  batchDatasetsRoute.lane,
  listDatasetsRoute.lane,
  getDatasetRoute.lane,
  datasetPermissionRoute.lane,
  downloadUrlRoute.lane,
];
