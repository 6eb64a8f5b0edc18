/**
 * The fault suite: real HTTP requests against a real server while a worker process is killed, storage
 * goes away, and PostgreSQL refuses connections or is partitioned away (a TCP proxy between the server
 * and PostgreSQL). Every scenario drives a bounded loop of requests and counts what came back; one
 * summary line per scenario is printed, and every count of wrong answers and unexpected 5xx must be 0.
 * The intended answers in an outage are 503s with Retry-After (SERVICE_UNAVAILABLE for the database,
 * R2_UNAVAILABLE for storage); a 500, a hang or any other answer is wrong.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { type S3TestServer, startS3TestServer } from '@labeler/plugin-r2/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker } from '../src/cli/worker.js';
import { loadConfig } from '../src/config/env.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createRunsTable, registerTestJobs } from './fixtures/jobs-defs.js';
import { createDataset, createServiceAccount } from './helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './worker-process.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A request slower than this counts as a hang (the timeouts below are 1 s; /readyz must answer in 2 s). */
const HANG_MS = 8_000;
/** Small limits through configuration, so outages answer within about a second. */
const FAULT_ENV = {
  DATABASE_CONNECT_TIMEOUT_MS: '1000',
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
  DATABASE_LOCK_TIMEOUT_MS: '1000',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '5000',
};

interface Response {
  status: number;
  headers: Headers;
  body: unknown;
  ms: number;
}
type Verdict = 'ok' | 'expected' | string;
interface Probe {
  name: string;
  send(): Promise<Response>;
  /** 'ok' (a correct normal answer), 'expected' (the intended outage answer) or why it is wrong. */
  judge(res: Response): Verdict;
}

class Tally {
  requests = 0;
  expected = 0;
  unexpected5xx = 0;
  /** The slowest answer, in ms. */
  slowest = 0;
  readonly wrong: string[] = [];

  constructor(readonly scenario: string) {}

  async run(probes: readonly Probe[], rounds: number): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        probes.map(async (probe) => {
          this.requests++;
          let res: Response;
          try {
            res = await probe.send();
          } catch (error) {
            this.wrong.push(
              `${probe.name}: ${(error as Error).name === 'TimeoutError' ? 'hang' : (error as Error).message}`,
            );
            return;
          }
          this.slowest = Math.max(this.slowest, res.ms);
          const verdict = probe.judge(res);
          if (verdict === 'expected') this.expected++;
          else if (verdict !== 'ok') {
            this.wrong.push(`${probe.name}: ${verdict}`);
            if (res.status >= 500) this.unexpected5xx++;
          }
        }),
      );
    }
  }

  report(): void {
    console.log(
      `fault suite: ${this.scenario} — ${this.requests} requests, ${this.wrong.length} wrong answers, ${this.unexpected5xx} unexpected 5xx (${this.expected} intended 503s; slowest ${Math.round(this.slowest)} ms)`,
    );
    if (this.wrong.length) console.log(`  first wrong answers: ${this.wrong.slice(0, 5).join(' | ')}`);
  }
}

async function call(
  baseUrl: string,
  path: string,
  init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(HANG_MS),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
}

/** The code of a REST envelope or a tRPC error. */
function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown; data?: { labeler?: { code?: string } } } } | null)
    ?.error;
  return error?.data?.labeler?.code ?? (typeof error?.code === 'string' ? error.code : undefined);
}

function describeAnswer(res: Response): string {
  return `${res.status} ${errorCode(res.body) ?? JSON.stringify(res.body).slice(0, 120)}`;
}

/** The intended answer while a dependency is down: 503 with this code, Retry-After, no stack trace. */
function isOutageAnswer(res: Response, code: string): boolean {
  return (
    res.status === 503 &&
    errorCode(res.body) === code &&
    Number(res.headers.get('retry-after')) > 0 &&
    !JSON.stringify(res.body).match(/\bat .+\.(ts|js):\d+/)
  );
}

