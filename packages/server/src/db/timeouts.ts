import type { AppConfig } from '../config/env.js';

/** Time limits every PostgreSQL pool applies (config/env.ts: DATABASE_*_TIMEOUT_MS). */
export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one in a full pool (pg-pool uses one limit for both). */
  connectTimeoutMs: number;
  /** Server-side statement_timeout; the client gives up a little later (a partition never answers). */
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

/** How much longer than statement_timeout the client waits, so the server's own cancel (57014) normally wins. */
const CLIENT_READ_MARGIN_MS = 1_000;

export const DEFAULT_TIMEOUTS: DatabaseTimeouts = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
};

export function timeoutsOf(config: AppConfig): DatabaseTimeouts {
  return {
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: config.DATABASE_LOCK_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

/** The `pg` Client/Pool options for these limits (0 leaves a limit off). */
export function pgTimeoutOptions(t: DatabaseTimeouts) {
  return {
    connectionTimeoutMillis: t.connectTimeoutMs,
    statement_timeout: t.statementTimeoutMs,
    query_timeout: t.statementTimeoutMs > 0 ? t.statementTimeoutMs + CLIENT_READ_MARGIN_MS : 0,
    lock_timeout: t.lockTimeoutMs,
    idle_in_transaction_session_timeout: t.idleInTransactionTimeoutMs,
  };
}

interface PoolLike {
  on(event: 'connect', listener: (client: ClientLike) => void): unknown;
}
interface ClientLike {
  query: (...args: unknown[]) => unknown;
  connection?: { stream?: { destroy(): void } };
}

/**
 * A query that hit the client-side read timeout leaves its connection waiting for an answer that may
 * never come (a partition swallowed the request), and a pool that gets the client back without an
 * error (Kysely releases that way) would hand the dead connection out again. Closing its socket makes
 * the pool discard it.
 */
export function discardTimedOutConnections(pool: PoolLike): void {
  pool.on('connect', (client) => {
    const query = client.query;
    client.query = function guardedQuery(this: unknown, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).catch((error: unknown) => {
          if ((error as Error | null)?.message === 'Query read timeout') client.connection?.stream?.destroy();
        });
      }
      return result;
    };
  });
}
