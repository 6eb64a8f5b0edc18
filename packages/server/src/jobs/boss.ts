import { type ConstructorOptions, fromPglite, PgBoss, type PGliteLike } from 'pg-boss';
import type { Orm } from '../db/orm.js';
import { pgTimeoutOptions } from '../db/timeouts.js';
import {
  DEAD_LETTER_QUEUE,
  expireSecondsFor,
  JOB_QUEUES,
  type JobTuning,
  QUEUE_TIMEOUT_SECONDS,
} from './settings.js';

/** An id that never exists: used to warm pg-boss's queue cache (see warmQueueCache). */
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

interface NativeClientConnection {
  getNativeClient(): Promise<unknown>;
}

function isPgliteLike(value: unknown): value is PGliteLike {
  const v = value as Partial<Record<'query' | 'exec', unknown>> | null;
  return typeof v === 'object' && v !== null && typeof v.query === 'function' && typeof v.exec === 'function';
}

/**
 * pg-boss on the same database as the ORM. PostgreSQL: its own small pool. PGlite (embedded default):
 * the ORM's single PGlite instance through pg-boss's adapter; PGlite serialises sessions, so pg-boss
 * waits while an ORM transaction is open (never call the runtime's non-transactional methods from
 * inside a transaction on PGlite).
 */
export async function createBoss(
  orm: Orm,
  databaseUrl: string | undefined,
  tuning: JobTuning,
): Promise<{ boss: PgBoss; embedded: boolean }> {
  const common: ConstructorOptions = {
    schema: 'pgboss',
    superviseIntervalSeconds: tuning.superviseIntervalSeconds,
    monitorIntervalSeconds: tuning.monitorIntervalSeconds,
    // Deletes finished pg-boss rows; our `job` table keeps the history.
    maintenanceIntervalSeconds: 3600,
  };
  if (databaseUrl) {
    return {
      boss: new PgBoss({
        ...common,
        ...timeoutsOfOrm(orm),
        connectionString: databaseUrl,
        max: 4,
        application_name: 'labeler-jobs',
      } as ConstructorOptions),
      embedded: false,
    };
  }
  const connection = orm.em.getConnection() as unknown as Partial<NativeClientConnection>;
  const native = typeof connection.getNativeClient === 'function' ? await connection.getNativeClient() : null;
  if (!isPgliteLike(native))
    throw new Error('DATABASE_URL is unset but the database is not PGlite: cannot start the job queue.');
  return { boss: new PgBoss({ ...common, db: fromPglite(native), backend: 'pglite' }), embedded: true };
}

type PgTimeouts = ReturnType<typeof pgTimeoutOptions>;

/** The ORM pool's time limits (db/orm.ts puts them in its driver options), for pg-boss's own pool too. */
function timeoutsOfOrm(orm: Orm): Partial<PgTimeouts> {
  const driver = (orm.config.get('driverOptions') ?? {}) as Partial<PgTimeouts>;
  const keys = Object.keys(
    pgTimeoutOptions({
      connectTimeoutMs: 0,
      statementTimeoutMs: 0,
      lockTimeoutMs: 0,
      idleInTransactionTimeoutMs: 0,
    }),
  ) as Array<keyof PgTimeouts>;
  return Object.fromEntries(keys.filter((k) => driver[k] !== undefined).map((k) => [k, driver[k]]));
}

/** Creates (or updates) our queues. Idempotent and safe when several processes start at once. */
export async function setupQueues(boss: PgBoss, tuning: JobTuning): Promise<void> {
  const deadLetter = { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 };
  await boss.createQueue(DEAD_LETTER_QUEUE, deadLetter);
  for (const queue of JOB_QUEUES) {
    const options = {
      expireInSeconds: expireSecondsFor(QUEUE_TIMEOUT_SECONDS[queue], tuning),
      heartbeatSeconds: tuning.heartbeatSeconds,
      retryDelay: tuning.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: tuning.retryDelayMaxSeconds,
      deadLetter: DEAD_LETTER_QUEUE,
      // Finished pg-boss rows are only delivery bookkeeping.
      deleteAfterSeconds: 24 * 3600,
    };
    await boss.createQueue(queue, options);
    const { retryDelayMax: _ignored, ...updatable } = options;
    await boss.updateQueue(queue, updatable);
  }
  await warmQueueCache(boss);
}

/**
 * pg-boss resolves a queue's table through a cache it fills with a query on its own connection.
 * createQueue evicts that entry, and a transactional send() on PGlite must not wait for that query
 * (the caller's transaction holds the only session), so fill it now.
 */
export async function warmQueueCache(boss: PgBoss): Promise<void> {
  for (const queue of [DEAD_LETTER_QUEUE, ...JOB_QUEUES]) await boss.findJobs(queue, { id: NIL_UUID });
}
