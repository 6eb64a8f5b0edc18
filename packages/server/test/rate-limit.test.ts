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

beforeAll(async () => {
  a = await startTestServer({ env });
  b = await startChildServer({
    ...env,
    DATABASE_URL: a.database!.url,
    LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
  });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

/** Fixed windows: stay clear of a boundary so every request lands in one window. */
async function awayFromWindowEdge() {
  const left = WINDOW - ((Date.now() / 1000) % WINDOW);
  if (left < 15) await new Promise((r) => setTimeout(r, (left + 1) * 1000));
}

async function hit(base: string, path: string, key: string) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => null)) as unknown };
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
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(ACCOUNT_LIMIT);
    expect(limited).toHaveLength(60 - ACCOUNT_LIMIT);
    for (const r of limited) {
      expectEnvelope(r.body, 'RATE_LIMIT_EXCEEDED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    }
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
    expect(results.filter((r) => r.status === 200)).toHaveLength(DATASET_LIMIT);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(36 - DATASET_LIMIT);
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
    expect(coldReads.filter((r) => r.status === 200)).toHaveLength(DATASET_LIMIT);
    expect(coldReads.filter((r) => r.status === 429)).toHaveLength(1);
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
