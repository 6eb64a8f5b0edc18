/**
 * Dataset API benchmark (issue: Dataset API). Seeds 100k datasets in PostgreSQL, then for each endpoint
 * measures (a) P50/P95/P99 latency at a fixed offered load of 1,000 requests/s and (b) maximum throughput
 * at 50 concurrent connections — Labeler (auth + rate limiting on) beside a bare express + pg handler
 * running the same query, both measured in this run. Servers run in their own processes.
 *
 * BENCH_SECONDS (default 8) sets each measurement's duration; BENCH_DATASETS (default 100000) the seed size;
 * BENCH_ROUNDS (default 3) the fixed-load rounds per side; BENCH_ENDPOINTS (e.g. "get,list") a subset;
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the Labeler server process there (open it in Chrome DevTools).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { Pool } from 'undici';
import { percentile, writeBenchResult, type BenchRow } from '../../../bench/report.js';
import { PRODUCTION_NODE_FLAGS } from '../src/node-flags.js';
import { createTestDatabase } from '../src/testing/database.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const DATASETS = Number(process.env.BENCH_DATASETS ?? 100_000);
const RATE = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function startProcess(
  script: string,
  env: Record<string, string>,
  extraFlags: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      // The flags production runs with (src/node-flags.ts); the bare handler gets them too.
      ...PRODUCTION_NODE_FLAGS,
      ...extraFlags,
      '--conditions=@labeler/source',
      '--import',
      'tsx',
      fileURLToPath(new URL(script, import.meta.url)),
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (c) => {
    err = (err + String(c)).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += String(c);
      const m = /LISTENING (\S+)/.exec(out);
      if (!m) return;
      // Keep draining the child's output without accumulating it (the load generator shares this process).
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve(m[1]!);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${err.slice(-1500)}`)));
  });
  return { url, child };
}

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  labeler: (i: number) => { path: string; body?: string };
  bare: (i: number) => { path: string; body?: string };
  p95TargetMs: number;
}

const id = (i: number) => `ds_${(i % DATASETS).toString(16).padStart(16, '0')}`;
/** Seeded datasets with i % 3 == 0 are public, so user 1 (the requests' user_id) may download them. */
const ARCHIVES = 200;
const publicId = (i: number) => id((i % ARCHIVES) * 3);
const batchIds = (i: number) => Array.from({ length: 50 }, (_, k) => id(i * 50 + k * 1999));

const ENDPOINTS: Endpoint[] = [
  {
    name: 'get',
    method: 'GET',
    labeler: (i) => ({ path: `/api/v1/datasets/${id(i * 7919)}` }),
    bare: (i) => ({ path: `/datasets/${id(i * 7919)}` }),
    p95TargetMs: 5,
  },
  {
    name: 'permissions',
    method: 'GET',
    labeler: (i) => ({ path: `/api/v1/datasets/${id(i * 7919)}/permissions/42` }),
    bare: (i) => ({ path: `/datasets/${id(i * 7919)}/permissions/42` }),
    p95TargetMs: 5,
  },
  {
    name: 'download-url',
    method: 'POST',
    labeler: (i) => ({
      path: `/api/v1/datasets/${publicId(i)}/download-url`,
      body: '{"user_id":1,"expiration_seconds":3600}',
    }),
    bare: (i) => ({ path: `/datasets/${publicId(i)}/download-url`, body: '{}' }),
    p95TargetMs: 5,
  },
  {
    name: 'list',
    method: 'GET',
    labeler: () => ({ path: '/api/v1/datasets?visibility=public&labeled=true' }),
    bare: () => ({ path: '/datasets' }),
    p95TargetMs: 15,
  },
  {
    name: 'batch-50',
    method: 'POST',
    labeler: (i) => ({ path: '/api/v1/datasets/batch', body: JSON.stringify({ dataset_ids: batchIds(i) }) }),
    bare: (i) => ({ path: '/datasets/batch', body: JSON.stringify({ dataset_ids: batchIds(i) }) }),
    p95TargetMs: 15,
  },
];

