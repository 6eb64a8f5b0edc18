/**
 * Rate limits with two server processes on one database (issue 17's two-replica suite): this process and
 * a child process (test/child-server.ts), requests alternated across both. A limit of L per window lets
 * exactly L through, whichever replica and door (REST fast lane, tRPC, replayed Idempotency-Key) they use;
 * the rest are 429 with Retry-After. Prints one summary line with the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { createDataset, createServiceAccount, expectEnvelope } from './helpers.js';

const WINDOW = 3600;
const ACCOUNT_LIMIT = 40;
const DATASET_LIMIT = 25;
const env = {
  LABELER_RATE_LIMIT_PER_ACCOUNT: String(ACCOUNT_LIMIT),
  LABELER_RATE_LIMIT_PER_DATASET: String(DATASET_LIMIT),
  LABELER_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW),
};

let a: TestServer;
let b: ChildServer;
/** Across the suite: requests sent, answers that were not what exact limits give (wrong 200/429 counts, missing Retry-After). */
const totals = { requests: 0, accepted: 0, limited: 0, wrong: 0 };

/** Counts one scenario: exactly `limit` of `results` accepted, the rest 429 with the envelope and Retry-After. */
function tally(results: Array<{ status: number; headers: Headers; body: unknown }>, limit: number) {
  const ok = results.filter((r) => r.status === 200);
  const limited = results.filter((r) => r.status === 429);
  const noRetryAfter = limited.filter((r) => !(Number(r.headers.get('retry-after')) > 0));
  totals.requests += results.length;
  totals.accepted += ok.length;
  totals.limited += limited.length;
  totals.wrong +=
    Math.abs(ok.length - limit) + (results.length - ok.length - limited.length) + noRetryAfter.length;
  expect(ok).toHaveLength(limit);
  expect(limited).toHaveLength(results.length - limit);
  for (const r of limited) {
    expectEnvelope(r.body, 'RATE_LIMIT_EXCEEDED');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  return { ok, limited };
}

beforeAll(async () => {
  a = await startTestServer({ env });
  b = await startChildServer({
    ...env,
    DATABASE_URL: a.database!.url,
    LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
  });
});
afterAll(async () => {
  console.log(
    `replica rate limits: ${totals.requests} requests over 2 replicas, ${totals.accepted} accepted, ` +
      `${totals.limited} 429, ${totals.wrong} wrong answers`,
  );
  await b?.stop();
  await a?.stop();
});

/** Fixed windows: stay clear of a boundary so every request lands in one window. */
async function awayFromWindowEdge() {
  const left = WINDOW - ((Date.now() / 1000) % WINDOW);
  if (left < 15) await new Promise((r) => setTimeout(r, (left + 1) * 1000));
}

async function hit(base: string, path: string, key: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
  });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => null)) as unknown };
}

