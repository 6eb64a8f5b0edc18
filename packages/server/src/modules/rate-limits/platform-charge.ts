import { isDatasetId, LabelerError, type Principal } from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import type { FoldableWrite } from '../../db/fast-sql.js';
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

/** The dataset a single-dataset request names, read from its raw (not yet validated) input. */
function datasetIdOf(raw: unknown): string | null {
  if (!raw || typeof raw !== 'object') return null;
  const id = (raw as { dataset_id?: unknown }).dataset_id;
  return typeof id === 'string' && isDatasetId(id) ? id : null;
}

/**
 * The rate-limit charge of one Platform request: the caller's account bucket, and the bucket of the
 * dataset a single-dataset route names. A batch is one request: it draws on the account only, not on
 * the budgets of the datasets it names (polling 50 datasets through one batch must not use up 50
 * datasets' budgets for every other caller; the account limit bounds it).
 *
 * The charge is a FoldableWrite: the REST fast lane lets it ride along with the route's first read
 * (db/fast-sql.ts readFolding), and makes it alone when no read took it (`settleAlone`), so every
 * request is charged exactly once, whatever it answers. It is planned from the raw input, before
 * validation, so a malformed request still counts against the account. When a bucket is exhausted,
 * `settle` throws RATE_LIMIT_EXCEEDED; the X-RateLimit-* headers are set either way.
 */
export class PlatformCharge implements FoldableWrite {
  #pending = true;
  readonly #prepared: ReturnType<AppServices['rateLimits']['prepare']>;

  constructor(
    private readonly app: AppServices,
    private readonly principal: Principal,
    rawInput: unknown,
    private readonly headers: Record<string, string>,
  ) {
    const { account, dataset } = policies(app);
    const requests: BucketRequest[] = [{ policy: account, key: principal.id }];
    const datasetId = datasetIdOf(rawInput);
    if (datasetId) requests.push({ policy: dataset, key: datasetId });
    this.#prepared = app.rateLimits.prepare(requests);
  }

  get pending(): boolean {
    return this.#pending;
  }

  statement(first: number, after?: string): { text: string; params: unknown[] } {
    return this.#prepared.statement(first, after);
  }

  settle(rows: Record<string, unknown>[]): void {
    this.#pending = false;
    const states = this.#prepared.states(rows as Array<{ bucket: unknown; count: unknown }>);
    Object.assign(this.headers, rateLimitHeaders(states));
    const governing = governingState(states)!;
    if (!governing.exceeded) return;
    const { app, principal } = this;
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

  /** Charges in a round trip of its own, if no read has taken the charge. */
  async settleAlone(): Promise<void> {
    if (!this.#pending) return;
    const { text, params } = this.statement(1);
    this.settle(await this.app.sql.query<Record<string, unknown>>(text, params));
  }
}

/** Charges a Platform request at once (the tRPC path); see PlatformCharge. */
export async function chargePlatformRequest(
  app: AppServices,
  principal: Principal,
  rawInput: unknown,
  headers: Record<string, string>,
): Promise<void> {
  await new PlatformCharge(app, principal, rawInput, headers).settleAlone();
}
