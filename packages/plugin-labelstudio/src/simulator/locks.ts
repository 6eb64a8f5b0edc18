/**
 * Label Studio on SQLite, emulated: one write at a time. A write that finds the database locked is retried
 * server-side the way `DatabaseIsLockedRetryMiddleware` does (wait 1 s, ×1.5 per retry, at most 15
 * retries, then a 500 "database is locked"), so concurrent writes cost the client latency, not errors.
 */
import { envelope, HttpError, type SimResponse, sleep } from './http.js';

export interface SqliteLocks {
  /** Resolves with a release function once the request may run; null when it gave up (→ a 500). */
  acquire(method: string): Promise<(() => void) | null>;
  readonly waits: number;
}

const RETRIES = 15;

export function createSqliteLocks(options?: { writeMs?: number; retryBaseMs?: number }): SqliteLocks {
  let busy = false;
  let waits = 0;
  const free = async () => () => undefined;
  if (!options) return { acquire: free, waits: 0 };
  const writeMs = options.writeMs ?? 0;
  const base = options.retryBaseMs ?? 1000;
  return {
    get waits() {
      return waits;
    },
    async acquire(method) {
      if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return () => undefined;
      let delay = base;
      for (let retry = 0; busy; retry++) {
        if (retry >= RETRIES) return null;
        waits += 1;
        await sleep(delay);
        delay *= 1.5;
      }
      busy = true;
      if (writeMs > 0) await sleep(writeMs);
      return () => {
        busy = false;
      };
    },
  };
}

export const lockedResponse = (version: string): SimResponse => ({
  status: 500,
  json: envelope(
    version,
    new HttpError(
      500,
      "database is locked: Sqlite doesn't operate well on multiple transactions. (database-is-locked-error)",
    ),
  ),
});
