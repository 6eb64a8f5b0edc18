import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

// Postman Collection v2.1.0 (draft-07) from postmanlabs/schemas (Apache-2.0), its definitions inlined.
const SCHEMA = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('./fixtures/postman/collection-v2.1.0.schema.json', import.meta.url)),
    'utf8',
  ),
);
const BIN = fileURLToPath(new URL('../bin/labeler.js', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { path: string[] }; auth?: { type: string } };
}
interface Collection {
  info: { _postman_id: string; schema: string };
  item: Item[];
  auth: { type: string; bearer: Array<{ key: string; value: string }> };
  variable: Array<{ key: string; value: string }>;
}

/** "GET /datasets/{dataset_id}" for every operation of an OpenAPI document. */
function operationsOf(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
}

/** The same form for every request of a collection (Postman writes path parameters as `:name`). */
function requestsOf(items: Item[]): Item[] {
  return items.flatMap((item) => (item.item ? requestsOf(item.item) : [item]));
}
function requestKeys(collection: Collection): string[] {
  return requestsOf(collection.item)
    .map((item) => {
      const path = item.request?.url.path.map((part) => part.replace(/^:(.+)$/, '{$1}')).join('/');
      return `${item.request?.method} /${path}`;
    })
    .sort();
}

function expectValidCollection(collection: unknown): asserts collection is Collection {
  const ok = validate(collection);
  expect(validate.errors ?? [], 'Postman v2.1 schema errors').toEqual([]);
  expect(ok).toBe(true);
}

function labeler(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, LABELER_CLI_FROM_SOURCE: '1', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += String(c);
    });
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: TestServer;
let openApi: { paths: Record<string, Record<string, unknown>> };
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'labeler-postman-'));
  const res = await server.request('/api/v1/openapi.json', { token: null });
  expect(res.status).toBe(200);
  openApi = res.body as typeof openApi;
});
afterAll(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Postman collection', () => {
  it('the validator refuses what is not a v2.1 collection (the check below can fail)', () => {
    expect(validate({ info: { name: 'x' }, item: [] })).toBe(false);
    expect(
      validate({
        info: { name: 'x', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
        item: [{ name: 'bad', request: { method: 42, url: 'http://x' } }],
      }),
    ).toBe(false);
  });

  it('GET /api/v1/postman.json is public, a valid v2.1 collection with one request per OpenAPI operation', async () => {
    const res = await server.request('/api/v1/postman.json', { token: null });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const collection = res.body;
    expectValidCollection(collection);
    expect(collection.info.schema).toBe(
      'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    );

    const operations = operationsOf(openApi);
    expect(operations.length).toBeGreaterThan(10);
    expect(requestKeys(collection)).toEqual(operations);
  });

  it('authenticates with bearer {{labeler_api_key}} at the collection level, against {{baseUrl}}', async () => {
    const collection = (await server.request('/api/v1/postman.json', { token: null })).body as Collection;
    expect(collection.auth).toEqual({
      type: 'bearer',
      bearer: [{ key: 'token', value: '{{labeler_api_key}}', type: 'string' }],
    });
    const variables = Object.fromEntries(collection.variable.map((v) => [v.key, v.value]));
    expect(variables).toEqual({ baseUrl: `${server.services.config.publicUrl}/api/v1`, labeler_api_key: '' });
    // Every request inherits it: none carries the converter's own {{bearerToken}}.
    for (const item of requestsOf(collection.item)) expect(item.request?.auth, item.name).toBeUndefined();
    expect(JSON.stringify(collection)).not.toContain('{{bearerToken}}');
  });

  it('is converted once and then served from memory (the same collection id each time)', async () => {
    const first = (await server.request('/api/v1/postman.json', { token: null })).body as Collection;
    const second = (await server.request('/api/v1/postman.json', { token: null })).body as Collection;
    expect(second.info._postman_id).toBe(first.info._postman_id);
    // Counted in metrics under its own fixed label, not as "unmatched".
    const metrics = await server.request('/metrics', { token: null });
    expect(metrics.text).toMatch(/route="\/api\/v1\/postman\.json"/);
  });

  it('labeler openapi [file] and labeler openapi --postman [file] write the same documents', async () => {
    const env = { LABELER_PUBLIC_URL: 'https://labeler.example.test', LABELER_DATA_DIR: tmp };
    const openApiFile = join(tmp, 'openapi.json');
    const postmanFile = join(tmp, 'labeler.postman_collection.json');

    const written = await labeler(['openapi', openApiFile], env);
    expect(written.code, written.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(openApiFile, 'utf8'));
    expect(operationsOf(doc)).toEqual(operationsOf(openApi));
    expect(doc.servers).toEqual([{ url: 'https://labeler.example.test/api/v1' }]);

    const postman = await labeler(['openapi', '--postman', postmanFile], env);
    expect(postman.code, postman.stderr).toBe(0);
    expect(postman.stdout).toContain(postmanFile);
    const collection = JSON.parse(readFileSync(postmanFile, 'utf8'));
    expectValidCollection(collection);
    expect(requestKeys(collection)).toEqual(operationsOf(openApi));
    expect(collection.variable).toContainEqual(
      expect.objectContaining({ key: 'baseUrl', value: 'https://labeler.example.test/api/v1' }),
    );

    const stdout = await labeler(['openapi', '--postman'], env);
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(requestKeys(JSON.parse(stdout.stdout))).toEqual(operationsOf(openApi));
  });
});
