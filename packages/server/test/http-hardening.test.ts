/**
 * Hostile input against the HTTP pipeline (issue 17, items 5, 8, 11, 12): JSON depth and text checks on
 * every JSON door, bounded metrics labels, body-less POSTs, security headers and compressed console
 * assets, sign-in and unauthenticated budgets per IP, tRPC batch size, header/body timeouts and early 413s.
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, createServiceAccount, expectEnvelope } from './helpers.js';

/** Every line the server logs, parsed; the test asserts on levels (pino: 50 = error). */
const logLines: Array<{ level: number; msg?: string; err?: unknown }> = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  }),
);
const errorLogs = () => logLines.filter((line) => line.level >= 50);

let server: TestServer;
let datasetId: string;
let host: { hostname: string; port: number };

/** A built console as Vite lays it out (the admin package's dist may not be built when server tests run). */
const consoleDir = mkdtempSync(join(tmpdir(), 'labeler-console-'));
const ASSET = 'index-Ab12Cd34.js';
mkdirSync(join(consoleDir, 'assets'));
writeFileSync(
  join(consoleDir, 'index.html'),
  `<!doctype html><html><head><script type="module" crossorigin src="/assets/${ASSET}"></script></head><body><div id="root"></div></body></html>`,
);
writeFileSync(
  join(consoleDir, 'assets', ASSET),
  `export const words = ${JSON.stringify('labeler '.repeat(4000))};\n`,
);

beforeAll(async () => {
  server = await startTestServer({
    logger,
    env: {
      LABELER_HEADERS_TIMEOUT_MS: '1000',
      LABELER_BODY_TIMEOUT_MS: '1500',
      LABELER_CONSOLE_DIR: consoleDir,
    },
  });
  const url = new URL(server.url);
  host = { hostname: url.hostname, port: Number(url.port) };
  datasetId = (await createDataset(server, { name: 'hardening' })).id;
});
afterAll(async () => {
  await server?.stop();
  rmSync(consoleDir, { recursive: true, force: true });
});

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** A raw fetch: no helper adds a content type or a token unless given. */
async function raw(path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? server.adminToken : init.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  const response = await fetch(`${server.url}${path}`, { ...init, headers });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, text, body };
}

function expectCleanError(
  res: { status: number; text: string; body: unknown },
  code: string,
  status: number,
) {
  expect(res.status, res.text.slice(0, 300)).toBe(status);
  expectEnvelope(res.body, code);
  expect(res.text).not.toMatch(/\bat .+\.(ts|js|mjs):\d+|node_modules/);
}

/** The LabelerError code of a /trpc answer: tRPC's error shape carries it in data.labeler (one per batched call). */
function trpcCode(body: unknown): string | undefined {
  const one = (Array.isArray(body) ? body[0] : body) as {
    error?: { data?: { labeler?: { code?: string } } };
  } | null;
  return one?.error?.data?.labeler?.code;
}

