import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker } from '../src/cli/worker.js';
import { loadConfig } from '../src/config/env.js';
import { migrate, openDatabase, type Orm } from '../src/db/orm.js';
import { Metrics } from '../src/http/metrics.js';
import { createJobRuntime } from '../src/jobs/runtime.js';
import { createLogger } from '../src/lib/logger.js';
import { storageFileJobs } from '../src/modules/storage-files/jobs.js';
import type { AppServices } from '../src/app/services.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';

/** `labeler worker`: the app's services without HTTP, running the module jobs until told to stop. */
describe('labeler worker (runWorker)', () => {
  let db: TestDatabase;
  let orm: Orm;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await openDatabase({ databaseUrl: db.url, poolMax: 3 });
    await migrate(orm);
    dataDir = mkdtempSync(join(tmpdir(), 'labeler-worker-'));
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to run on the embedded database', async () => {
    await expect(
      runWorker({ config: loadConfig({ LABELER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }) }),
    ).rejects.toThrow(/DATABASE_URL/);
  });

  it('runs queued module jobs and stops when asked', async () => {
    const config = loadConfig({
      DATABASE_URL: db.url,
      LABELER_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
    });
    // A producer that only enqueues (a server without embedded workers).
    const producer = createJobRuntime({
      orm,
      logger: createLogger('silent'),
      metrics: new Metrics(false),
      config,
      embeddedWorkers: false,
    });
    for (const definition of storageFileJobs(() => ({}) as AppServices)) producer.register(definition);
    await producer.startWorkers();
    const { job } = await producer.startJob('dataset.adopt-files', { dataset_id: 'ds_0123456789abcdef' });

    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const running = runWorker({ config, logger: createLogger('silent'), until });
    // The dataset does not exist: the worker ran the job, whose non-retryable error ends it at once.
    const done = await producer.waitFor(job.id, 30_000);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'DATASET_NOT_FOUND' } });
    stop();
    await running;
    await producer.stop();
  }, 60_000);
});
