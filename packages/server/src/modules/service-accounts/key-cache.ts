import pg from 'pg';
import type { Logger } from '../../lib/logger.js';

/** What authenticate() needs to decide on a key, as of when it was read. */
export interface CachedAccount {
  id: string;
  name: string;
  organizationId: string | null;
  scopes: string[];
  keyHash: string;
  previousKeyHash: string | null;
  previousKeyExpiresAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export const INVALIDATION_CHANNEL = 'labeler_service_accounts';
const MAX_ENTRIES = 10_000;
/** Entries live this long while invalidations are delivered; a safety net, not the invalidation itself. */
const TTL_LISTENING_MS = 60_000;
/** Without a working listener, stay close to the database. */
const TTL_DEGRADED_MS = 1_000;

/**
 * In-memory cache of service accounts by key hash. Every process LISTENs on a PostgreSQL channel and drops
 * the cache when any process revokes or rotates a key (NOTIFY), so a revocation is refused everywhere
 * within milliseconds while the hot path skips a database lookup. With embedded PGlite there is only one
 * process, so local invalidation is complete. If the listener connection drops, entries expire after 1 s
 * until it reconnects.
 */
export class ServiceAccountKeyCache {
  readonly #entries = new Map<string, { account: CachedAccount; cachedAt: number }>();
  #listener: pg.Client | null = null;
  #listening: boolean;
  #stopped = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string | undefined,
    private readonly logger: Logger,
  ) {
    this.#listening = !databaseUrl;
  }

  async start(): Promise<void> {
    if (!this.databaseUrl || this.#stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', () => this.clear());
    client.on('error', (error) => {
      this.logger.warn(
        { err: error.message },
        'service-account invalidation listener failed; caching degraded to 1 s',
      );
      this.#degrade(client);
    });
    client.on('end', () => this.#degrade(client));
    try {
      await client.connect();
      await client.query(`listen ${INVALIDATION_CHANNEL}`);
      this.#listener = client;
      this.#listening = true;
      // Anything changed while we were not listening is unknown: start clean.
      this.clear();
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message },
        'could not LISTEN for service-account changes; caching degraded to 1 s',
      );
      this.#degrade(client);
    }
  }

  #degrade(client: pg.Client): void {
    if (this.#listener && this.#listener !== client) return;
    this.#listener = null;
    this.#listening = false;
    this.clear();
    client.end().catch(() => undefined);
    if (!this.#stopped && !this.#retry) {
      this.#retry = setTimeout(() => {
        this.#retry = null;
        void this.start();
      }, 2_000);
      this.#retry.unref();
    }
  }

  get(hash: string): CachedAccount | null {
    const entry = this.#entries.get(hash);
    if (!entry) return null;
    if (Date.now() - entry.cachedAt > (this.#listening ? TTL_LISTENING_MS : TTL_DEGRADED_MS)) {
      this.#entries.delete(hash);
      return null;
    }
    return entry.account;
  }

  set(hash: string, account: CachedAccount): void {
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(hash, { account, cachedAt: Date.now() });
  }

  clear(): void {
    this.#entries.clear();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    const listener = this.#listener;
    this.#listener = null;
    await listener?.end().catch(() => undefined);
  }
}
