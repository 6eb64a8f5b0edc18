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
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { FAST_TUNING, registerTestJobs, type TestJobLog } from './fixtures/jobs-defs.js';

/** The runtime against real PostgreSQL with embedded workers (pg-boss), as the server runs it. */
describe('job runtime on PostgreSQL', () => {
  let db: TestDatabase;
  let orm: Orm;
  let jobs: JobRuntime;
  let metrics: Metrics;
  const log: TestJobLog = { failures: [], aborted: new Set() };

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await openDatabase({ databaseUrl: db.url, poolMax: 5 });
    await migrate(orm);
    const config = loadConfig({
      DATABASE_URL: db.url,
      LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-jobs-')),
      LOG_LEVEL: 'silent',
    });
    metrics = new Metrics(false);
    jobs = createJobRuntime({
      orm,
      logger: createLogger('silent'),
      metrics,
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
    await db?.drop();
  });

  async function bossJobCount(): Promise<number> {
    const rows = await orm.em
      .fork()
      .getConnection()
      .execute<Array<{ n: string }>>(
        `select count(*)::text as n from pgboss.job where name <> 'labeler-dead-letter'`,
      );
    return Number(rows[0]?.n);
  }

  it('runs a job on a worker and records its result and timings', async () => {
    const { job, deduplicated } = await jobs.startJob('test.echo', { n: 7 }, { createdBy: 'sa_test' });
    expect(deduplicated).toBe(false);
    expect(job).toMatchObject({
      kind: 'test.echo',
      queue: 'default',
      state: 'queued',
      created_by: 'sa_test',
      attempts: 0,
    });
    const done = await jobs.waitFor(job.id, 15_000);
    expect(done).toMatchObject({
      state: 'completed',
      attempts: 1,
      result: { n: 7, attempt: 1 },
      error: null,
    });
    expect(done.started_at).not.toBeNull();
    expect(Date.parse(done.finished_at ?? '')).toBeGreaterThanOrEqual(Date.parse(done.started_at ?? ''));
  });

  it('drains a backlog without waiting a polling interval between jobs', async () => {
    // The storage queue claims one job per fetch; a worker that only looked again after each polling
    // interval (0.5 s here) would need at least 4.5 s to start ten jobs.
    const started = await Promise.all(
      Array.from({ length: 10 }, (_, n) => jobs.startJob('test.stored', { n })),
    );
    const done = await Promise.all(started.map(({ job }) => jobs.waitFor(job.id)));
    expect(done.every((job) => job.state === 'completed')).toBe(true);
    const starts = done.map((job) => Date.parse(job.started_at ?? '')).sort((a, b) => a - b);
    const intervalMs = (FAST_TUNING.pollingIntervalSeconds ?? 0) * 1000;
    expect(starts.at(-1)! - starts[0]!).toBeLessThan((starts.length - 1) * intervalMs * 0.5);
  });

  it('rejects unknown kinds and invalid payloads', async () => {
    await expect(jobs.startJob('test.nope', {})).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(jobs.startJob('test.echo', { n: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('enqueues inside the caller transaction: rollback leaves no job, commit runs it', async () => {
    const before = await bossJobCount();
    let startedId = '';
    await expect(
      orm.em.fork().transactional(async (tem) => {
        const { job } = await jobs.startJob('test.echo', { n: 1 }, { em: tem });
        startedId = job.id;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(startedId).toMatch(/^job_/);
    expect(await orm.em.fork().count(JobRecord, { id: startedId })).toBe(0);
    expect(await bossJobCount()).toBe(before);

    const committed = await orm.em
      .fork()
      .transactional(async (tem) => (await jobs.startJob('test.echo', { n: 2 }, { em: tem })).job);
    expect((await jobs.waitFor(committed.id, 15_000)).state).toBe('completed');
  });

  it('deduplicates: starting the same job while it runs returns the running job', async () => {
    const first = await jobs.startJob('test.slow', { ms: 1500, key: 'dedup-a' });
    const deadline = Date.now() + 10_000;
    while ((await jobs.get(first.job.id)).state !== 'in_progress' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const second = await jobs.startJob('test.slow', { ms: 1500, key: 'dedup-a' });
    expect(second.deduplicated).toBe(true);
    expect(second.job.id).toBe(first.job.id);
    expect(second.job.state).toBe('in_progress');
    // A different key is a different job; after the first finishes the key is free again.
    expect((await jobs.startJob('test.slow', { ms: 50, key: 'dedup-b' })).deduplicated).toBe(false);
    expect((await jobs.waitFor(first.job.id, 15_000)).state).toBe('completed');
    const third = await jobs.startJob('test.slow', { ms: 50, key: 'dedup-a' });
    expect(third.deduplicated).toBe(false);
    expect(third.job.id).not.toBe(first.job.id);
    await jobs.waitFor(third.job.id, 15_000);
  });

  it('retries a failing job with backoff, then runs its failure handler once', async () => {
    const { job } = await jobs.startJob('test.flaky', { failTimes: 99 });
    const done = await jobs.waitFor(job.id, 30_000);
    expect(done).toMatchObject({ state: 'failed', attempts: 3, error: { code: 'INTERNAL_ERROR' } });
    expect(log.failures.filter((f) => f.jobId === job.id)).toHaveLength(1);
    expect(log.failures.find((f) => f.jobId === job.id)?.payload).toEqual({ failTimes: 99 });
    // The secret-free message: the thrown error's text stays in the log only.
    expect(done.error?.message).not.toContain('boom');
  });

  it('a job that fails once succeeds on the retry without calling the failure handler', async () => {
    const { job } = await jobs.startJob('test.flaky', { failTimes: 1 });
    const done = await jobs.waitFor(job.id, 20_000);
    expect(done).toMatchObject({ state: 'completed', attempts: 2, result: { attempt: 2 }, error: null });
    expect(log.failures.some((f) => f.jobId === job.id)).toBe(false);
  });

  it('stops a job at its timeout, marks it failed with JOB_TIMEOUT and runs the failure handler', async () => {
    const { job } = await jobs.startJob('test.slow', { ms: 20_000 });
    const done = await jobs.waitFor(job.id, 20_000);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'JOB_TIMEOUT' } });
    expect(log.aborted.has(job.id)).toBe(true);
    expect(Date.parse(done.finished_at ?? '') - Date.parse(done.started_at ?? '')).toBeLessThan(6_000);
    expect(log.failures.find((f) => f.jobId === job.id)?.error.code).toBe('JOB_TIMEOUT');
  });

  it('cancels a running job: its signal aborts and it ends cancelled; final jobs cannot be cancelled', async () => {
    const { job } = await jobs.startJob('test.slow', { ms: 10_000 });
    const deadline = Date.now() + 10_000;
    while ((await jobs.get(job.id)).state !== 'in_progress' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await jobs.cancel(job.id);
    const done = await jobs.waitFor(job.id, 5_000);
    expect(done.state).toBe('cancelled');
    expect(log.aborted.has(job.id)).toBe(true);
    await expect(jobs.cancel(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
    await expect(jobs.cancel('job_doesnotexist')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('retries a failed job as a new job with the same kind and payload', async () => {
    const { job } = await jobs.startJob('test.slow', { ms: 20_000, key: 'retry-me' });
    await jobs.cancel(job.id);
    expect((await jobs.waitFor(job.id, 5_000)).state).toBe('cancelled');
    const again = await jobs.retry(job.id);
    expect(again.id).not.toBe(job.id);
    expect(again).toMatchObject({
      kind: 'test.slow',
      dedup_key: 'test.slow:retry-me',
      state: 'queued',
      progress: { message: `retry of ${job.id}` },
    });
    await jobs.cancel(again.id);
    await expect(jobs.retry(again.id)).resolves.toMatchObject({ kind: 'test.slow' });
    const completed = await jobs.startJob('test.echo', { n: 3 });
    await jobs.waitFor(completed.job.id, 10_000);
    await expect(jobs.retry(completed.job.id)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('throttles progress writes but always stores the final progress', async () => {
    const { job } = await jobs.startJob('test.chatty', { updates: 2000 });
    const done = await jobs.waitFor(job.id, 15_000);
    expect(done.progress).toEqual({ done: 2000, total: 2000, message: 'item 2000' });
  });

  it('lists jobs newest first with state/kind filters and a cursor', async () => {
    const page1 = await jobs.list({ kind: 'test.echo', limit: 2 });
    expect(page1.jobs).toHaveLength(2);
    expect(page1.jobs.every((j) => j.kind === 'test.echo')).toBe(true);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await jobs.list({ kind: 'test.echo', limit: 2, cursor: page1.nextCursor ?? '' });
    expect(page2.jobs.map((j) => j.id)).not.toContain(page1.jobs[0]?.id);
    expect(Date.parse(page2.jobs[0]?.created_at ?? '')).toBeLessThanOrEqual(
      Date.parse(page1.jobs[1]?.created_at ?? ''),
    );
    const failed = await jobs.list({ state: 'failed' });
    expect(failed.jobs.length).toBeGreaterThan(0);
    expect(failed.jobs.every((j) => j.state === 'failed')).toBe(true);
  });

  it('counts finished jobs in metrics', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/labeler_jobs_total\{kind="test.echo",state="completed"\} \d+/);
    expect(text).toMatch(/labeler_jobs_total\{kind="test.flaky",state="failed"\} 1/);
  });
});