describe('JSON depth and text on every door (item 5)', () => {
  it('refuses 5,000 levels of nesting with 400, never 500, logging nothing at error level', async () => {
    const before = errorLogs().length;
    const deep = `{"name":"x","format":"coco","owner_id":1,"class_names":${nested(5000)}}`;
    const json = { 'content-type': 'application/json' };
    // Generic REST path, fast lane, tRPC body, tRPC ?input= query.
    expectCleanError(
      await raw('/api/v1/datasets', { method: 'POST', body: deep, headers: json }),
      'VALIDATION_ERROR',
      400,
    );
    expectCleanError(
      await raw('/api/v1/datasets/batch', {
        method: 'POST',
        body: `{"dataset_ids":${nested(5000)}}`,
        headers: json,
      }),
      'VALIDATION_ERROR',
      400,
    );
    const trpcBody = await raw('/trpc/datasets.create', { method: 'POST', body: deep, headers: json });
    expect(trpcBody.status).toBe(400);
    expect(trpcCode(trpcBody.body)).toBe('VALIDATION_ERROR');
    // (1,000 levels: 5,000 would not fit in Node's 16 KiB of headers and answer 431 before any check.)
    const trpcQuery = await raw(
      `/trpc/datasets.list?input=${encodeURIComponent(`{"tags":${nested(1000)}}`)}`,
    );
    expect(trpcQuery.status).toBe(400);
    expect(trpcCode(trpcQuery.body)).toBe('VALIDATION_ERROR');
    // tRPC reads the first `input`; a second one must not hide it from the check.
    const repeated = await raw(
      `/trpc/datasets.list?input=${encodeURIComponent(`{"tags":${nested(1000)}}`)}&input=%7B%7D`,
    );
    expect(repeated.status).toBe(400);
    expect((repeated.body as { error: { message: string } }).error.message).toMatch(/nested more than 64/);
    // 64 levels is still JSON the schema then judges (a normal 400 naming the field, not the depth refusal).
    const shallow = await raw('/api/v1/datasets', {
      method: 'POST',
      headers: json,
      body: `{"name":"x","format":"coco","owner_id":1,"class_names":${nested(60)}}`,
    });
    expectCleanError(shallow, 'VALIDATION_ERROR', 400);
    expect((shallow.body as { error: { message: string } }).error.message).not.toMatch(/nest/i);
    expect(errorLogs().slice(before)).toEqual([]);
  });

  it('refuses strings that are not well-formed UTF-16 (a lone surrogate) with 400 on every door', async () => {
    const before = errorLogs().length;
    const json = { 'content-type': 'application/json' };
    const body = '{"name":"bad \\ud800 name","format":"coco","owner_id":1,"visibility":"public"}';
    const rest = await raw('/api/v1/datasets', { method: 'POST', body, headers: json });
    expectCleanError(rest, 'VALIDATION_ERROR', 400);
    expect((rest.body as { error: { message: string } }).error.message).toMatch(/UTF-16|surrogate/);
    const lane = await raw('/api/v1/datasets/batch', {
      method: 'POST',
      headers: json,
      body: `{"dataset_ids":["${datasetId}"],"fields":["name\\udc00"]}`,
    });
    expectCleanError(lane, 'VALIDATION_ERROR', 400);
    expect((lane.body as { error: { message: string } }).error.message).toMatch(/UTF-16|surrogate/);
    const trpc = await raw('/trpc/datasets.create', { method: 'POST', body, headers: json });
    expect(trpc.status, trpc.text).toBe(400);
    expect(trpcCode(trpc.body)).toBe('VALIDATION_ERROR');
    const query = await raw(`/trpc/datasets.list?input=${encodeURIComponent('{"q":"\\ud800"}')}`);
    expect(query.status, query.text).toBe(400);
    // A refused batch answers one tRPC error per call, as tRPC clients expect.
    const batch = await raw(
      `/trpc/datasets.list,datasets.list?batch=1&input=${encodeURIComponent('{"0":{"q":"\\u0000"},"1":{}}')}`,
    );
    expect(batch.status, batch.text).toBe(400);
    expect((batch.body as unknown[]).length).toBe(2);
    expect(trpcCode(batch.body)).toBe('VALIDATION_ERROR');
    // A surrogate pair (an emoji) is well-formed and accepted.
    const ok = await raw('/api/v1/datasets', {
      method: 'POST',
      headers: json,
      body: '{"name":"fine \\ud83d\\ude00","format":"coco","owner_id":1}',
    });
    expect(ok.status, ok.text).toBe(201);
    expect(errorLogs().slice(before)).toEqual([]);
  });
});

describe('metrics labels only from known routes (item 8)', () => {
  it('3,000 requests to unique unknown paths and tRPC names add no series', async () => {
    const scrape = async () => (await raw('/metrics', { token: null })).text.split('\n').length;
    // Warm the unmatched label once for each kind of answer, so the count after is comparable.
    await raw('/no-such-page-warm', { token: null, headers: { accept: 'application/json' } });
    await raw('/api/v1/no-such-route-warm', { token: null });
    await raw('/trpc/noSuch.warm', { token: null });
    await scrape(); // a scrape adds /metrics' own series
    const before = await scrape();
    const paths = Array.from({ length: 3000 }, (_, i) =>
      i % 3 === 0 ? `/x/${i}/y` : i % 3 === 1 ? `/api/v1/nope-${i}` : `/trpc/nope.p${i}`,
    );
    for (let i = 0; i < paths.length; i += 100) {
      await Promise.all(
        paths.slice(i, i + 100).map((p) => raw(p, { token: null, headers: { accept: 'application/json' } })),
      );
    }
    const after = await scrape();
    expect(after - before).toBe(0);
    const text = (await raw('/metrics', { token: null })).text;
    expect(text).toMatch(/route="unmatched"/);
    expect(text).not.toMatch(/nope/);
    // Known routes keep their own label: templates, not ids.
    await raw(`/api/v1/datasets/${datasetId}`);
    expect((await raw('/metrics', { token: null })).text).toContain('route="/api/v1/datasets/{dataset_id}"');
  });
});

