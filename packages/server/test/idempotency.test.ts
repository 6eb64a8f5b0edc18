import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHash } from '../src/modules/idempotency/procedure.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope, SYSTEM_ACTOR } from './helpers.js';

/**
 * Idempotency-Key (modules/idempotency): decided after authentication, the scope check and the rate-limit
 * charge; records keyed by principal; answers encrypted; secrets replayed once; Platform routes re-run;
 * errors never stored; crashed owners' records taken over after their lease. Job workers are off, so an
 * archive that is not built answers 202 for as long as a test needs; the built one is built directly.
 */

const ACCOUNT_LIMIT = 6;
const PLATFORM_SCOPES = ['datasets:read', 'datasets:download', 'datasets:permissions'];

let server: TestServer;
let built: { id: string };

type Res = Awaited<ReturnType<TestServer['request']>>;

function downloadUrl(datasetId: string, token: string, key: string, userId = 42): Promise<Res> {
  return server.request(`/api/v1/datasets/${datasetId}/download-url`, {
    method: 'POST',
    body: { user_id: userId, expiration_seconds: 3600 },
    token,
    headers: { 'idempotency-key': key },
  });
}

async function importFiles(datasetId: string): Promise<number> {
  async function* source() {
    for (const [path, text] of [
      ['images/0001.jpg', 'fake-jpeg-1'],
      ['annotations.json', '{"images":[],"annotations":[],"categories":[]}'],
    ] as const)
      yield { path, open: () => Readable.from([Buffer.from(text)]), size: Buffer.byteLength(text) };
  }
  const { version } = await server.services.storageFiles.importFiles(datasetId, source(), null, {
    annotationPath: `datasets/${datasetId}/annotations.json`,
  });
  return version.version;
}

async function builtDataset(name: string, visibility: 'public' | 'private'): Promise<{ id: string }> {
  const dataset = await createDataset(server, { name, visibility, owner_id: 7 });
  await server.services.storageFiles.buildArchive(dataset.id, await importFiles(dataset.id));
  return dataset;
}

/** Everything the idempotency table holds, as text. */
async function tableText(): Promise<string> {
  const rows = await server.services.sql.query<{ row: string }>(
    'select t::text as row from "idempotency_key" t',
    [],
  );
  return rows.map((r) => r.row).join('\n');
}

/** The next rate-limit window, for these accounts: their counters start again from zero. */
async function nextWindow(accountId: string): Promise<void> {
  await server.services.sql.query('delete from "rate_limit_counter" where "bucket" like $1', [
    `%${accountId}%`,
  ]);
}

beforeAll(async () => {
  server = await startTestServer({
    workers: false,
    env: { LABELER_RATE_LIMIT_PER_ACCOUNT: String(ACCOUNT_LIMIT) },
  });
  built = await builtDataset('built', 'public');
});
afterAll(async () => server?.stop());

