import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.js';
import { migrate, openDatabase, type Orm } from '../src/db/orm.js';
import { Metrics } from '../src/http/metrics.js';
import { createJobRuntime } from '../src/jobs/runtime.js';
import type { JobRuntime } from '../src/jobs/types.js';
import { createLogger } from '../src/lib/logger.js';
import { JobRecord } from '../src/modules/jobs/entities.js';
import { FAST_TUNING, registerTestJobs, type TestJobLog } from './fixtures/jobs-defs.js';

/**
 * The embedded default: PGlite in memory, pg-boss on the ORM's PGlite instance, workers in-process.
 * Also synchronous mode, which runs the same attempt code (status, retries, timeout, failure handler).
 */
describe('jobs on embedded PGlite, and synchronous mode', () => {
  let orm: Orm;
  let jobs: JobRuntime;
  const log: TestJobLog = { failures: [], aborted: new Set() };

  beforeAll(async () => {
    orm = await openDatabase({ pgliteDataDir: 'memory://' });
    await migrate(orm);
    const config = loadConfig({
      LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-jobs-')),
      LOG_LEVEL: 'silent',
    });
    expect(config.DATABASE_URL).toBeUndefined();
    jobs = createJobRuntime({
      orm,
      logger: createLogger('silent'),
      metrics: new Metrics(false),
      config,
      embeddedWorkers: true,
      tuning: FAST_TUNING,
    });
    registerTestJobs(jobs, orm, log);
    await jobs.startWorkers();
  });

  afterAll(async () => {
    await jobs?.stop();
    await orm?.close(true);
  });

  it('runs a job on the embedded workers', async () => {
    const { job } = await jobs.startJob('test.echo', { n: 5 });
    expect(await jobs.waitFor(job.id, 15_000)).toMatchObject({
      state: 'completed',
      result: { n: 5, attempt: 1 },
    });
  });

  it('enqueues in the caller transaction on PGlite: rollback leaves no job, commit runs it', async () => {
    let id = '';
    await expect(
      orm.em.fork().transactional(async (tem) => {
        id = (await jobs.startJob('test.echo', { n: 1 }, { em: tem })).job.id;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await orm.em.fork().count(JobRecord, { id })).toBe(0);
    const rows = await orm.em
      .fork()
      .getConnection()
      .execute<Array<{ n: number }>>(`select count(*)::int as n from pgboss.job where data->>'jobId' = ?`, [
        id,
      ]);
    expect(rows[0]?.n).toBe(0);
    const committed = await orm.em
      .fork()
      .transactional(async (tem) => (await jobs.startJob('test.echo', { n: 2 }, { em: tem })).job);
    expect((await jobs.waitFor(committed.id, 15_000)).state).toBe('completed');
  });

  it('deduplicates on PGlite too', async () => {
    const first = await jobs.startJob('test.slow', { ms: 600, key: 'pg-lite' });
    const second = await jobs.startJob('test.slow', { ms: 600, key: 'pg-lite' });
    expect(second).toMatchObject({ deduplicated: true, job: { id: first.job.id } });
    await jobs.waitFor(first.job.id, 15_000);
  });

  describe('synchronous mode (same attempt code, no queue)', () => {
    it('returns the finished job', async () => {
      const { job, deduplicated } = await jobs.startJob(
        'test.echo',
        { n: 9 },
        { sync: true, createdBy: 'cli' },
      );
      expect(deduplicated).toBe(false);
      expect(job).toMatchObject({
        state: 'completed',
        attempts: 1,
        result: { n: 9, attempt: 1 },
        created_by: 'cli',
      });
    });

    it('retries with backoff and succeeds', async () => {
      const { job } = await jobs.startJob('test.flaky', { failTimes: 1 }, { sync: true });
      expect(job).toMatchObject({ state: 'completed', attempts: 2, result: { attempt: 2 } });
    });

    it('retries, then fails and runs the failure handler once', async () => {
      const started = Date.now();
      const { job } = await jobs.startJob('test.flaky', { failTimes: 9 }, { sync: true });
      expect(job).toMatchObject({ state: 'failed', attempts: 3, error: { code: 'INTERNAL_ERROR' } });
      // Backoff 1 s then 2 s between the three attempts.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
      expect(log.failures.filter((f) => f.jobId === job.id)).toHaveLength(1);
    });

    it('stops a job at its timeout even when the handler ignores its signal', async () => {
      const { job } = await jobs.startJob('test.slow', { ms: 30_000, ignoreSignal: true }, { sync: true });
      expect(job).toMatchObject({ state: 'failed', error: { code: 'JOB_TIMEOUT' } });
      expect(log.aborted.has(job.id)).toBe(true);
      expect(log.failures.find((f) => f.jobId === job.id)?.error.code).toBe('JOB_TIMEOUT');
    });

    it('refuses to run inside a transaction (it would run before the commit)', async () => {
      await expect(
        orm.em.fork().transactional((tem) => jobs.startJob('test.echo', { n: 1 }, { em: tem, sync: true })),
      ).rejects.toThrow(/transaction/);
    });

    it('returns an active job with the same dedup key instead of running again', async () => {
      const running = await jobs.startJob('test.slow', { ms: 800, key: 'sync-dedup' });
      const sync = await jobs.startJob('test.slow', { ms: 800, key: 'sync-dedup' }, { sync: true });
      expect(sync).toMatchObject({ deduplicated: true, job: { id: running.job.id } });
      await jobs.waitFor(running.job.id, 15_000);
    });
  });
});
