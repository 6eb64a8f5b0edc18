import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { databaseUnavailableReason } from './unavailable.js';

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

export interface WaitForDatabaseOptions {
  connectTimeoutMs: number;
  /** Give up after this long (0: wait forever). */
  maxWaitSeconds: number;
  logger: Pick<Logger, 'warn' | 'info'>;
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

/**
 * Start-up: waits until PostgreSQL at `url` accepts a connection and answers, retrying with exponential
 * backoff (0.5 s doubling to 30 s) and one warn line per failed attempt. A replica started before its
 * database (or during a failover) then comes up by itself instead of exiting. Only reachability is
 * retried: a refused login or a missing database throws at once.
 */
export async function waitForDatabase(url: string, options: WaitForDatabaseOptions): Promise<void> {
  const { hostname, port } = new URL(url);
  const where = `${hostname}:${port || 5432}`;
  const started = Date.now();
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      ...(options.connectTimeoutMs > 0 ? { query_timeout: options.connectTimeoutMs } : {}),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      if (attempt > 1) options.logger.info({ attempts: attempt }, `database reachable at ${where}`);
      return;
    } catch (error) {
      const reason = databaseUnavailableReason(error);
      if (!reason) throw error;
      const waitedSeconds = (Date.now() - started) / 1000;
      if (options.maxWaitSeconds > 0 && waitedSeconds + delay / 1000 > options.maxWaitSeconds)
        throw new Error(
          `database not reachable at ${where} (${reason}) for ${Math.round(waitedSeconds)} s (DATABASE_STARTUP_WAIT_SECONDS=${options.maxWaitSeconds})`,
        );
      options.logger.warn(
        { attempt, reason },
        `database not reachable at ${where} (${reason}); retrying in ${formatDelay(delay)}`,
      );
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}