/** Closed-loop maximum throughput: autocannon with `connections` requests always in flight. */
async function load(
  url: string,
  method: 'GET' | 'POST',
  make: (i: number) => { path: string; body?: string },
  headers: Record<string, string>,
  options: { connections: number },
) {
  let i = 0;
  const times: number[] = [];
  const statuses = new Map<number, number>();
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections: options.connections,
        duration: SECONDS,
        requests: [
          {
            method,
            headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
            setupRequest: (req) => {
              const r = make(i++);
              return { ...req, path: r.path, ...(r.body ? { body: r.body } : {}) };
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    times.push(responseTime);
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  const result = await finished;
  return { times, statuses, rps: result.requests.total / SECONDS, errors: result.errors + result.timeouts };
}

/**
 * Open-loop load at a fixed rate, spread evenly: request n leaves at start + n/rate whatever the earlier
 * ones are doing (autocannon's overallRate instead sends each second's quota in a burst at the start of
 * the second, which measures its own queueing more than the server). Latency runs from each request's
 * scheduled send time, so a server (or a generator) that falls behind is charged for the wait
 * (no coordinated omission). Up to `connections` requests are in flight; the rest queue in the client.
 */
async function openLoad(
  url: string,
  method: 'GET' | 'POST',
  make: (i: number) => { path: string; body?: string },
  headers: Record<string, string>,
  options: { rate: number; connections: number },
) {
  const pool = new Pool(url, { connections: options.connections, pipelining: 1 });
  const times: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  const total = Math.round(options.rate * SECONDS);
  const interval = 1000 / options.rate;
  const requestHeaders = { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) };
  const send = (i: number) => {
    const r = make(i);
    return pool.request({
      origin: url,
      path: r.path,
      method,
      headers: requestHeaders,
      ...(r.body ? { body: r.body } : {}),
    });
  };
  // Open every connection before the clock starts, as a long-lived client would hold them: otherwise the
  // first second of each round measures TCP connects and the server's per-socket setup, not requests.
  await Promise.all(Array.from({ length: options.connections }, async (_, i) => (await send(i)).body.dump()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const inFlight = new Set<Promise<void>>();
  const timeline: Array<[number, number]> = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    for (; sent < due; sent++) {
      const scheduled = start + sent * interval;
      const p = send(sent)
        .then(async (res) => {
          await res.body.dump();
          times.push(performance.now() - scheduled);
          if (process.env.BENCH_TIMELINE) timeline.push([scheduled - start, performance.now() - scheduled]);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        })
        .catch(() => {
          errors++;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, start + sent * interval - performance.now())),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  if (process.env.BENCH_TIMELINE) {
    // Worst latency per 250 ms of send time: shows whether slow requests are spread out or clustered.
    const worst = new Map<number, number>();
    for (const [at, ms] of timeline)
      worst.set(Math.floor(at / 250), Math.max(worst.get(Math.floor(at / 250)) ?? 0, ms));
    console.log(`${url} worst per 250 ms: ${[...worst.values()].map((v) => v.toFixed(0)).join(' ')}`);
  }
  return { times, statuses, rps: times.length / elapsed, errors };
}

/** CPU time (user + system, ms) a process has used so far, from /proc; 0 once it is gone. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** Every PostgreSQL process on the machine (backends, WAL writer, checkpointer…). */
function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    });
}

/**
 * The CPU a load costs per request, split between the server process and PostgreSQL: steadier across
 * noisy hours than latency, since it counts work done rather than time waited.
 */
async function withCpuPerRequest<T extends { rps: number }>(
  serverPid: number,
  run: () => Promise<T>,
): Promise<T & { serverCpuMs: number; postgresCpuMs: number }> {
  const before = postgresPids().map((pid) => [pid, cpuMsOf(pid)] as const);
  const serverBefore = cpuMsOf(serverPid);
  const result = await run();
  const serverMs = cpuMsOf(serverPid) - serverBefore;
  // Backends that exited during the load are lost to the count; the pools keep theirs open.
  const known = new Map(before);
  let postgresMs = 0;
  for (const pid of postgresPids()) postgresMs += cpuMsOf(pid) - (known.get(pid) ?? 0);
  const requests = Math.max(1, result.rps * SECONDS);
  return { ...result, serverCpuMs: serverMs / requests, postgresCpuMs: postgresMs / requests };
}

/** The server's view-cache lookups so far (all kinds), from its metrics endpoint. */
async function viewCacheLookups(url: string): Promise<{ hit: number; miss: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (result: string) =>
    [
      ...text.matchAll(
        new RegExp(
          `^labeler_dataset_view_cache_lookups_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`,
          'gm',
        ),
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
  return { hit: sum('hit'), miss: sum('miss') };
}

async function main() {
  const db = await createTestDatabase('labeler_bench');
  const adminToken = randomBytes(24).toString('hex');
  const children: ChildProcess[] = [];
  try {
    const labeler = await startProcess(
      '../test/fixtures/serve-child.ts',
      {
        DATABASE_URL: db.url,
        LABELER_ADMIN_TOKEN: adminToken,
        LABELER_SECRET_KEY: 'bench-secret-key-with-at-least-32-characters',
        LABELER_RATE_LIMIT_PER_ACCOUNT: '1000000',
        LABELER_RATE_LIMIT_PER_DATASET: '1000000',
        NODE_ENV: 'production',
        CHILD_WORKERS: 'true',
      },
      process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
    );
    children.push(labeler.child);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    console.log(`seeding ${DATASETS} datasets…`);
    await client.query(`
      insert into "dataset" ("id","organization_id","name","description","format","labeled","storage_type","storage_path","annotation_path","num_classes","num_images","class_names","tags","visibility","owner_id","version","content_hash","created_at","updated_at")
      select 'ds_' || lpad(to_hex(i), 16, '0'), null, 'dataset-' || i, 'Seeded dataset ' || i,
             (array['coco','yolo','dice','imagefolder'])[1 + i % 4], i % 5 <> 0, 'local', 'datasets/ds_' || lpad(to_hex(i), 16, '0') || '/', null,
             2, 1000, array['a','b'], array['seed', 'tag' || (i % 50)], (array['public','private','organization'])[1 + i % 3], 1 + i % 1000, 1,
             'sha256:' || md5(i::text) || md5(i::text), now() - (i || ' seconds')::interval, now()
      from generate_series(0, ${DATASETS - 1}) as i`);
    await client.query(`
      insert into "dataset_version" ("id","dataset_id","version","content_hash","num_images","num_classes","class_names","file_count","total_bytes","archive_status","created_at")
      select 'dsv_' || lpad(to_hex(i), 16, '0'), 'ds_' || lpad(to_hex(i), 16, '0'), 1, 'sha256:x', 1000, 2, array['a','b'], 0, 0, 'none', now()
      from generate_series(0, ${DATASETS - 1}) as i`);
    // Vacuum now: otherwise autovacuum works through the fresh 200k rows during the first measurements.
    await client.query('vacuum analyze');
    const sa = await fetch(`${labeler.url}/api/v1/auth/service-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        service_name: 'bench',
        scopes: ['datasets:read', 'datasets:download', 'datasets:permissions'],
      }),
    });
    const key = ((await sa.json()) as { api_key: string }).api_key;
    // Build archives for the 200 datasets download-url cycles through (empty datasets: README-only zips).
    for (let i = 0; i < ARCHIVES; i++) {
      const res = await fetch(`${labeler.url}/api/v1/datasets/${publicId(i)}/download-url`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: '{}',
      });
      if (res.status !== 202 && res.status !== 200)
        throw new Error(`download-url warmup ${res.status}: ${await res.text()}`);
    }
    // Wait for them: a download-url measured while archives build answers 202 and measures nothing.
    const archivesStarted = performance.now();
    for (let ready = 0; ready < ARCHIVES; ) {
      if (performance.now() - archivesStarted > 300_000)
        throw new Error(`only ${ready} of ${ARCHIVES} archives were ready after 5 minutes`);
      await new Promise((r) => setTimeout(r, 500));
      const { rows } = await client.query(
        `select count(*)::int as n from dataset_version where archive_status = 'ready'`,
      );
      ready = rows[0].n;
    }
    console.log(
      `${ARCHIVES} archives ready in ${((performance.now() - archivesStarted) / 1000).toFixed(1)} s`,
    );
    const bare = await startProcess('./fixtures/bare-server.ts', { DATABASE_URL: db.url });
    children.push(bare.child);

    const rows: BenchRow[] = [];
    const auth = { authorization: `Bearer ${key}` };
    const only = process.env.BENCH_ENDPOINTS?.split(',');
    for (const endpoint of ENDPOINTS.filter((e) => !only || only.includes(e.name))) {
      // The previous endpoint's writes (download-url's audit rows, rate-limit counters) leave the database
      // a checkpoint and vacuum to do; do them now rather than during this endpoint's measurements.
      await client.query('vacuum analyze');
      await client.query('checkpoint');
      const cacheBefore = await viewCacheLookups(labeler.url);
      // Warm both up, then measure each in turn.
      await openLoad(labeler.url, endpoint.method, endpoint.labeler, auth, { connections: 10, rate: 300 });
      await openLoad(bare.url, endpoint.method, endpoint.bare, {}, { connections: 10, rate: 300 });
      // Fixed load in ROUNDS alternating rounds; each percentile is the median over rounds, so a burst of
      // noise from elsewhere on the machine during one round does not decide the result.
      const roundsL: Awaited<ReturnType<typeof openLoad>>[] = [];
      const roundsB: Awaited<ReturnType<typeof openLoad>>[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        roundsL.push(
          await openLoad(labeler.url, endpoint.method, endpoint.labeler, auth, {
            connections: 50,
            rate: RATE,
          }),
        );
        roundsB.push(
          await openLoad(bare.url, endpoint.method, endpoint.bare, {}, { connections: 50, rate: RATE }),
        );
      }
      const maxL = await withCpuPerRequest(labeler.child.pid!, () =>
        load(labeler.url, endpoint.method, endpoint.labeler, auth, { connections: 50 }),
      );
      const maxB = await withCpuPerRequest(bare.child.pid!, () =>
        load(bare.url, endpoint.method, endpoint.bare, {}, { connections: 50 }),
      );
      const bad = [...roundsL.flatMap((r) => [...r.statuses.entries()]), ...maxL.statuses.entries()].filter(
        ([s]) => s !== 200,
      );
      // Anything but 200 means the run measured another path (a 202 "building" download-url, say).
      if (bad.length) console.warn(`${endpoint.name}: non-200 statuses ${JSON.stringify(bad)}`);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const pL = (q: number) => median(roundsL.map((r) => percentile(r.times, q)));
      const pB = (q: number) => median(roundsB.map((r) => percentile(r.times, q)));
      const fixedL = { rps: median(roundsL.map((r) => r.rps)) };
      const fixedB = { rps: median(roundsB.map((r) => r.rps)) };
      const p95L = pL(95);
      const p95B = pB(95);
      rows.push(
        {
          metric: `${endpoint.name} p50 @1000rps`,
          value: pL(50),
          unit: 'ms',
          baseline: pB(50),
          ratio: pL(50) / Math.max(pB(50), 0.001),
        },
        {
          metric: `${endpoint.name} p95 @1000rps`,
          value: p95L,
          unit: 'ms',
          baseline: p95B,
          ratio: p95L / Math.max(p95B, 0.001),
          target: `<= ${endpoint.p95TargetMs} ms and <= 2x bare`,
          pass: p95L <= endpoint.p95TargetMs && p95L <= 2 * Math.max(p95B, 1),
        },
        {
          metric: `${endpoint.name} p99 @1000rps`,
          value: pL(99),
          unit: 'ms',
          baseline: pB(99),
          ratio: pL(99) / Math.max(pB(99), 0.001),
        },
        {
          metric: `${endpoint.name} achieved rate (fixed load)`,
          value: fixedL.rps,
          unit: 'req/s',
          baseline: fixedB.rps,
          ratio: fixedL.rps / fixedB.rps,
        },
        {
          metric: `${endpoint.name} max throughput @50 conns`,
          value: maxL.rps,
          unit: 'req/s',
          baseline: maxB.rps,
          ratio: maxL.rps / maxB.rps,
          ...(endpoint.name === 'get' ? { target: '>= 0.6x bare', pass: maxL.rps / maxB.rps >= 0.6 } : {}),
        },
        {
          metric: `${endpoint.name} server CPU per request`,
          value: maxL.serverCpuMs,
          unit: 'ms',
          baseline: maxB.serverCpuMs,
          ratio: maxL.serverCpuMs / Math.max(maxB.serverCpuMs, 0.001),
        },
        {
          metric: `${endpoint.name} PostgreSQL CPU per request`,
          value: maxL.postgresCpuMs,
          unit: 'ms',
          baseline: maxB.postgresCpuMs,
          ratio: maxL.postgresCpuMs / Math.max(maxB.postgresCpuMs, 0.001),
        },
      );
      // How much of this endpoint the view cache answered (batch datasets and list pages; the bare handler
      // has none): the benchmark's access pattern decides it, so it is reported beside the latencies.
      const cacheAfter = await viewCacheLookups(labeler.url);
      const hits = cacheAfter.hit - cacheBefore.hit;
      const lookups = hits + cacheAfter.miss - cacheBefore.miss;
      if (lookups > 0)
        rows.push({
          metric: `${endpoint.name} view cache hit rate`,
          value: (100 * hits) / lookups,
          unit: '%',
          baseline: null,
          ratio: null,
        });
      console.log(
        `${endpoint.name}: p95 ${p95L.toFixed(2)} ms (bare ${p95B.toFixed(2)}), max ${maxL.rps.toFixed(0)} req/s (bare ${maxB.rps.toFixed(0)}), CPU/request server ${maxL.serverCpuMs.toFixed(3)} + pg ${maxL.postgresCpuMs.toFixed(3)} ms (bare ${maxB.serverCpuMs.toFixed(3)} + ${maxB.postgresCpuMs.toFixed(3)})${lookups ? `, view cache hits ${((100 * hits) / lookups).toFixed(1)}% of ${lookups} lookups` : ''}`,
      );
    }
    await client.end();
    writeBenchResult(only ? `dataset-api.${only.join('-')}` : 'dataset-api', rows, {
      datasets: DATASETS,
      seconds_per_measurement: SECONDS,
      fixed_load_rounds: ROUNDS,
      offered_rate: RATE,
      connections: 50,
    });
  } finally {
    for (const child of children) child.kill('SIGTERM');
    // A CPU profile is written as the server exits; give it time.
    await new Promise((r) => setTimeout(r, process.env.BENCH_CPU_PROF ? 5000 : 1000));
    await db.drop().catch(() => undefined);
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
