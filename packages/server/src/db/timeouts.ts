import type { AppConfig } from '../config/env.js';
import { databaseUnavailableReason } from './unavailable.js';

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

interface ClientLike {
  query: (...args: unknown[]) => unknown;
  release?: (error?: Error) => void;
  end(): Promise<void>;
}
interface PoolLike {
  on(event: 'connect' | 'acquire', listener: (client: ClientLike) => void): unknown;
  on(event: 'release', listener: (error: unknown, client: ClientLike) => void): unknown;
}

/** Failures after which a connection is never used again; a statement or lock timeout leaves it sound. */
const CONNECTION_SURVIVES = new Set(['57014', '55P03']);
/** How long a broken connection may stay checked out before the pool is given it back. */
const LEAK_GRACE_MS = 1_000;

/**
 * Keeps broken connections out of a pool.
 * - A query that hit the client-side read timeout leaves its connection waiting for an answer that may
 *   never come (a partition swallowed the request); a terminated backend (57P01, idle-in-transaction
 *   timeout, a dropped socket) may reach the pool before the socket's end does. A pool that gets such
 *   a client back without an error (Kysely releases that way) would hand it out again and fail the next
 *   request too: it is ended on release, so the pool discards it.
 * - Kysely never releases a transaction's connection whose rollback or commit failed, and on a dead
 *   connection they always fail: each such transaction would take a pool slot for good (and make
 *   pool.end() hang). A broken connection still checked out after LEAK_GRACE_MS is released for it.
 */
export function discardBrokenConnections(pool: PoolLike): void {
  const broken = new WeakSet<ClientLike>();
  const checkedOut = new WeakSet<ClientLike>();
  const markBroken = (client: ClientLike) => {
    if (broken.has(client)) return;
    broken.add(client);
    setTimeout(() => {
      if (!checkedOut.has(client)) return;
      const release = client.release;
      // Whoever holds it may still release it: that must not throw pg-pool's double-release error.
      client.release = () => undefined;
      release?.(new Error('connection broken and never released'));
    }, LEAK_GRACE_MS).unref();
  };
  pool.on('connect', (client) => {
    const query = client.query;
    client.query = function guardedQuery(this: unknown, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).catch((error: unknown) => {
          const reason = databaseUnavailableReason(error);
          if (reason && !CONNECTION_SURVIVES.has(reason)) markBroken(client);
        });
      }
      return result;
    };
  });
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (error, client) => {
    checkedOut.delete(client);
    if (!error && broken.has(client)) void client.end().catch(() => undefined);
  });
}
