import { isDatasetId, LabelerError, type Principal } from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import { type BucketRequest, governingState, rateLimitHeaders, type RateLimitPolicy } from './service.js';

function policies(app: AppServices): { account: RateLimitPolicy; dataset: RateLimitPolicy } {
  const c = app.config;
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

/** The dataset ids a request names, read from its raw (not yet validated) input. */
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
 * Charges a Platform request in one round trip: the caller's account bucket and the bucket of each
 * dataset it names. Rate-limit headers are added to `headers` either way. A single-dataset route fails
 * with RATE_LIMIT_EXCEEDED when either bucket is exhausted; a batch fails only for the account and
 * returns the exhausted dataset ids, which it answers per id. Runs before input validation, so a
 * malformed request still counts against the account.
 */
export async function chargePlatformRequest(
  app: AppServices,
  principal: Principal,
  rawInput: unknown,
  headers: Record<string, string>,
): Promise<Set<string>> {
  const { account, dataset } = policies(app);
  const { single, many } = datasetIdsOf(rawInput);
  const requests: BucketRequest[] = [{ policy: account, key: principal.id }];
  if (single) requests.push({ policy: dataset, key: single });
  for (const id of many) requests.push({ policy: dataset, key: id });
  const states = await app.rateLimits.consume(requests);
  const accountState = states[0]!;
  const datasetStates = states.slice(1);
  const rateLimitedDatasetIds = new Set(
    many.length ? datasetStates.filter((s) => s.exceeded).map((s) => s.key) : [],
  );
  const headerStates = many.length ? [accountState] : states;
  Object.assign(headers, rateLimitHeaders(headerStates));
  const governing = governingState(headerStates)!;
  if (governing.exceeded) {
    app.metrics.rateLimited.inc({ policy: governing.policy.name });
    if (principal.kind === 'service_account') app.serviceAccounts.noteUsage(principal.id, true);
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
  return rateLimitedDatasetIds;
}