describe('body-less POSTs (item 11)', () => {
  /** As Python httpx sends `httpx.post(url)`: content-length 0, no content type. */
  function httpxPost(path: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          ...host,
          path,
          method: 'POST',
          headers: { 'content-length': '0', authorization: `Bearer ${server.adminToken}` },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('every POST whose body has no required field (revoke, uploads/complete, pull, task annotations, …) accepts none, from fetch and httpx', async () => {
    const sa = await createServiceAccount(server, ['datasets:read'], 'to-revoke');
    const revoke = await raw(`/api/v1/auth/service-accounts/${sa.service_account_id}/revoke`, {
      method: 'POST',
    });
    expect(revoke.status, revoke.text).toBe(200);
    const sa2 = await createServiceAccount(server, ['datasets:read'], 'to-revoke-2');
    expect((await httpxPost(`/api/v1/auth/service-accounts/${sa2.service_account_id}/revoke`)).status).toBe(
      200,
    );

    const complete = await raw(`/api/v1/datasets/${datasetId}/uploads/complete`, { method: 'POST' });
    expect(complete.status, complete.text).toBeLessThan(300);
    expect((await httpxPost(`/api/v1/datasets/${datasetId}/uploads/complete`)).status).toBeLessThan(300);
    const version = await raw(`/api/v1/datasets/${datasetId}/versions`, { method: 'POST' });
    expect(version.status, version.text).toBeLessThan(300);

    // No project exists: the route runs and says so, instead of refusing the missing body.
    for (const path of [
      '/api/v1/label-studio/projects/prj_0000000000000000/pull',
      '/api/v1/label-studio/projects/prj_0000000000000000/tasks/1/annotations',
    ]) {
      const res = await raw(path, { method: 'POST' });
      expect(res.status, `${path}: ${res.text}`).not.toBe(415);
      expect(res.status).toBeLessThan(500);
      expect((await httpxPost(path)).status).not.toBe(415);
    }
    // Every POST of the OpenAPI document whose body has no required field, sent with no body both ways.
    const doc = (await raw('/api/v1/openapi.json', { token: null })).body as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema?: { required?: string[] } }> } }>
      >;
    };
    const bodyless = Object.entries(doc.paths).filter(([, ops]) => {
      const body = ops.post?.requestBody;
      return ops.post && !body?.content['application/json']?.schema?.required?.length;
    });
    expect(bodyless.length).toBeGreaterThanOrEqual(8);
    for (const [template] of bodyless) {
      for (const send of ['fetch', 'httpx'] as const) {
        const sa = await createServiceAccount(server, ['datasets:read'], `bodyless-${send}`);
        const path = `/api/v1${template}`
          .replace('{dataset_id}', datasetId)
          .replace('{service_account_id}', sa.service_account_id)
          .replace('{project_id}', 'prj_0000000000000000')
          .replace('{task_id}', '1')
          .replace('{subscription_id}', 'wh_0000000000000000')
          .replace('{delivery_id}', 'msg_0000000000000000');
        expect(path, 'a path parameter the test does not fill').not.toMatch(/[{}]/);
        const res = send === 'fetch' ? await raw(path, { method: 'POST' }) : await httpxPost(path);
        expect(res.status, `${send} POST ${template}: ${JSON.stringify(res.body)}`).not.toBe(415);
        expect(res.status, `${send} POST ${template}`).toBeLessThan(500);
        if (res.status >= 400)
          expect((res.body as { error: { code: string } }).error.code).not.toBe('VALIDATION_ERROR');
      }
    }
    // Empty body with a non-JSON content type: still nothing to read.
    const typed = await raw(`/api/v1/datasets/${datasetId}/uploads/complete`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
    });
    expect(typed.status, typed.text).toBeLessThan(300);
    // The fast lane: an empty batch is judged by its schema (400 naming the field), not refused as 415.
    const batch = await raw('/api/v1/datasets/batch', { method: 'POST' });
    expectCleanError(batch, 'INVALID_DATASET_ID', 400);
    expect((await httpxPost('/api/v1/datasets/batch')).status).toBe(400);
    // A body that is there must still be JSON.
    const notJson = await raw(`/api/v1/datasets/${datasetId}/versions`, {
      method: 'POST',
      body: 'note=x',
      headers: { 'content-type': 'text/plain' },
    });
    expectCleanError(notJson, 'UNSUPPORTED_MEDIA_TYPE', 415);
  });
});

