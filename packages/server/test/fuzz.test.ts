/**
 * Property-based fuzz of every REST operation of the OpenAPI document (issue 17): ≥ 2,000 malformed
 * requests per operation — mutated path params, query strings, headers (content-type, Idempotency-Key,
 * Authorization forms) and bodies (wrong types, deep nesting, lone surrogates, NUL, invalid UTF-8,
 * truncated JSON, non-JSON) — with the admin key and without. Every answer must be below 500 (except a 503
 * the operation documents), every error the exact envelope, and no stack trace in a body or an error log.
 *
 * Requests are generated from the document itself (parameters, request body schemas), so a new route is
 * fuzzed without an edit here. Violations are counted rather than thrown, so the summary line counts them
 * all; set FUZZ_SEED to replay a run.
 */
import { Writable } from 'node:stream';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../src/http/openapi.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { appRouter } from '../src/trpc/app-router.js';
import { LABEL_SCHEMA } from './annotation-helpers.js';
import { createDataset, envelopeProblem, SYSTEM_ACTOR } from './helpers.js';

const REQUESTS_PER_OPERATION = Number(process.env.FUZZ_REQUESTS ?? 2000);
/** Requests in flight at once (one property run sends one batch concurrently). */
const CONCURRENCY = 16;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const STACK = /\bat .+\.(ts|js):\d+/;

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
  pattern?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  required?: string[];
};
interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: Array<{ in: string; name: string; schema: Schema }>;
  body: Schema | null;
  documented503: boolean;
}
interface FuzzRequest {
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** What kind of body it is (for the report). */
  kind: string;
}

let server: TestServer;
let sim: LabelStudioSimulator;
let operations: Operation[] = [];
let components: Record<string, Schema> = {};
const logLines: string[] = [];
/** Real ids by path parameter name, so that some requests get past the id checks into the procedures. */
const fixtures: Record<string, string[]> = {};

const totals = { requests: 0, fivexx: 0, envelopes: 0, stacks: 0 };

/**
 * Operations that destroy their fixture (DELETE, revoke) go last, so the others keep reaching a live one.
 * Test names come from the document built at collection time (the server serves the same one).
 */
const destroys = (_id: string, method: string, path: string) =>
  method === 'delete' || path.endsWith('/revoke');
function byName(a: { operationId: string; method: string; path: string }, b: typeof a): number {
  const da = destroys(a.operationId, a.method.toLowerCase(), a.path);
  const db = destroys(b.operationId, b.method.toLowerCase(), b.path);
  return da === db ? a.operationId.localeCompare(b.operationId) : da ? 1 : -1;
}
const OPERATION_NAMES = Object.entries(
  buildOpenApiDocument(appRouter, 'http://localhost').paths as Record<
    string,
    Record<string, { operationId: string }>
  >,
)
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ operationId: op.operationId, method, path })),
  )
  .sort(byName)
  .map((o) => o.operationId);
const examples: string[] = [];
const seen = new Set<string>();
const fivexxByKind: Record<string, number> = {};
/** How many answers had each status: shows how deep the requests got (2xx: past every check). */
const statuses: Record<number, number> = {};

beforeAll(async () => {
  sim = await startLabelStudioSimulator({});
  server = await startTestServer({
    env: {
      LABELER_RATE_LIMIT_PER_ACCOUNT: '1000000',
      LABELER_RATE_LIMIT_PER_DATASET: '1000000',
      // Half the requests carry no valid credential, all from 127.0.0.1: let them reach the routes.
      LABELER_UNAUTHENTICATED_PER_IP: '1000000',
    },
    // Error-level lines only, collected to be checked for stacks.
    logger: pino(
      { level: 'error' },
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      }),
    ),
  });
  const s = server.services;
  const org = await s.organizations.create('Fuzz org', 'fuzz', SYSTEM_ACTOR);
  const dataset = (await createDataset(server, { name: 'fuzz', organization_id: org.id })).id;
  const backend = await s.plugins.create({
    pluginId: 'label-studio',
    name: 'label-studio',
    config: { url: sim.url, apiKey: sim.legacyToken, retryBaseDelayMs: 5, maxRetries: 0 },
  });
  const { project } = await s.annotation.create(
    { dataset_id: dataset, backend_instance_id: backend.id, name: 'fuzz', label_schema: LABEL_SCHEMA },
    SYSTEM_ACTOR,
  );
  const sa = await s.serviceAccounts.create({ name: 'fuzz', scopes: ['datasets:read'] }, SYSTEM_ACTOR);
  const job = await s.jobs.startJob('dataset.adopt-files', { dataset_id: dataset }, { createdBy: 'fuzz' });
  Object.assign(fixtures, {
    dataset_id: [dataset],
    project_id: [project.id],
    service_account_id: [sa.service_account_id],
    job_id: [job.job.id],
    user_id: ['1', '42'],
    task_id: ['1'],
    backend_instance_id: [backend.id],
  });

  const doc = (await server.request('/api/v1/openapi.json')).body as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, Schema> };
  };
  components = doc.components.schemas;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)
        ?.content;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId),
        parameters: (op.parameters as Operation['parameters'] | undefined) ?? [],
        body: content?.['application/json']?.schema ?? null,
        documented503: Boolean((op.responses as Record<string, unknown>)['503']),
      });
    }
  }
  operations = operations.sort(byName);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await sim?.stop();
});

