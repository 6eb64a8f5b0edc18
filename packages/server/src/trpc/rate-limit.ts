import { isDatasetId, LabelerError, type Scope } from '@labeler/core';
import {
  type BucketRequest,
  governingState,
  rateLimitHeaders,
  type RateLimitPolicy,
} from '../modules/rate-limits/service.js';
import type { RequestContext } from './context.js';
import { scopedProcedure } from './init.js';

function policies(ctx: RequestContext): { account: RateLimitPolicy; dataset: RateLimitPolicy } {
  const c = ctx.app.config;
  return {
    account: {
      name: 'account',
      limit: c.LABELER_RATE_LIMIT_PER_ACCOUNT,
      windowSeconds: c.LABELER_RATE_LIMIT_WINDOW_SECONDS,
    },
    dataset: {
      name: 'dataset',
      limit: c.LABELER_RATE_LIMIT_PER_DATASET,
      windowSeconds: c.LABELER_RATE_LIMIT_WINDOW_SECONDS,
    },
  };
}

function datasetIdsOf(raw: unknown): { single: string | null; many: string[] } {
  if (!raw || typeof raw !== 'object') return { single: null, many: [] };
  const r = raw as { dataset_id?: unknown; dataset_ids?: unknown };
  const single = typeof r.dataset_id === 'string' && isDatasetId(r.dataset_id) ? r.dataset_id : null;
  const many = Array.isArray(r.dataset_ids)
    ? [
        ...new Set(r.dataset_ids.filter((id): id is string => typeof id === 'string' && isDatasetId(id))),
      ].slice(0, 50)
    : [];
  return { single, many };
}

/**
 * Platform routes: scope check, then one round trip that charges the caller's account bucket and the
 * dataset bucket(s). A single-dataset route answers 429 when either is exhausted; a batch answers 429
 * only for the account, and reports exhausted datasets per id (ctx.rateLimitedDatasetIds).
 */
export function platformProcedure(scope: Scope) {
  return scopedProcedure(scope).use(async ({ ctx, next, getRawInput }) => {
    const { account, dataset } = policies(ctx);
    const { single, many } = datasetIdsOf(await getRawInput().catch(() => null));
    const requests: BucketRequest[] = [{ policy: account, key: ctx.principal.id }];
    if (single) requests.push({ policy: dataset, key: single });
    for (const id of many) requests.push({ policy: dataset, key: id });
    const states = await ctx.app.rateLimits.consume(requests);
    const accountState = states[0]!;
    const datasetStates = states.slice(1);
    const rateLimitedDatasetIds = new Set(
      many.length ? datasetStates.filter((s) => s.exceeded).map((s) => s.key) : [],
    );
    const headerStates = many.length ? [accountState] : states;
    Object.assign(ctx.response.headers, rateLimitHeaders(headerStates));
    const governing = governingState(headerStates)!;
    if (governing.exceeded) {
      ctx.app.metrics.rateLimited.inc({ policy: governing.policy.name });
      if (ctx.principal.kind === 'service_account') ctx.app.serviceAccounts.noteUsage(ctx.principal.id, true);
      throw new LabelerError(
        'RATE_LIMIT_EXCEEDED',
        governing.policy.name === 'dataset'
          ? `Too many requests for dataset ${governing.key}: ${governing.policy.limit} per ${governing.policy.windowSeconds} s. Retry after ${governing.resetSeconds} s.`
          : `Too many requests for this service account: ${governing.policy.limit} per ${governing.policy.windowSeconds} s. Retry after ${governing.resetSeconds} s.`,
        {
          retryAfterSeconds: governing.resetSeconds,
          details: {
            policy: governing.policy.name,
            limit: governing.policy.limit,
            window_seconds: governing.policy.windowSeconds,
            retry_after_seconds: governing.resetSeconds,
            ...(governing.policy.name === 'dataset' ? { dataset_id: governing.key } : {}),
          },
        },
      );
    }
    return next({ ctx: { ...ctx, rateLimitedDatasetIds } });
  });
}