describe('console and docs: security headers, compressed and cached assets (item 12)', () => {
  it('sends CSP, frame-ancestors, nosniff and Referrer-Policy on the console and docs; nosniff on the API', async () => {
    for (const path of ['/', '/docs/']) {
      const res = await raw(path, { token: null, headers: { accept: 'text/html' } });
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/default-src 'self'/);
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      expect(csp, path).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    // The fast lane, the generic REST path, and tRPC.
    for (const path of [
      `/api/v1/datasets/${datasetId}`,
      '/api/v1/auth/service-accounts',
      '/trpc/auth.session',
    ]) {
      const res = await raw(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('the docs page loads no inline script (its CSP allows none; the console is checked in a browser by the admin e2e)', async () => {
    const docs = (await raw('/docs/', { token: null, headers: { accept: 'text/html' } })).text;
    const tags = docs.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [];
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) expect(tag).toMatch(/^<script src="\/[^"]+"><\/script>$/);
  });

  it('serves hashed assets compressed with a year-long immutable cache, index.html with no-cache', async () => {
    for (const encoding of ['br', 'gzip']) {
      const res = await fetch(`${server.url}/assets/${ASSET}`, {
        headers: { 'accept-encoding': encoding },
      });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(res.headers.get('vary') ?? '').toMatch(/accept-encoding/i);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const index = await raw('/', { token: null, headers: { accept: 'text/html' } });
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const deep = await raw('/datasets/anything', { token: null, headers: { accept: 'text/html' } });
    expect(deep.headers.get('cache-control')).toBe('no-cache');
  });
});

describe('tRPC batch size (item 12)', () => {
  it('refuses a batch of more than 50 calls with 400; 50 still run', async () => {
    const calls = (n: number) => Array.from({ length: n }, () => 'auth.session').join(',');
    const input = (n: number) =>
      encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))));
    const ok = await raw(`/trpc/${calls(50)}?batch=1&input=${input(50)}`, { token: null });
    expect(ok.status, ok.text.slice(0, 200)).toBe(200);
    const tooMany = await raw(`/trpc/${calls(300)}?batch=1&input=${input(300)}`, { token: null });
    expect(tooMany.status, tooMany.text.slice(0, 200)).toBe(400);
  });
});