// ---- arbitraries ---------------------------------------------------------------------------------------

/** Strings that have broken servers before: lone surrogates, NUL, controls, bidi, huge, injections. */
const nastyString = fc.oneof(
  fc.constantFrom(
    '\ud800',
    'name\udfff',
    'a\ud800b',
    '\u0000',
    'x\u0000y',
    '\u0007\u001b[31m',
    '\u202eevil',
    '🙂',
    '',
    ' ',
    "' or 1=1 --",
    '../../etc/passwd',
    '%00',
    '%ff',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
    '${7*7}',
    '<script>alert(1)</script>',
    '\r\nX-Injected: 1',
    'a'.repeat(5000),
    'ds_',
    'ds_0000000000000000',
    'prj_zz',
    'null',
    'undefined',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }),
);

/** Any JSON-ish value, biased to the shapes a validator must refuse. */
const garbage: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, 0, -1, 2 ** 31, 2 ** 53, 1e308, -0, 1.5),
  fc.constant(JSON.parse('{"__proto__":{"admin":true}}') as unknown),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(nastyString, { maxLength: 4 }),
);

function resolve(schema: Schema | undefined, depth = 0): Schema {
  if (!schema) return {};
  if (schema.$ref && depth < 8) return resolve(components[schema.$ref.split('/').pop()!], depth + 1);
  return schema;
}

/** A value that mostly fits `schema` (so that requests get deep), and sometimes does not. */
function valueFor(raw: Schema | undefined, name: string, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  const near = nearValue(schema, name, depth);
  return fc.oneof({ arbitrary: near, weight: 9 }, { arbitrary: garbage, weight: 1 });
}

function nearValue(schema: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
  if (depth > 5) return garbage;
  if (fixtures[name]) return fc.constantFrom(...fixtures[name]);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (variants?.length) return fc.oneof(...variants.map((v) => nearValue(resolve(v), name, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 30 }), weight: 3 }, nastyString);
    case 'integer':
      return fc.oneof(
        fc.integer({
          min: schema.minimum ?? (schema.exclusiveMinimum ?? -11) + 1,
          max: Math.min(schema.maximum ?? 1000, 2 ** 31),
        }),
        fc.integer(),
      );
    case 'number':
      return fc.double();
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueFor(schema.items, name, depth + 1), { maxLength: 4 });
    case 'object': {
      const props = Object.entries(schema.properties ?? {});
      if (!props.length) return fc.dictionary(fc.string({ maxLength: 8 }), garbage, { maxKeys: 3 });
      return fc.record(Object.fromEntries(props.map(([key, s]) => [key, valueFor(s, key, depth + 1)])), {
        requiredKeys: [],
      });
    }
    default:
      return garbage;
  }
}

const DEPTHS = [64, 1000, 5000];
const huge = `{"name":"${'x'.repeat(1_100_000)}"}`;
type Body = { kind: string; body: string | Uint8Array | undefined };
const tag =
  (kind: string) =>
  (body: string | Uint8Array | undefined): Body => ({ kind, body });