/** A tRPC error carries the envelope's code in error.data.labeler; shaped like the REST envelope here. */
async function hitTrpc(base: string, procedure: string, input: unknown, key: string) {
  const res = await hit(base, `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, key);
  const error = (
    res.body as { error?: { message: string; data: { labeler: { code: string; details: object } } } }
  )?.error;
  return error
    ? {
        ...res,
        body: {
          error: {
            code: error.data.labeler.code,
            message: error.message,
            details: error.data.labeler.details,
            timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        },
      }
    : res;
}

describe('rate limits are exact across two server processes on one database', () => {
  it('per service account', async () => {
    const key = (await createServiceAccount(a, ['datasets:read'], 'rl-account')).api_key;
    const datasets = await Promise.all(
      Array.from({ length: 3 }, (_, i) => createDataset(a, { name: `rl-${i}` })),
    );
    await awayFromWindowEdge();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        hit(i % 2 ? a.url : b.url, `/api/v1/datasets/${datasets[i % 3]!.id}`, key),
      ),
    );
    const { ok, limited } = tally(results, ACCOUNT_LIMIT);
    for (const r of limited) expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((x, y) => x - y);
    expect(remaining[0]).toBeGreaterThanOrEqual(0);
    for (const r of ok) {
      expect(r.headers.get('x-ratelimit-limit')).not.toBeNull();
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(WINDOW);
      expect(r.headers.get('ratelimit-policy')).toContain(`"account";q=${ACCOUNT_LIMIT};w=${WINDOW}`);
    }
  });

  it('per dataset id, across callers', async () => {
    const keys = await Promise.all(
      [1, 2].map(async (i) => (await createServiceAccount(a, ['datasets:read'], `rl-ds-${i}`)).api_key),
    );
    const dataset = await createDataset(a, { name: 'hot dataset' });
    await awayFromWindowEdge();
    const results = await Promise.all(
      Array.from({ length: 36 }, (_, i) =>
        hit(i % 2 ? a.url : b.url, `/api/v1/datasets/${dataset.id}`, keys[i % 2]!),
      ),
    );
    const { limited } = tally(results, DATASET_LIMIT);
    expect(expectEnvelope(limited[0]!.body, 'RATE_LIMIT_EXCEEDED').error.details).toMatchObject({
      policy: 'dataset',
      dataset_id: dataset.id,
    });
  });

  it('a batch is one request for the account and draws on no dataset budget', async () => {
    const key = (await createServiceAccount(a, ['datasets:read'], 'rl-batch')).api_key;
    const other = (await createServiceAccount(a, ['datasets:read'], 'rl-batch-other')).api_key;
    const hot = await createDataset(a, { name: 'batch-hot' });
    const cold = await createDataset(a, { name: 'batch-cold' });
    await awayFromWindowEdge();
    for (let i = 0; i < DATASET_LIMIT; i++)
      expect((await hit(a.url, `/api/v1/datasets/${hot.id}`, key)).status).toBe(200);
    expect((await hit(b.url, `/api/v1/datasets/${hot.id}`, other)).status).toBe(429);
    const res = await fetch(`${b.url}/api/v1/datasets/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset_ids: [hot.id, cold.id, cold.id], fields: ['id', 'name'] }),
    });
    expect(res.status).toBe(200);
    // The account's budget governs the headers: DATASET_LIMIT single reads plus this batch.
    expect(res.headers.get('x-ratelimit-limit')).toBe(String(ACCOUNT_LIMIT));
    expect(res.headers.get('x-ratelimit-remaining')).toBe(String(ACCOUNT_LIMIT - DATASET_LIMIT - 1));
    const body = (await res.json()) as { datasets: Record<string, unknown>; errors: Record<string, string> };
    expect(body).toEqual({
      datasets: {
        [hot.id]: { id: hot.id, name: 'batch-hot' },
        [cold.id]: { id: cold.id, name: 'batch-cold' },
      },
      errors: {},
    });
    // cold's budget is untouched: all of it is still there for single reads.
    const coldReads = await Promise.all(
      Array.from({ length: DATASET_LIMIT + 1 }, (_, i) =>
        hit(i % 2 ? a.url : b.url, `/api/v1/datasets/${cold.id}`, other),
      ),
    );
    tally(coldReads, DATASET_LIMIT);
  });

  it('a request is charged once whatever it answers (400, 404), and 429 wins over them', async () => {
    const key = (await createServiceAccount(a, ['datasets:read'], 'rl-errors')).api_key;
    await awayFromWindowEdge();
    const paths = [
      '/api/v1/datasets/not-an-id',
      '/api/v1/datasets/ds_0000000000000000',
      '/api/v1/datasets?limit=0',
    ];
    const results = await Promise.all(
      Array.from({ length: ACCOUNT_LIMIT + 5 }, (_, i) => hit(i % 2 ? a.url : b.url, paths[i % 3]!, key)),
    );
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
    expect(results.filter((r) => r.status === 400 || r.status === 404)).toHaveLength(ACCOUNT_LIMIT);
  });

  it('one budget across replicas and doors: REST fast lane, generic REST path, tRPC', async () => {
    const key = (await createServiceAccount(a, ['datasets:read'], 'rl-doors')).api_key;
    // Spread over datasets, so that only the account's budget runs out.
    const datasets = await Promise.all(
      Array.from({ length: 4 }, (_, i) => createDataset(a, { name: `rl-doors-${i}` })),
    );
    await awayFromWindowEdge();
    // Three doors × two replicas, in turn: the fast lane, the generic REST path (a POST with an
    // Idempotency-Key falls through the lane) and tRPC.
    const results = await Promise.all(
      Array.from({ length: ACCOUNT_LIMIT + 12 }, (_, i) => {
        const base = i % 2 ? a.url : b.url;
        const door = Math.floor(i / 2) % 3;
        const dataset = datasets[i % 4]!;
        if (door === 0) return hit(base, `/api/v1/datasets/${dataset.id}`, key);
        if (door === 1)
          return hit(base, '/api/v1/datasets/batch', key, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': `doors-${i}` },
            body: JSON.stringify({ dataset_ids: [dataset.id] }),
          });
        return hitTrpc(base, 'datasets.get', { dataset_id: dataset.id }, key);
      }),
    );
    tally(results, ACCOUNT_LIMIT);
  });

  it('Idempotency-Key replays count against the account, on both replicas', async () => {
    const key = (await createServiceAccount(a, ['datasets:read', 'datasets:download'], 'rl-replay')).api_key;
    const dataset = await createDataset(a, { name: 'rl-replay' });
    await awayFromWindowEdge();
    // One key, one body, replayed in turn on both replicas (one at a time: a replay never races its original).
    const results = [];
    for (let i = 0; i < ACCOUNT_LIMIT + 6; i++) {
      results.push(
        await hit(i % 2 ? a.url : b.url, '/api/v1/datasets/batch', key, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'replica-replay-1' },
          body: JSON.stringify({ dataset_ids: [dataset.id] }),
        }),
      );
    }
    // The original and its replays each cost one request: exactly ACCOUNT_LIMIT of them pass…
    tally(results, ACCOUNT_LIMIT);
    // …and a fresh request is refused on either replica.
    tally(
      await Promise.all([
        hit(a.url, `/api/v1/datasets/${dataset.id}`, key),
        hit(b.url, `/api/v1/datasets/${dataset.id}`, key),
      ]),
      0,
    );
  });
});

describe('revocation across processes', () => {
  it('a key revoked through one process is refused by the other at once, though it had it cached', async () => {
    const sa = await createServiceAccount(a, ['datasets:read'], 'cross-process-revoke');
    const dataset = await createDataset(a, { name: 'revocation target' });
    for (let i = 0; i < 3; i++)
      expect((await hit(b.url, `/api/v1/datasets/${dataset.id}`, sa.api_key)).status).toBe(200);
    const revoked = await a.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/revoke`, {
      method: 'POST',
      body: {},
    });
    expect(revoked.status).toBe(200);
    // NOTIFY is delivered asynchronously; allow it a moment, far below any cache TTL.
    let status = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      status = (await hit(b.url, `/api/v1/datasets/${dataset.id}`, sa.api_key)).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(401);
  });
});
