import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.js';
import { migrate, openDatabase, type Orm } from '../src/db/orm.js';
import { Metrics } from '../src/http/metrics.js';
import { createJobRuntime } from '../src/jobs/runtime.js';
import type { JobRuntime } from '../src/jobs/types.js';
import { createLogger } from '../src/lib/logger.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { createRunsTable, FAST_TUNING, registerTestJobs } from './fixtures/jobs-defs.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './worker-process.js';

/**
 * Scale-out: worker processes share the queues through PostgreSQL. Each job runs exactly once, and a
 * worker killed mid-job loses its claim (heartbeat) so another worker retries and finishes the job.
 */
describe('job workers in separate processes', () => {
  let db: TestDatabase;
  let orm: Orm;
  let producer: JobRuntime;
  let a: WorkerProcess | undefined;
  let b: WorkerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await openDatabase({ databaseUrl: db.url, poolMax: 5 });
    await migrate(orm);
    await createRunsTable(orm);
    const config = loadConfig({
      DATABASE_URL: db.url,
      LABELER_DATA_DIR: '/tmp/labeler-jobs-producer',
      LOG_LEVEL: 'silent',
    });
    // The producer only enqueues (like a server with LABELER_EMBEDDED_WORKERS=false).
    producer = createJobRuntime({
      orm,
      logger: createLogger('silent'),
      metrics: new Metrics(false),
      config,
      embeddedWorkers: false,
      tuning: FAST_TUNING,
    });
    registerTestJobs(producer, orm);
    await producer.startWorkers();
    [a, b] = await Promise.all([
      spawnWorker(db.url, process.env.LABELER_TEST_LOG_LEVEL),
      spawnWorker(db.url, process.env.LABELER_TEST_LOG_LEVEL),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stopWorker(a), stopWorker(b)]);
    await producer?.stop();
    await orm?.close(true);
    await db?.drop();
  });

  async function runs(): Promise<Array<{ job_id: string; attempt: number; pid: number }>> {
    return orm.em
      .fork()
      .getConnection()
      .execute('select job_id, attempt, pid from jobs_test_runs order by at');
  }

  it('two worker processes run 200 jobs, each exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await producer.startJob('test.record', { n: i })).job.id);
    const deadline = Date.now() + 45_000;
    for (;;) {
      const { jobs } = await producer.list({ ids, limit: 200 });
      if (jobs.every((j) => j.state === 'completed')) break;
      if (Date.now() > deadline)
        throw new Error(`not finished: ${jobs.filter((j) => j.state !== 'completed').length} jobs`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const rows = (await runs()).filter((r) => ids.includes(r.job_id));
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((r) => r.job_id)).size).toBe(200);
    const pids = new Set(rows.map((r) => r.pid));
    expect([...pids].every((pid) => pid === a?.pid || pid === b?.pid)).toBe(true);
    // Both processes took work (pg-boss SKIP LOCKED spreads batches).
    expect(pids.size).toBe(2);
    const { jobs } = await producer.list({ ids, limit: 200 });
    expect(jobs.every((j) => j.attempts === 1)).toBe(true);
  }, 60_000);

  it('workers killed mid-job: the job is retried elsewhere and finished; with no attempt left it fails and its failure handler runs', async () => {
    const retried = (await producer.startJob('test.killable', { n: 1 })).job.id;
    const lost = (await producer.startJob('test.killable-once', { n: 2 })).job.id;
    const deadline = Date.now() + 15_000;
    let started: Array<{ job_id: string; attempt: number; pid: number }> = [];
    while (started.length < 2) {
      started = (await runs()).filter((r) => (r.job_id === retried || r.job_id === lost) && r.attempt === 1);
      if (Date.now() > deadline) throw new Error('the jobs never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await producer.get(retried)).state).toBe('in_progress');
    const victims = [a, b].filter((w): w is WorkerProcess => !!w && started.some((r) => r.pid === w.pid));
    for (const victim of victims) victim.child.kill('SIGKILL');
    await Promise.all(victims.map((v) => v.exited));
    // A fresh worker joins (the only one left if both jobs sat on different workers).
    const fresh = await spawnWorker(db.url, process.env.LABELER_TEST_LOG_LEVEL);
    const alive = [a, b, fresh]
      .filter((w): w is WorkerProcess => !!w && !victims.includes(w))
      .map((w) => w.pid);
    if (a && victims.includes(a)) a = fresh;
    else b = fresh;
    // Heartbeat 10 s + monitor 1 s + retry delay 1 s, then the second attempt finishes at once.
    const done = await producer.waitFor(retried, 40_000);
    expect(done).toMatchObject({ state: 'completed', attempts: 2, result: { attempt: 2 } });
    expect(alive).toContain((done.result as { pid: number }).pid);
    const retriedRuns = (await runs()).filter((r) => r.job_id === retried);
    expect(retriedRuns.map((r) => r.attempt)).toEqual([1, 2]);

    const failed = await producer.waitFor(lost, 30_000);
    expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'JOB_WORKER_LOST' } });
    // The failure handler ran once (attempt-0 row), and the job never ran a second time.
    expect((await runs()).filter((r) => r.job_id === lost).map((r) => r.attempt)).toEqual([1, 0]);
  }, 60_000);

  it('a worker stopped with SIGTERM mid-job hands the job back after its grace period; another worker finishes it', async () => {
    const { job } = await producer.startJob('test.killable', { n: 3 });
    const deadline = Date.now() + 15_000;
    let first: { pid: number } | undefined;
    while (!first) {
      first = (await runs()).find((r) => r.job_id === job.id && r.attempt === 1);
      if (Date.now() > deadline) throw new Error('the job never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const leaving = first.pid === a?.pid ? a : b;
    const staying = leaving === a ? b : a;
    const stoppedAt = Date.now();
    await stopWorker(leaving);
    // Grace 2 s, then the attempt is aborted and requeued before the process exits.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const done = await producer.waitFor(job.id, 20_000);
    expect(done).toMatchObject({
      state: 'completed',
      attempts: 2,
      result: { attempt: 2, pid: staying?.pid },
    });
  }, 40_000);
});