/** Bodies, each tagged with its kind: the schema's shape with wrong values, and bytes no parser accepts. */
function bodyFor(op: Operation): fc.Arbitrary<Body> {
  const schema = resolve(op.body ?? undefined);
  // The schema's shape, and its required keys only (the likeliest to get past validation into the route).
  const required = Object.fromEntries(
    Object.entries(schema.properties ?? {}).filter(([key]) => schema.required?.includes(key)),
  );
  const shaped = op.body
    ? fc.oneof(nearValue(schema, 'body', 0), nearValue({ ...schema, properties: required }, 'body', 0))
    : fc.constant({});
  const json = shaped.map((v) => JSON.stringify(v) ?? 'null');
  const invalidUtf8 = fc.constantFrom(
    [0xff],
    [0xc3, 0x28],
    [0xed, 0xa0, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
  );
  return fc.oneof(
    { arbitrary: json.map(tag('near-valid')), weight: 200 },
    { arbitrary: garbage.map((v) => JSON.stringify(v) ?? 'null').map(tag('wrong type')), weight: 60 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...DEPTHS), fc.boolean())
        .map(([n, arrays]) =>
          arrays ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`,
        )
        .map(tag('deep nesting')),
      weight: 40,
    },
    {
      // An escaped lone surrogate appended to one string of otherwise well-formed JSON.
      arbitrary: fc
        .tuple(json, fc.nat())
        .map(([text, n]) => {
          const strings = [...text.matchAll(/"([^"\\]*)"(?=\s*[,}\]])/g)];
          const hit = strings[n % Math.max(1, strings.length)];
          if (!hit) return text.replace(/^\{/, '{"name":"\\ud800",');
          const end = hit.index + hit[0].length - 1;
          return `${text.slice(0, end)}\\ud800${text.slice(end)}`;
        })
        .map(tag('lone surrogate')),
      weight: 40,
    },
    { arbitrary: json.map((text) => text.replace(/":"/g, '":"\\u0000')).map(tag('NUL')), weight: 20 },
    {
      arbitrary: fc
        .tuple(json, invalidUtf8)
        .map(([text, bytes]) => {
          const head = Buffer.from(text.slice(0, Math.max(1, text.length - 2)));
          return new Uint8Array(Buffer.concat([head, Buffer.from(bytes), Buffer.from(text.slice(-2))]));
        })
        .map(tag('invalid UTF-8')),
      weight: 40,
    },
    {
      arbitrary: fc
        .tuple(json, fc.nat())
        .map(([text, n]) => text.slice(0, n % Math.max(1, text.length)))
        .map(tag('truncated JSON')),
      weight: 40,
    },
    {
      arbitrary: fc
        .constantFrom(
          'not json',
          '<xml/>',
          'a=1&b=2',
          '\u0000\u0000',
          '{"a":1}{"b":2}',
          '[1,2',
          '{"__proto__":{"admin":true}}',
          '{"a":1,"a":2}',
          '1e99999',
          '"\\ud800"',
          '{"dataset_ids":"\\ud83d"}',
        )
        .map(tag('non-JSON')),
      weight: 40,
    },
    { arbitrary: fc.constant(tag('none')(undefined)), weight: 20 },
    { arbitrary: fc.constant(tag('empty')('')), weight: 20 },
    { arbitrary: fc.constant(tag('over 1 MB')(huge)), weight: 1 },
  );
}

/** A path segment: a real id, a near miss, raw bytes and broken percent-escapes. */
function segmentFor(name: string, schema: Schema): fc.Arbitrary<string> {
  const real = fixtures[name] ?? ['x'];
  const encode = (s: string) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return '%ED%A0%80'; // a lone surrogate, as (invalid) UTF-8
    }
  };
  return fc.oneof(
    { arbitrary: fc.constantFrom(...real), weight: 4 },
    { arbitrary: fc.constantFrom(...real).map((id) => `${id}${'0'.repeat(70)}`), weight: 1 },
    { arbitrary: nastyString.map(encode), weight: 3 },
    { arbitrary: nearValue(schema, `${name}:raw`, 0).map((v) => encode(String(v))), weight: 1 },
    {
      arbitrary: fc.constantFrom('%', '%zz', '%ff', '%00', '%ED%A0%80', '%C0%AF', '..', '%2e%2e%2f'),
      weight: 2,
    },
  );
}

function queryFor(op: Operation): fc.Arbitrary<string> {
  const names = [...op.parameters.filter((p) => p.in === 'query').map((p) => p.name), 'input', 'fields', 'x'];
  const value = fc.oneof(
    nastyString.map((s) => {
      try {
        return encodeURIComponent(s);
      } catch {
        return '%ED%A0%80';
      }
    }),
    fc.constantFrom('1', '0', '-1', '1e9', 'true', 'yes', '', '%', '%zz', '%00', '[]', '{}', 'a,b,,c'),
  );
  return fc
    .array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 5 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
}

function headersFor(): fc.Arbitrary<Record<string, string>> {
  const authorization = fc.oneof(
    { arbitrary: fc.constant(`Bearer ${server.adminToken}`), weight: 6 },
    { arbitrary: fc.constant(undefined), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer  x y',
        `bearer ${server.adminToken}`,
        `Bearer ${server.adminToken}  `,
        `Bearer ${server.adminToken}x`,
        'Basic dXNlcjpwYXNz',
        'Bearer lbl_sa_tooshort',
        `Bearer lbl_sa_${'A'.repeat(38)}`,
        `Bearer ${'k'.repeat(10_000)}`,
        'Digest username="x"',
        'Bearer \u00ff\u00fe',
      ),
      weight: 3,
    },
  );
  const contentType = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 6 },
    {
      arbitrary: fc.constantFrom(
        undefined,
        'text/plain',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/merge-patch+json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'application/json, text/plain',
        ';;;',
        'application/jso',
      ),
      weight: 3,
    },
  );
  const idempotencyKey = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 12 },
    { arbitrary: fc.uuid(), weight: 4 },
    { arbitrary: fc.constantFrom('', 'same-key', ' ', 'k'.repeat(5000), '\u00e9\u00ff'), weight: 2 },
  );
  return fc
    .record({
      authorization,
      contentType,
      idempotencyKey,
      requestId: fc.option(fc.stringMatching(/^[ -~]{0,200}$/)),
    })
    .map(({ authorization, contentType, idempotencyKey, requestId }) => {
      const headers: Record<string, string> = {};
      if (authorization !== undefined) headers.authorization = authorization;
      if (contentType !== undefined) headers['content-type'] = contentType;
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
      if (requestId !== null) headers['x-request-id'] = requestId;
      return headers;
    });
}

function requestFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const schemaOf = (name: string) => op.parameters.find((p) => p.name === name)?.schema ?? {};
  const hasBody = op.method === 'POST' || op.method === 'PATCH' || op.method === 'PUT';
  return fc
    .record({
      segments: fc.tuple(...names.map((n) => segmentFor(n, schemaOf(n)))),
      query: fc.oneof(fc.constant(''), queryFor(op)),
      headers: headersFor(),
      body: hasBody ? bodyFor(op) : fc.constant(tag('none')(undefined)),
    })
    .map(({ segments, query, headers, body }) => {
      let i = 0;
      const path = op.path.replace(/\{\w+\}/g, () => segments[i++] as string);
      return { path, query, headers, body: body.body, kind: body.kind };
    });
}

// ---- sending and judging -------------------------------------------------------------------------------

async function send(op: Operation, req: FuzzRequest): Promise<{ status: number; text: string }> {
  const url = `${server.url}/api/v1${req.path}${req.query ? `?${req.query}` : ''}`;
  try {
    const res = await fetch(url, {
      method: op.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
    });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    // fetch refuses some requests itself (e.g. a header it will not send): that is no answer to judge.
    if (error instanceof TypeError && !/fetch failed/.test(error.message)) return { status: 0, text: '' };
    throw error;
  }
}

/** The exact envelope: `{"error":{code,message,details,timestamp}}` and nothing else. */
function isEnvelope(text: string): boolean {
  try {
    return envelopeProblem(JSON.parse(text)) === null;
  } catch {
    return false; // not JSON at all
  }
}

function describeRequest(op: Operation, req: FuzzRequest): string {
  const body =
    req.body === undefined
      ? ''
      : typeof req.body === 'string'
        ? req.body.slice(0, 160)
        : `<bytes ${Buffer.from(req.body).toString('hex').slice(0, 80)}>`;
  const auth = req.headers.authorization?.startsWith(`Bearer ${server.adminToken}`) ? 'admin' : 'other';
  return `${op.method} ${req.path.slice(0, 120)}${req.query ? `?${req.query.slice(0, 80)}` : ''} [${auth}, ${req.headers['content-type'] ?? 'no type'}] ${body}`;
}

function judge(op: Operation, req: FuzzRequest, res: { status: number; text: string }) {
  if (res.status === 0) return;
  totals.requests++;
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  const problems: string[] = [];
  if (res.status >= 500 && !(res.status === 503 && op.documented503)) {
    totals.fivexx++;
    problems.push(`${res.status}`);
  }
  if (res.status >= 400 && !isEnvelope(res.text)) {
    totals.envelopes++;
    problems.push(`not the envelope: ${res.text.slice(0, 120)}`);
  }
  if (STACK.test(res.text)) {
    totals.stacks++;
    problems.push('stack trace in the body');
  }
  if (problems.length) {
    // One example per operation, problem and body kind.
    const key = `${op.operationId} ${problems.join('; ').slice(0, 40)} ${req.kind}`;
    if (!seen.has(key)) {
      seen.add(key);
      examples.push(`${problems.join('; ')} [${req.kind}] ← ${describeRequest(op, req)}`);
    }
    if (res.status >= 500) fivexxByKind[req.kind] = (fivexxByKind[req.kind] ?? 0) + 1;
  }
}

describe('fuzz: malformed requests to every REST operation', () => {
  it('the OpenAPI document lists the operations', () => {
    expect(operations.length).toBeGreaterThan(20);
  });

  it('the served document has exactly the operations fuzzed below', () => {
    expect(operations.map((o) => o.operationId)).toEqual(OPERATION_NAMES);
  });

  // One test per operation, named after it, so a failure points at the route.
  for (const name of OPERATION_NAMES) {
    it(name, async () => {
      const op = operations.find((o) => o.operationId === name);
      if (!op) throw new Error(`operation ${name} is not in the OpenAPI document`);
      const before = { ...totals };
      await fc.assert(
        fc.asyncProperty(
          fc.array(requestFor(op), { minLength: CONCURRENCY, maxLength: CONCURRENCY }),
          async (batch) => {
            const answers = await Promise.all(batch.map((req) => send(op, req)));
            for (const [i, res] of answers.entries()) judge(op, batch[i]!, res);
          },
        ),
        { numRuns: Math.ceil(REQUESTS_PER_OPERATION / CONCURRENCY), seed: SEED, endOnFailure: true },
      );
      const sent = totals.requests - before.requests;
      expect(sent).toBeGreaterThanOrEqual(REQUESTS_PER_OPERATION * 0.98);
      expect({
        fivexx: totals.fivexx - before.fivexx,
        envelopes: totals.envelopes - before.envelopes,
        stacks: totals.stacks - before.stacks,
      }).toEqual({ fivexx: 0, envelopes: 0, stacks: 0 });
    }, 600_000);
  }

  it('summary: 0 × 5xx, every error the envelope, no stack traces in bodies or error logs', async () => {
    // Error-level lines with a stack (an unhandled error behind a 4xx or 5xx).
    const logStacks = logLines.filter((line) => {
      try {
        const entry = JSON.parse(line) as { level?: number };
        return (entry.level ?? 0) >= 50 && (STACK.test(line) || line.includes('"stack"'));
      } catch {
        return STACK.test(line);
      }
    });
    totals.stacks += logStacks.length;
    console.log(
      `fuzz: ${totals.requests} requests over ${operations.length} operations, ${totals.fivexx} 5xx, ` +
        `${totals.envelopes} malformed envelopes, ${totals.stacks} stack traces (seed ${SEED})`,
    );
    console.log(`fuzz statuses: ${JSON.stringify(statuses)}`);
    if (totals.fivexx) console.log(`5xx by body kind: ${JSON.stringify(fivexxByKind)}`);
    if (examples.length) console.log(`examples:\n  ${examples.slice(0, 80).join('\n  ')}`);
    if (logStacks.length)
      console.log(
        `error logs with a stack:\n  ${logStacks
          .slice(0, 5)
          .map((l) => l.slice(0, 400))
          .join('\n  ')}`,
      );
    expect(totals.requests).toBeGreaterThanOrEqual(operations.length * REQUESTS_PER_OPERATION * 0.98);
    expect({ fivexx: totals.fivexx, envelopes: totals.envelopes, stacks: totals.stacks }).toEqual({
      fivexx: 0,
      envelopes: 0,
      stacks: 0,
    });
  });
});