describe('Idempotency-Key replays', () => {
  it('replays the first answer (201), refuses the same key with another body (422)', async () => {
    const body = { name: 'idem', format: 'coco', owner_id: 1 };
    const send = (b: unknown) =>
      server.request('/api/v1/datasets', {
        method: 'POST',
        body: b,
        headers: { 'idempotency-key': 'create-idem-1' },
      });
    const first = await send(body);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await send(body);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const list = (await server.request('/api/v1/datasets?limit=200')).body as {
      datasets: Array<{ name: string }>;
    };
    expect(list.datasets.filter((d) => d.name === 'idem')).toHaveLength(1);
    const other = await send({ ...body, name: 'different' });
    expect(other.status).toBe(422);
    expectEnvelope(other.body, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('a stored 202 is replayed with its Location', async () => {
    const dataset = await createDataset(server, { name: 'uploaded', visibility: 'public' });
    const send = () =>
      server.request(`/api/v1/datasets/${dataset.id}/uploads/complete`, {
        method: 'POST',
        body: {},
        headers: { 'idempotency-key': 'complete-1' },
      });
    const first = await send();
    expect(first.status, first.text).toBe(202);
    const location = first.headers.get('location');
    expect(location).toMatch(/^\/api\/v1\/jobs\/job_/);
    const again = await send();
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(location);
    expect(again.body).toEqual(first.body);
  });

  it('a download-url 202 is run again on replay: 202 with Retry-After and Location while it builds', async () => {
    const pending = await createDataset(server, { name: 'pending', visibility: 'public' });
    await importFiles(pending.id);
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'poller');
    const first = await downloadUrl(pending.id, sa.api_key, 'build-1');
    expect(first.status, first.text).toBe(202);
    const location = first.headers.get('location');
    expect(first.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(location).toMatch(/^\/api\/v1\/jobs\/job_/);
    const again = await downloadUrl(pending.id, sa.api_key, 'build-1');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('retry-after')).toMatch(/^\d+$/);
    // The same build job (deduplicated), not a second one.
    expect(again.headers.get('location')).toBe(location);
  });

  it('a replay re-authenticates: a revoked key gets 401, not the stored URL', async () => {
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'to-revoke');
    const first = await downloadUrl(built.id, sa.api_key, 'revoke-1');
    expect(first.status, first.text).toBe(200);
    const revoked = await server.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/revoke`, {
      method: 'POST',
      body: {},
    });
    expect(revoked.status, revoked.text).toBe(200);
    const replay = await downloadUrl(built.id, sa.api_key, 'revoke-1');
    expect(replay.status).toBe(401);
    expectEnvelope(replay.body, 'UNAUTHENTICATED');
    expect(replay.text).not.toContain('download_url');
  });

  it('a replay re-authorizes: a key that lost the scope gets 403, not the stored answer', async () => {
    const sa = await createServiceAccount(server, ['datasets:write'], 'writer');
    const body = { name: 'scoped', format: 'coco', owner_id: 1 };
    const send = () =>
      server.request('/api/v1/datasets', {
        method: 'POST',
        body,
        token: sa.api_key,
        headers: { 'idempotency-key': 'scope-1' },
      });
    expect((await send()).status).toBe(201);
    await server.services.sql.query(
      `update "service_account" set "scopes" = '{datasets:read}' where "id" = $1`,
      [sa.service_account_id],
    );
    await server.services.serviceAccounts.invalidateKeys();
    const replay = await send();
    expect(replay.status).toBe(403);
    expectEnvelope(replay.body, 'INSUFFICIENT_SCOPE');
  });

  it('records belong to the principal: a rotated key replays, another principal runs its own request', async () => {
    const a = await createServiceAccount(server, ['datasets:write'], 'writer-a');
    const b = await createServiceAccount(server, ['datasets:write'], 'writer-b');
    const body = { name: 'per-principal', format: 'coco', owner_id: 1 };
    const send = (token: string) =>
      server.request('/api/v1/datasets', {
        method: 'POST',
        body,
        token,
        headers: { 'idempotency-key': 'shared-key' },
      });
    const first = await send(a.api_key);
    expect(first.status).toBe(201);
    const rotated = await server.request(`/api/v1/auth/service-accounts/${a.service_account_id}/rotate`, {
      method: 'POST',
      body: { overlap_seconds: 0 },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const newKey = (rotated.body as { api_key: string }).api_key;
    const replay = await send(newKey);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((replay.body as { id: string }).id).toBe((first.body as { id: string }).id);

    const other = await send(b.api_key);
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect((other.body as { id: string }).id).not.toBe((first.body as { id: string }).id);
  });
});

describe('Idempotency-Key and rate limits', () => {
  it('replays are charged: X-RateLimit-Remaining decreases and an exhausted budget answers 429', async () => {
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'charged');
    const first = await downloadUrl(built.id, sa.api_key, 'charge-1');
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining')).toBe(String(ACCOUNT_LIMIT - 1));
    for (let i = 2; i <= ACCOUNT_LIMIT; i++) {
      const replay = await downloadUrl(built.id, sa.api_key, 'charge-1');
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.headers.get('x-ratelimit-remaining')).toBe(String(ACCOUNT_LIMIT - i));
    }
    const limited = await downloadUrl(built.id, sa.api_key, 'charge-1');
    expect(limited.status).toBe(429);
    expectEnvelope(limited.body, 'RATE_LIMIT_EXCEEDED');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('a 429 is not stored: the same key in the next window runs the request', async () => {
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'limited');
    for (let i = 0; i < ACCOUNT_LIMIT; i++)
      expect((await server.request(`/api/v1/datasets/${built.id}`, { token: sa.api_key })).status).toBe(200);
    const limited = await downloadUrl(built.id, sa.api_key, 'after-429');
    expect(limited.status).toBe(429);
    await nextWindow(sa.service_account_id);
    const next = await downloadUrl(built.id, sa.api_key, 'after-429');
    expect(next.status, next.text).toBe(200);
    expect(next.headers.get('idempotent-replayed')).toBeNull();
    expect(next.body).toHaveProperty('download_url');
  });

  it('an error is not stored: a 403 becomes a 202 (archive build) once the user is granted access', async () => {
    const hidden = await createDataset(server, { name: 'hidden', visibility: 'private', owner_id: 7 });
    await importFiles(hidden.id);
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'denied');
    const denied = await downloadUrl(hidden.id, sa.api_key, 'denied-1', 55);
    expect(denied.status).toBe(403);
    expectEnvelope(denied.body, 'ACCESS_DENIED');
    await server.services.datasets.grant(hidden.id, 55, 'viewer', SYSTEM_ACTOR);
    const granted = await downloadUrl(hidden.id, sa.api_key, 'denied-1', 55);
    expect(granted.status, granted.text).toBe(202);
    expect(granted.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a download-url replay re-checks the named user: access revoked since is 403', async () => {
    const hidden = await builtDataset('hidden-built', 'private');
    await server.services.datasets.grant(hidden.id, 77, 'viewer', SYSTEM_ACTOR);
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'user-check');
    const first = await downloadUrl(hidden.id, sa.api_key, 'user-1', 77);
    expect(first.status, first.text).toBe(200);
    await server.services.datasets.revokePermission(hidden.id, 77, SYSTEM_ACTOR);
    const replay = await downloadUrl(hidden.id, sa.api_key, 'user-1', 77);
    expect(replay.status).toBe(403);
    expectEnvelope(replay.body, 'ACCESS_DENIED');
  });
});

describe('Idempotency-Key secrets', () => {
  it('stores no plaintext key or URL; a new key is returned on the first replay only', async () => {
    const send = () =>
      server.request('/api/v1/auth/service-accounts', {
        method: 'POST',
        body: { service_name: 'once', scopes: ['datasets:read'] },
        headers: { 'idempotency-key': 'sa-once' },
      });
    const first = await send();
    expect(first.status, first.text).toBe(201);
    const apiKey = (first.body as { api_key: string }).api_key;
    expect(apiKey).toMatch(/^lbl_sa_/);
    expect(await tableText()).toContain('sa-once');
    expect(await tableText()).not.toContain(apiKey);

    const replay = await send();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((replay.body as { api_key: string }).api_key).toBe(apiKey);
    expect((await server.request(`/api/v1/datasets/${built.id}`, { token: apiKey })).status).toBe(200);

    const third = await send();
    expect(third.status).toBe(409);
    expectEnvelope(third.body, 'IDEMPOTENCY_RESPONSE_CONSUMED');
    expect(third.text).not.toContain(apiKey);
    const list = (await server.request('/api/v1/auth/service-accounts')).body as {
      service_accounts: Array<{ name: string }>;
    };
    expect(list.service_accounts.filter((s) => s.name === 'once')).toHaveLength(1);
    expect(await tableText()).not.toContain(apiKey);
  });

  it('a download-url replay issues a working URL again; the table never holds one', async () => {
    const sa = await createServiceAccount(server, PLATFORM_SCOPES, 'downloader');
    const first = await downloadUrl(built.id, sa.api_key, 'url-1');
    expect(first.status, first.text).toBe(200);
    const url = (first.body as { download_url: string }).download_url;
    const signature = /X-Labeler-Signature=([0-9a-f]+)/.exec(url)?.[1];
    expect(signature).toBeTruthy();

    for (let i = 0; i < 2; i++) {
      const replay = await downloadUrl(built.id, sa.api_key, 'url-1');
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      const again = (replay.body as { download_url: string }).download_url;
      const zip = await fetch(again);
      expect(zip.status).toBe(200);
      expect(
        Buffer.from(await zip.arrayBuffer())
          .subarray(0, 4)
          .toString('hex'),
      ).toBe('504b0304');
      const text = await tableText();
      expect(text).toContain('url-1');
      expect(text).not.toContain(again);
      expect(text).not.toContain(/X-Labeler-Signature=([0-9a-f]+)/.exec(again)![1]);
    }
    const text = await tableText();
    expect(text).not.toContain(url);
    expect(text).not.toContain(signature);
  });
});

describe('Idempotency-Key after a crash', () => {
  const body = (name: string) => ({ name, format: 'coco', owner_id: 1 });

  /** A record of `body` left in progress by a process that died (or one still running) until `lockedUntil`. */
  async function leaveInProgress(
    accountId: string,
    key: string,
    input: unknown,
    lockedUntil: string,
  ): Promise<void> {
    await server.services.sql.query(
      `insert into "idempotency_key" ("principal_id", "key", "method", "path", "request_hash", "state", "created_at", "expires_at", "locked_until", "lock_token")
       values ($1, $2, 'POST', '/api/v1/datasets', $3, 'in_progress', now(), now() + interval '24 hours', now() + $4::interval, 'dead-owner')`,
      [`service_account:${accountId}`, key, requestHash('POST', '/api/v1/datasets', input), lockedUntil],
    );
  }

  it('a record whose owner died is taken over once its lease has passed', async () => {
    const sa = await createServiceAccount(server, ['datasets:write'], 'crash-writer');
    await leaveInProgress(sa.service_account_id, 'crashed-1', body('after-crash'), '-1 second');
    const retry = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: body('after-crash'),
      token: sa.api_key,
      headers: { 'idempotency-key': 'crashed-1' },
    });
    expect(retry.status, retry.text).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: body('after-crash'),
      token: sa.api_key,
      headers: { 'idempotency-key': 'crashed-1' },
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((replay.body as { id: string }).id).toBe((retry.body as { id: string }).id);
  });

  it('a record whose owner still holds its lease answers 409 with Retry-After', async () => {
    const sa = await createServiceAccount(server, ['datasets:write'], 'busy-writer');
    await leaveInProgress(sa.service_account_id, 'busy-1', body('busy'), '1 hour');
    const retry = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: body('busy'),
      token: sa.api_key,
      headers: { 'idempotency-key': 'busy-1' },
    });
    expect(retry.status).toBe(409);
    expectEnvelope(retry.body, 'IDEMPOTENCY_REQUEST_IN_PROGRESS');
    expect(retry.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('Idempotency-Key records', () => {
  it('two concurrent requests with one key run the request once', async () => {
    const send = () =>
      server.request('/api/v1/datasets', {
        method: 'POST',
        body: { name: 'concurrent', format: 'coco', owner_id: 1 },
        headers: { 'idempotency-key': 'concurrent-1' },
      });
    const answers = await Promise.all([send(), send()]);
    for (const a of answers) expect([201, 409]).toContain(a.status);
    expect(answers.filter((a) => a.status === 201).length).toBeGreaterThanOrEqual(1);
    const list = (await server.request('/api/v1/datasets?limit=200')).body as {
      datasets: Array<{ name: string }>;
    };
    expect(list.datasets.filter((d) => d.name === 'concurrent')).toHaveLength(1);
  });

  it('an answer that cannot be decrypted is not run again and is no 500', async () => {
    const send = () =>
      server.request('/api/v1/datasets', {
        method: 'POST',
        body: { name: 'sealed', format: 'coco', owner_id: 1 },
        headers: { 'idempotency-key': 'sealed-1' },
      });
    expect((await send()).status).toBe(201);
    await server.services.sql.query(
      `update "idempotency_key" set "response_body" = 'v1.AAAA.BBBB.CCCC' where "key" = 'sealed-1'`,
      [],
    );
    const replay = await send();
    expect(replay.status).toBe(409);
    expectEnvelope(replay.body, 'IDEMPOTENCY_RESPONSE_CONSUMED');
  });
});

describe('Idempotency-Key scope of the header', () => {
  it('is honoured on REST only: tRPC mutations ignore it', async () => {
    const call = () =>
      server.request('/trpc/datasets.create', {
        method: 'POST',
        body: { name: 'trpc-idem', format: 'coco', owner_id: 1 },
        headers: { 'idempotency-key': 'trpc-1' },
      });
    const first = await call();
    const second = await call();
    expect(first.status, first.text).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    const id = (r: Res) => (r.body as { result: { data: { id: string } } }).result.data.id;
    expect(id(second)).not.toBe(id(first));
  });

  it('refuses a malformed key with 400', async () => {
    const res = await server.request('/api/v1/datasets', {
      method: 'POST',
      body: { name: 'bad-key', format: 'coco', owner_id: 1 },
      headers: { 'idempotency-key': 'has spaces in it' },
    });
    expect(res.status).toBe(400);
    expectEnvelope(res.body, 'VALIDATION_ERROR');
  });
});

describe('Idempotency-Key on embedded PGlite', () => {
  it('claims, replays, consumes a secret and takes over a lapsed lease with the same statements', async () => {
    const embedded = await startTestServer({ pglite: true, workers: false });
    try {
      const send = (key: string) =>
        embedded.request('/api/v1/auth/service-accounts', {
          method: 'POST',
          body: { service_name: `lite-${key}`, scopes: ['datasets:read'] },
          headers: { 'idempotency-key': key },
        });
      const first = await send('lite-1');
      expect(first.status, first.text).toBe(201);
      const replay = await send('lite-1');
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect((replay.body as { api_key: string }).api_key).toBe((first.body as { api_key: string }).api_key);
      expectEnvelope((await send('lite-1')).body, 'IDEMPOTENCY_RESPONSE_CONSUMED');

      await embedded.services.sql.query(
        `update "idempotency_key" set "state" = 'in_progress', "response_body" = null, "locked_until" = now() - interval '1 second' where "key" = 'lite-1'`,
        [],
      );
      const takenOver = await send('lite-1');
      expect(takenOver.status, takenOver.text).toBe(201);
      expect(takenOver.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await embedded.stop();
    }
  });
});