describe('header and body timeouts, early 413 (item 12)', () => {
  function rawSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(host.port, host.hostname, () => resolve(socket));
      socket.on('error', reject);
    });
  }
  /** Resolves with what the server sent once it closes the connection (or after `limitMs`, marked open). */
  function untilClosed(socket: Socket, limitMs: number): Promise<{ closed: boolean; data: string }> {
    return new Promise((resolve) => {
      let data = '';
      socket.on('data', (c) => (data += c));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ closed: false, data });
      }, limitMs);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ closed: true, data });
      });
    });
  }

  it('closes a connection that sends half a request line and waits', async () => {
    const socket = await rawSocket();
    socket.write('GET /healthz HT');
    // The configured 1 s header timeout, with generous slack for two busy cores; Node's default is 60 s.
    const result = await untilClosed(socket, 15_000);
    expect(result.closed).toBe(true);
    expect(result.data).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('answers what the HTTP parser refuses (oversized headers, a broken request line) in the envelope', async () => {
    const cases = [
      {
        request: `GET /api/v1/datasets?input=${'a'.repeat(2000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(20_000)}\r\n\r\n`,
        status: 431,
      },
      { request: 'GET /api/v1/datasets HTTP/1.1\r\nHost x\r\n\r\n', status: 400 },
    ];
    for (const { request, status } of cases) {
      const socket = await rawSocket();
      socket.write(request);
      const result = await untilClosed(socket, 15_000);
      expect(result.closed).toBe(true);
      expect(result.data).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      const [head, body] = result.data.split('\r\n\r\n');
      expect(head).toMatch(/content-type: application\/json/i);
      expectEnvelope(JSON.parse(body ?? ''), 'VALIDATION_ERROR');
    }
  });

  it('answers 408 to a JSON body that stops arriving, on the API and tRPC', async () => {
    for (const path of ['/api/v1/datasets', '/trpc/datasets.create']) {
      const socket = await rawSocket();
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
      );
      const result = await untilClosed(socket, 15_000);
      expect(result.closed, path).toBe(true);
      expect(result.data, path).toMatch(/^HTTP\/1\.1 408/);
    }
  });

  it('drops a slow body sent to a route that never reads it (after its answer)', async () => {
    const socket = await rawSocket();
    socket.write('POST /no-such-route HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    const result = await untilClosed(socket, 15_000);
    expect(result.data).toMatch(/^HTTP\/1\.1 404/);
    expect(result.closed).toBe(true);
  });

  it('keeps a presigned upload that streams for longer than the body timeout', async () => {
    const res = await server.request(`/api/v1/datasets/${datasetId}/uploads`, {
      method: 'POST',
      body: { files: [{ path: 'slow.bin' }] },
    });
    expect(res.status, res.text).toBe(200);
    const [upload] = (res.body as { uploads: Array<{ upload_url: string; headers: Record<string, string> }> })
      .uploads;
    const chunks = 10;
    const status = await new Promise<number>((resolve, reject) => {
      const put = httpRequest(
        upload!.upload_url,
        { method: 'PUT', headers: { ...upload!.headers, 'content-length': String(chunks * 1024) } },
        (response) => {
          response.resume();
          resolve(response.statusCode!);
        },
      );
      put.on('error', reject);
      let sent = 0;
      // 10 chunks 500 ms apart: 4.5 s, well past the body deadline (1.5 s + 1 s).
      const tick = () => {
        put.write(Buffer.alloc(1024, 1));
        if (++sent < chunks) setTimeout(tick, 500);
        else put.end();
      };
      tick();
    });
    expect(status).toBe(200);
  });

  it('refuses an oversized chunked body with 413 as soon as it crosses the limit, without reading the rest', async () => {
    for (const path of ['/api/v1/datasets', '/api/v1/datasets/batch', '/trpc/datasets.create']) {
      const socket = await rawSocket();
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = 'a'.repeat(64 * 1024);
      // 6 MiB, more than every door's limit, and then the body never ends: a reader that waits for the end hangs.
      for (let i = 0; i < 96; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      const result = await untilClosed(socket, 15_000);
      expect(result.data, path).toMatch(/^HTTP\/1\.1 413/);
      expect(result.data).toMatch(/"code":"PAYLOAD_TOO_LARGE"/);
    }
  });
});

describe('budgets per IP (item 12)', () => {
  let budgeted: TestServer;
  beforeAll(async () => {
    budgeted = await startTestServer({ env: { LABELER_UNAUTHENTICATED_PER_IP: '20' } });
  });
  afterAll(async () => budgeted?.stop());

  it('sign-in: one IP spraying 40 emails is throttled after its budget with 429 + Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${budgeted.url}/trpc/auth.signIn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `user${i}@example.test`, password: 'wrong password' }),
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
      await res.text();
    }
    const firstThrottled = statuses.indexOf(429);
    expect(firstThrottled).toBeGreaterThan(0);
    expect(firstThrottled).toBeLessThanOrEqual(30);
    expect(statuses.slice(0, firstThrottled).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(firstThrottled).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('unknown keys draw on a per-IP budget before any database lookup; valid keys keep working', async () => {
    // The admin token works before the flood.
    expect((await budgeted.request('/api/v1/datasets')).status).toBe(200);
    const execute = vi.spyOn(budgeted.services.orm.em, 'execute');
    const lookups = () =>
      execute.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.includes('from "service_account"'))
        .length;
    const statuses: number[] = [];
    let last: Awaited<ReturnType<TestServer['request']>> | null = null;
    for (let i = 0; i < 60; i++) {
      last = await budgeted.request(i % 2 ? '/api/v1/datasets' : `/api/v1/datasets/ds_${'0'.repeat(16)}`, {
        token: `unknown-key-${String(i).padStart(20, '0')}`,
      });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    const envelope = expectEnvelope(last!.body, 'RATE_LIMIT_EXCEEDED');
    expect(envelope.error.details.retry_after_seconds).toBeGreaterThan(0);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(lookups()).toBeLessThanOrEqual(20);
    // Missing credentials count too (they cost no lookup, but the budget is the IP's).
    expect((await budgeted.request('/api/v1/datasets', { token: null })).status).toBe(429);
    // The key that authenticated before keeps working, on the fast lane and the generic path.
    expect((await budgeted.request('/api/v1/datasets')).status).toBe(200);
    expect((await budgeted.request('/api/v1/auth/service-accounts')).status).toBe(200);
    execute.mockRestore();
  });
});
