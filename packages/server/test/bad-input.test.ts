import { ERROR_CODES, isErrorCode } from '@labeler/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createDataset, expectEnvelope } from './helpers.js';

let server: TestServer;
let datasetId: string;

beforeAll(async () => {
  server = await startTestServer();
  datasetId = (await createDataset(server, { name: 'fuzz target' })).id;
});
afterAll(async () => server?.stop());

const NASTY_STRINGS = [
  '',
  ' ',
  '%00',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  "'; drop table dataset; --",
  '데이터셋',
  '数据集',
  '🙂🙃',
  'ds_' + 'a'.repeat(5000),
  'ds_ABC',
  'ds_-1',
  '\u202e\u0000',
  '{"$gt":""}',
  '1e309',
  '-1',
  'null',
];

const PATH_TEMPLATES = [
  (v: string) => `/api/v1/datasets/${v}`,
  (v: string) => `/api/v1/datasets/${v}/permissions/42`,
  (v: string) => `/api/v1/datasets/${datasetId}/permissions/${v}`,
  (v: string) => `/api/v1/datasets/${v}/versions`,
  (v: string) => `/api/v1/datasets?limit=${v}`,
  (v: string) => `/api/v1/datasets?page=${v}`,
  (v: string) => `/api/v1/datasets?tags=${v}`,
  (v: string) => `/api/v1/datasets?format=${v}`,
  (v: string) => `/api/v1/datasets?labeled=${v}&visibility=${v}&user_id=${v}`,
];

const BODY_ROUTES: Array<{ method: string; path: () => string }> = [
  { method: 'POST', path: () => '/api/v1/datasets/batch' },
  { method: 'POST', path: () => `/api/v1/datasets/${datasetId}/download-url` },
  { method: 'POST', path: () => '/api/v1/datasets' },
  { method: 'PATCH', path: () => `/api/v1/datasets/${datasetId}` },
  { method: 'POST', path: () => '/api/v1/auth/service-accounts' },
  { method: 'POST', path: () => `/api/v1/datasets/${datasetId}/versions` },
];

function expectNo5xx(res: { status: number; body: unknown; text: string }, what: string) {
  expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    // Fuzzed input has no single expected code, but it must be one of the catalogue's stable codes, and
    // the one that answers this status (a code invented on the way, or a 4xx labelled INTERNAL_ERROR, fails).
    const code = String((res.body as { error?: { code?: unknown } } | null)?.error?.code);
    expect(isErrorCode(code) ? ERROR_CODES[code].status : `unknown code ${code}`, `${what}: ${code}`).toBe(
      res.status,
    );
    const envelope = expectEnvelope(res.body, code);
    expect(envelope.error.message).not.toMatch(/node_modules|\.ts:\d+|\.js:\d+|Error: /);
  }
}

describe('bad input never yields a 5xx or a stack trace', () => {
  it('malformed path and query values on every GET route', async () => {
    for (const template of PATH_TEMPLATES) {
      for (const value of NASTY_STRINGS) {
        const path = template(encodeURIComponent(value));
        expectNo5xx(await server.request(path), `GET ${path.slice(0, 120)}`);
      }
    }
  });

  it('malformed JSON, wrong types, huge and unicode bodies on every body route', async () => {
    const bodies: unknown[] = [
      '{"unterminated":',
      'null',
      '[]',
      '"string"',
      { dataset_ids: 'ds_1' },
      { dataset_ids: [null, 1, {}] },
      { dataset_ids: [], fields: ['password'] },
      { expiration_seconds: -5, user_id: 'x' },
      { expiration_seconds: 1e12 },
      { name: '名前'.repeat(1000), format: 'coco', owner_id: 1 },
      { name: 'x', format: 'coco', owner_id: 2 ** 40 },
      { service_name: '💥', scopes: ['root'] },
      { description: { nested: true } },
      { __proto__: { admin: true }, constructor: { prototype: { x: 1 } } },
    ];
    for (const route of BODY_ROUTES) {
      for (const body of bodies) {
        const res = await server.request(route.path(), { method: route.method, body });
        expectNo5xx(res, `${route.method} ${route.path()} ${JSON.stringify(body).slice(0, 80)}`);
      }
      const huge = await server.request(route.path(), {
        method: route.method,
        body: { name: 'x'.repeat(2 * 1024 * 1024) },
      });
      expect(huge.status).toBe(413);
      expectEnvelope(huge.body, 'PAYLOAD_TOO_LARGE');
      const wrongType = await server.request(route.path(), {
        method: route.method,
        body: 'dataset_ids=1',
        headers: { 'content-type': 'text/plain' },
      });
      expectNo5xx(wrongType, `${route.method} ${route.path()} text/plain`);
    }
  });

  it('random JSON values (property-based) on the batch and download routes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(...BODY_ROUTES),
        async (body, route) => {
          const res = await server.request(route.path(), {
            method: route.method,
            body: JSON.stringify(body),
          });
          expectNo5xx(res, `${route.method} ${route.path()}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('unknown routes and methods answer 404/405 in the envelope', async () => {
    const unknown = await server.request('/api/v1/nope');
    expect(unknown.status).toBe(404);
    expectEnvelope(unknown.body, 'ROUTE_NOT_FOUND');
    const wrongMethod = await server.request(`/api/v1/datasets/${datasetId}`, { method: 'PUT', body: {} });
    expect(wrongMethod.status).toBeGreaterThanOrEqual(400);
    expect(wrongMethod.status).toBeLessThan(500);
    const outside = await server.request('/definitely/not/here', { headers: { accept: 'application/json' } });
    expect(outside.status).toBe(404);
    expectEnvelope(outside.body, 'ROUTE_NOT_FOUND');
  });
});
