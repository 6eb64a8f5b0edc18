import { type FastSql, integerArrayLiteral, textArrayLiteral } from '../../db/fast-sql.js';

export interface RateLimitPolicy {
  /** Policy name used in RateLimit-Policy ("account", "dataset"). */
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface BucketRequest {
  policy: RateLimitPolicy;
  /** e.g. "sa:sa_123" or "ds:ds_abc". */
  key: string;
  cost?: number;
}

export interface BucketState {
  policy: RateLimitPolicy;
  key: string;
  count: number;
  remaining: number;
  /** Seconds until the window resets (relative, as documented in the OpenAPI document). */
  resetSeconds: number;
  exceeded: boolean;
}

const CLEANUP_EVERY_MS = 60_000;

/**
 * Fixed-window counters in PostgreSQL (or PGlite). One prepared INSERT … ON CONFLICT DO UPDATE … RETURNING
 * over unnest()ed arrays consumes every bucket a request touches (the account's, and the dataset's on
 * single-dataset routes) in a single round trip and is atomic per bucket, so any number of server processes on one database
 * enforce one exact limit. The table is UNLOGGED: counters need no crash durability, and skipping the WAL
 * keeps a commit from waiting on a disk flush on every request. Denied requests count too (a client
 * hammering through a 429 stays limited).
 *
 * Why not rate-limiter-flexible: its PostgreSQL store needs a separate `pg` pool, cannot consume two
 * keys in one round trip, and has no PGlite store; this is one short statement.
 */
export class RateLimitService {
  #lastCleanup = 0;

  constructor(
    private readonly sql: FastSql,
    private readonly now: () => number = Date.now,
  ) {}

  async consume(requests: BucketRequest[]): Promise<BucketState[]> {
    if (!requests.length) return [];
    const charge = this.prepare(requests);
    const { text, params } = charge.statement(1);
    return charge.states(await this.sql.query<{ bucket: string; count: number | string }>(text, params));
  }

  /**
   * The charge of `requests` as a statement (one prepared INSERT … ON CONFLICT … RETURNING over unnest()ed
   * arrays), to run alone (consume) or folded into a request's read (readFolding), and the bucket
   * states its returned rows mean.
   */
  prepare(requests: BucketRequest[]): {
    statement(first: number, after?: string): { text: string; params: unknown[] };
    states(rows: ReadonlyArray<{ bucket: unknown; count: unknown }>): BucketState[];
  } {
    const nowSeconds = this.now() / 1000;
    const buckets: string[] = [];
    const windowStarts: number[] = [];
    const costs: number[] = [];
    for (const r of requests) {
      buckets.push(`${r.policy.name}:${r.key}`);
      windowStarts.push(Math.floor(nowSeconds / r.policy.windowSeconds) * r.policy.windowSeconds);
      costs.push(r.cost ?? 1);
    }
    return {
      statement: (first, after) => ({
        text: `insert into "rate_limit_counter" ("bucket", "window_start", "count")
         select * from unnest($${first}::text[], $${first + 1}::bigint[], $${first + 2}::int[]) ${after ? `where ${after}` : ''}
         on conflict ("bucket", "window_start") do update set "count" = "rate_limit_counter"."count" + excluded."count"
         returning "bucket", "count"`,
        params: [textArrayLiteral(buckets), integerArrayLiteral(windowStarts), integerArrayLiteral(costs)],
      }),
      states: (rows) => {
        void this.#cleanup();
        const counts = new Map(rows.map((row) => [String(row.bucket), Number(row.count)]));
        return requests.map((r, i) => {
          const count = counts.get(buckets[i]!) ?? 0;
          const windowStart = windowStarts[i]!;
          return {
            policy: r.policy,
            key: r.key,
            count,
            remaining: Math.max(0, r.policy.limit - count),
            resetSeconds: Math.max(1, Math.ceil(windowStart + r.policy.windowSeconds - nowSeconds)),
            exceeded: count > r.policy.limit,
          };
        });
      },
    };
  }

  async #cleanup(): Promise<void> {
    const now = this.now();
    if (now - this.#lastCleanup < CLEANUP_EVERY_MS) return;
    this.#lastCleanup = now;
    await this.sql
      .query('delete from "rate_limit_counter" where "window_start" < $1', [Math.floor(now / 1000) - 3600])
      .catch(() => undefined);
  }
}

/** The state that governs the response headers: an exceeded bucket, else the one with the least room. */
export function governingState(states: BucketState[]): BucketState | null {
  if (!states.length) return null;
  const exceeded = states.filter((s) => s.exceeded);
  const pool = exceeded.length ? exceeded : states;
  return pool.reduce((a, b) =>
    b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a,
  );
}

/** X-RateLimit-* (Reset = seconds until reset) plus the IETF draft's RateLimit-Policy / RateLimit. */
export function rateLimitHeaders(states: BucketState[]): Record<string, string> {
  const governing = governingState(states);
  if (!governing) return {};
  const byPolicy = new Map<string, BucketState>();
  for (const s of states) {
    const current = byPolicy.get(s.policy.name);
    if (!current || s.remaining < current.remaining) byPolicy.set(s.policy.name, s);
  }
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(governing.policy.limit),
    'X-RateLimit-Remaining': String(governing.remaining),
    'X-RateLimit-Reset': String(governing.resetSeconds),
    'RateLimit-Policy': [...byPolicy.values()]
      .map((s) => `"${s.policy.name}";q=${s.policy.limit};w=${s.policy.windowSeconds}`)
      .join(', '),
    RateLimit: [...byPolicy.values()]
      .map((s) => `"${s.policy.name}";r=${s.remaining};t=${s.resetSeconds}`)
      .join(', '),
  };
  if (governing.exceeded) headers['Retry-After'] = String(governing.resetSeconds);
  return headers;
}