describe('fault suite', () => {
  describe('a worker process killed with SIGKILL mid-job', () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ workers: false });
      registerTestJobs(server.services.jobs, server.services.orm);
      await createRunsTable(server.services.orm);
    }, 60_000);
    afterAll(async () => server?.stop());

    it('resumes the job on another worker, completes it exactly once, and the API answers throughout', async () => {
      const databaseUrl = server.database!.url;
      const first = await spawnWorker(databaseUrl, 'silent');
      let second: WorkerProcess | undefined;
      try {
        const { job } = await server.services.jobs.startJob('test.killable', { n: 1 });
        const runs = async () =>
          (await server.services.orm.em
            .fork()
            .getConnection()
            .execute('select attempt, pid from jobs_test_runs where job_id = ? order by at', [
              job.id,
            ])) as Array<{
            attempt: number;
            pid: number;
          }>;
        const deadline = Date.now() + 20_000;
        while (!(await runs()).length) {
          if (Date.now() > deadline) throw new Error('the job never started');
          await new Promise((r) => setTimeout(r, 100));
        }
        first.child.kill('SIGKILL');
        await first.exited;
        second = await spawnWorker(databaseUrl, 'silent');

        const tally = new Tally('worker killed mid-job');
        const states: string[] = [];
        const probe: Probe = {
          name: 'GET /api/v1/jobs/{id}',
          send: () => call(server.url, `/api/v1/jobs/${job.id}`, { token: server.adminToken }),
          judge: (res) => {
            if (res.status !== 200) return describeAnswer(res);
            const state = (res.body as { state: string }).state;
            states.push(state);
            return ['queued', 'in_progress', 'completed'].includes(state) ? 'ok' : `state ${state}`;
          },
        };
        const dataset: Probe = {
          name: 'GET /api/v1/datasets',
          send: () => call(server.url, '/api/v1/datasets', { token: server.adminToken }),
          judge: (res) => (res.status === 200 ? 'ok' : describeAnswer(res)),
        };
        // Heartbeat 10 s (FAST_TUNING), then the retry runs at once on the fresh worker. The bound is
        // generous: on a loaded 2-core machine spawning the second worker alone can take many seconds.
        const settleBy = Date.now() + 120_000;
        while (Date.now() < settleBy && states.at(-1) !== 'completed') {
          await tally.run([probe, dataset], 1);
          await new Promise((r) => setTimeout(r, 250));
        }
        tally.report();
        expect(states.at(-1)).toBe('completed');
        expect(tally.wrong).toEqual([]);
        expect(tally.unexpected5xx).toBe(0);
        const done = await server.services.jobs.get(job.id);
        expect(done).toMatchObject({
          state: 'completed',
          attempts: 2,
          result: { attempt: 2, pid: second.pid },
        });
        // Exactly once to completion: the killed attempt and one more, nothing after.
        expect((await runs()).map((r) => r.attempt)).toEqual([1, 2]);
      } finally {
        await stopWorker(first);
        await stopWorker(second);
      }
    }, 180_000);
  });

  describe('storage and database outages', () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let s3: S3TestServer;
    let server: TestServer;
    let key: string;
    let built: string;
    let unbuilt: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      proxy = await startTcpProxy(db.url);
      s3 = await startS3TestServer();
      server = await startTestServer({
        databaseUrl: proxy.url,
        env: { ...FAULT_ENV, LABELER_ARCHIVE_CHECK_SECONDS: '0' },
      });
      await server.services.plugins.create({
        pluginId: 'r2',
        name: 'r2-faults',
        config: s3.pluginConfig,
        isDefault: true,
      });
      key = (
        await createServiceAccount(
          server,
          ['datasets:read', 'datasets:download', 'datasets:permissions'],
          'platform',
        )
      ).api_key;
      built = (await createDataset(server, { name: 'built', visibility: 'public' })).id;
      unbuilt = (await createDataset(server, { name: 'never built', visibility: 'public' })).id;
      for (const id of [built, unbuilt]) {
        async function* files() {
          for (let i = 0; i < 3; i++) {
            const data = Buffer.alloc(16 * 1024, i);
            yield { path: `images/${i}.png`, open: () => Readable.from([data]), size: data.length };
          }
        }
        await server.services.storageFiles.importFiles(id, files(), null);
      }
      const first = await call(server.url, `/api/v1/datasets/${built}/download-url`, {
        body: {},
        token: key,
      });
      expect(first.status).toBe(202);
      const job = await server.services.jobs.waitFor((first.body as { job_id: string }).job_id, 30_000);
      expect(job.state).toBe('completed');
    }, 90_000);
    afterAll(async () => {
      await proxy?.setMode('forward');
      await server?.stop();
      await proxy?.close();
      await s3?.close();
      await db?.drop();
    });

    /** Archive build jobs of one dataset, counted in the job table. */
    async function buildJobs(datasetId: string): Promise<number> {
      const rows = (await server.services.orm.em
        .fork()
        .getConnection()
        .execute(
          `select count(*)::int as n from job where kind = 'dataset.archive' and payload->>'dataset_id' = ?`,
          [datasetId],
        )) as Array<{ n: number }>;
      return rows[0]!.n;
    }

    const metadataProbes = (): Probe[] => [
      {
        name: 'GET dataset',
        send: () => call(server.url, `/api/v1/datasets/${built}`, { token: key }),
        judge: (res) =>
          res.status === 200 && (res.body as { id: string }).id === built ? 'ok' : describeAnswer(res),
      },
      {
        name: 'GET list',
        send: () => call(server.url, '/api/v1/datasets', { token: key }),
        judge: (res) => (res.status === 200 ? 'ok' : describeAnswer(res)),
      },
      {
        name: 'POST batch',
        send: () =>
          call(server.url, '/api/v1/datasets/batch', { body: { dataset_ids: [built, unbuilt] }, token: key }),
        judge: (res) => (res.status === 200 ? 'ok' : describeAnswer(res)),
      },
      {
        name: 'GET permissions',
        send: () => call(server.url, `/api/v1/datasets/${built}/permissions/5`, { token: key }),
        judge: (res) => (res.status === 200 ? 'ok' : describeAnswer(res)),
      },
    ];

    it('storage outage: metadata answers, download-url is 503 R2_UNAVAILABLE with and without a built archive, no job per poll; recovery builds and signs', async () => {
      const jobsBefore = await buildJobs(unbuilt);
      await s3.stop();
      const tally = new Tally('storage outage');
      const download = (id: string): Probe => ({
        name: `download-url ${id === built ? 'built' : 'never built'}`,
        send: () => call(server.url, `/api/v1/datasets/${id}/download-url`, { body: {}, token: key }),
        judge: (res) => (isOutageAnswer(res, 'R2_UNAVAILABLE') ? 'expected' : describeAnswer(res)),
      });
      await tally.run([...metadataProbes(), download(built), download(unbuilt), download(unbuilt)], 10);
      tally.report();
      expect(tally.wrong).toEqual([]);
      expect(tally.unexpected5xx).toBe(0);
      expect(tally.expected).toBe(30);
      expect(await buildJobs(unbuilt)).toBe(jobsBefore);

      await s3.restart();
      const building = await call(server.url, `/api/v1/datasets/${unbuilt}/download-url`, {
        body: {},
        token: key,
      });
      expect(building.status, describeAnswer(building)).toBe(202);
      const job = await server.services.jobs.waitFor((building.body as { job_id: string }).job_id, 30_000);
      expect(job.state).toBe('completed');
      for (const id of [built, unbuilt]) {
        const signed = await call(server.url, `/api/v1/datasets/${id}/download-url`, {
          body: {},
          token: key,
        });
        expect(signed.status, describeAnswer(signed)).toBe(200);
      }
    }, 60_000);

    /** Every door: fast lane (get, list, batch, permissions, download-url), generic REST, idempotent POST, tRPC. */
    const dataProbes = (): Probe[] => {
      const outage = (res: Response) =>
        isOutageAnswer(res, 'SERVICE_UNAVAILABLE') ? 'expected' : describeAnswer(res);
      return [
        ...metadataProbes().map((p) => ({ ...p, judge: outage })),
        {
          name: 'download-url',
          send: () => call(server.url, `/api/v1/datasets/${built}/download-url`, { body: {}, token: key }),
          judge: outage,
        },
        {
          name: 'GET versions (generic REST)',
          send: () => call(server.url, `/api/v1/datasets/${built}/versions`, { token: key }),
          judge: outage,
        },
        {
          name: 'POST batch with Idempotency-Key',
          send: () =>
            call(server.url, '/api/v1/datasets/batch', {
              body: { dataset_ids: [built] },
              token: key,
              headers: { 'idempotency-key': `fault-${Math.random()}` },
            }),
          judge: outage,
        },
        {
          name: 'tRPC datasets.get',
          send: () =>
            call(
              server.url,
              `/trpc/datasets.get?input=${encodeURIComponent(JSON.stringify({ dataset_id: built }))}`,
              {
                token: key,
              },
            ),
          judge: outage,
        },
      ];
    };
    const readyProbe: Probe = {
      name: '/readyz',
      send: () => call(server.url, '/readyz'),
      judge: (res) =>
        res.ms > 2_000
          ? `readyz took ${Math.round(res.ms)} ms`
          : res.status === 503 && (res.body as { ready: boolean }).ready === false
            ? 'expected'
            : describeAnswer(res),
    };

    /** After an outage ends every route answers normally again within a few seconds, without a restart. */
    async function expectRecovery(scenario: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await call(server.url, `/api/v1/datasets/${built}`, { token: key });
        if (res.status === 200) break;
        if (Date.now() > deadline) throw new Error(`${scenario}: no recovery: ${describeAnswer(res)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const after = new Tally(`${scenario}, after recovery`);
      await after.run(metadataProbes(), 5);
      const ready = await call(server.url, '/readyz');
      after.report();
      expect(after.wrong).toEqual([]);
      expect(ready.status).toBe(200);
    }

    it('database refusing connections: every data route answers 503 SERVICE_UNAVAILABLE with Retry-After; /readyz 503 within 2 s', async () => {
      await proxy.setMode('refuse');
      const tally = new Tally('database refusing connections');
      await tally.run([...dataProbes(), readyProbe], 10);
      tally.report();
      expect(tally.wrong).toEqual([]);
      expect(tally.unexpected5xx).toBe(0);
      expect(tally.expected).toBe(tally.requests);
      await proxy.setMode('forward');
      await expectRecovery('database refusing connections');
    }, 60_000);

    it('database partition: requests answer 503 within the statement/acquire timeout, /readyz within 2 s', async () => {
      await proxy.setMode('partition');
      const tally = new Tally('database partition');
      await tally.run([...dataProbes(), readyProbe], 8);
      tally.report();
      expect(tally.wrong).toEqual([]);
      // Acquire (1 s) + statement (1 s) + the client's 1 s margin, with room for two busy cores.
      expect(tally.slowest).toBeLessThan(6_000);
      expect(tally.unexpected5xx).toBe(0);
      expect(tally.expected).toBe(tally.requests);
      await proxy.setMode('forward');
      await expectRecovery('database partition');
    }, 90_000);
  });
});

describe('a server started while the database refuses connections', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startTcpProxy(db.url);
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await proxy?.close();
    await db?.drop();
  });

  it('retries with backoff, one clear line per attempt, and starts once the database appears', async () => {
    await proxy.setMode('refuse');
    child = spawn(
      process.execPath,
      ['--conditions=@labeler/source', '--import', 'tsx', join(here, 'fixtures/serve-child.ts')],
      {
        cwd: join(here, '..'),
        env: {
          ...process.env,
          DATABASE_URL: proxy.url,
          LOG_LEVEL: 'info',
          DATABASE_CONNECT_TIMEOUT_MS: '1000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = once(child, 'exit');
    const retryLine = new RegExp(
      `database not reachable at 127\\.0\\.0\\.1:${proxy.port} \\(ECONNREFUSED\\); retrying in [0-9.]+ m?s`,
      'g',
    );
    const until = async (what: string, check: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (child?.exitCode !== null)
          throw new Error(`the server exited while waiting for ${what}:\n${output.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms:\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Three attempts: 0.5 s, then 1 s between them (doubling, capped).
    await until('three retry lines', () => (output.match(retryLine) ?? []).length >= 3, 20_000);
    const delays = [...output.matchAll(/retrying in ([0-9.]+) (m?s)/g)].map(
      (m) => Number(m[1]) * (m[2] === 's' ? 1000 : 1),
    );
    expect(delays.slice(0, 3)).toEqual([500, 1000, 2000]);
    expect(output).not.toContain('LISTENING');

    await proxy.setMode('forward');
    await until('LISTENING', () => output.includes('LISTENING'), 30_000);
    const url = /LISTENING (\S+)/.exec(output)![1]!;
    const ready = await call(url, '/readyz');
    console.log(
      `fault suite: start-up against a refusing database — ${(output.match(retryLine) ?? []).length} retry lines, then ready (${ready.status})`,
    );
    expect(ready.status).toBe(200);
    child.kill('SIGTERM');
    await exited;
  }, 60_000);

  it('`labeler worker` waits for its database the same way instead of exiting', async () => {
    await proxy.setMode('refuse');
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const config = loadConfig({
      DATABASE_URL: proxy.url,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-worker-')),
      LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
    });
    let stop!: () => void;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const worker = runWorker({ config, logger, until });
    const waitFor = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`no ${what}:\n${lines.slice(-5).join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const retries = () => lines.filter((l) => l.includes('database not reachable')).length;
    await waitFor('two retry lines', () => retries() >= 2);
    expect(lines.some((l) => l.includes('job worker started'))).toBe(false);
    await proxy.setMode('forward');
    await waitFor('the worker start', () => lines.some((l) => l.includes('job worker started')));
    console.log(
      `fault suite: worker started against a refusing database — ${retries()} retry lines, then started`,
    );
    stop();
    await worker;
  }, 90_000);
});
