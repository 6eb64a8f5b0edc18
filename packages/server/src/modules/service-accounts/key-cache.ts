import type { ChangeFeed, ChangeSubscriber } from '../../db/change-feed.js';

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
 * In-memory cache of service accounts by key hash. Every process listens on a PostgreSQL channel (the
 * shared ChangeFeed) and drops the cache when any process revokes or rotates a key (NOTIFY), so a
 * revocation is refused everywhere within milliseconds while the hot path skips a database lookup. If the
 * feed's connection drops, entries expire after 1 s until it reconnects.
 */
export class ServiceAccountKeyCache implements ChangeSubscriber {
  readonly #entries = new Map<string, { account: CachedAccount; cachedAt: number }>();

  constructor(private readonly feed: ChangeFeed) {
    feed.subscribe(INVALIDATION_CHANNEL, this);
  }

  changed(): void {
    this.clear();
  }

  reset(): void {
    this.clear();
  }

  get(hash: string): CachedAccount | null {
    const entry = this.#entries.get(hash);
    if (!entry) return null;
    if (Date.now() - entry.cachedAt > (this.feed.listening ? TTL_LISTENING_MS : TTL_DEGRADED_MS)) {
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
}
