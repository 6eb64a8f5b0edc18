import type { ObjectInfo, StorageInstance } from '@labeler/core';
import { LRUCache } from 'lru-cache';

/** Archives remembered per storage; beyond this, the least recently used are checked again. */
const MAX_ARCHIVES_PER_STORAGE = 10_000;

/** What is known of one storage: archives seen present, and checks under way. */
interface StorageState {
  seen: LRUCache<string, ObjectInfo>;
  checking: Map<string, Promise<ObjectInfo | null>>;
}

/**
 * Which built archives a storage was recently seen to hold, so download-url need not ask storage on every
 * request: signing a URL is local, but on R2 the HEAD before it is a network round trip (tens of
 * milliseconds, most of the route's time).
 *
 * - An archive seen present is trusted for `ttlMs`. One deleted behind Labeler's back (Labeler never
 *   deletes archives) is noticed within that time; until then its URLs answer 404 at storage.
 * - Concurrent checks of one archive share one HEAD.
 * - A check that fails (storage unreachable) forgets everything seen on that storage, so once an outage
 *   is seen every download-url there checks again, and answers R2_UNAVAILABLE, until storage is back.
 * - `ttlMs` 0: every request checks.
 *
 * Keyed by the running instance object: a reconfigured storage is a new instance and starts empty.
 */
export class ArchivePresence {
  readonly #states = new WeakMap<StorageInstance, StorageState>();

  constructor(private readonly ttlMs: number) {}

  /** The archive's metadata, or null when storage does not hold it. Storage errors propagate. */
  head(storage: StorageInstance, key: string): Promise<ObjectInfo | null> {
    if (this.ttlMs <= 0) return storage.head(key);
    const state = this.#stateOf(storage);
    const seen = state.seen.get(key);
    if (seen) return Promise.resolve(seen);
    let check = state.checking.get(key);
    if (!check) {
      check = this.#check(storage, state, key).finally(() => state.checking.delete(key));
      state.checking.set(key, check);
    }
    return check;
  }

  /** Drops what is remembered of one archive (after this process rebuilt it). */
  forget(storage: StorageInstance, key: string): void {
    this.#states.get(storage)?.seen.delete(key);
  }

  async #check(storage: StorageInstance, state: StorageState, key: string): Promise<ObjectInfo | null> {
    let info: ObjectInfo | null;
    try {
      info = await storage.head(key);
    } catch (error) {
      state.seen.clear();
      throw error;
    }
    // Absence is not remembered: the route starts a rebuild, and the next request must see its result.
    if (info) state.seen.set(key, info);
    return info;
  }

  #stateOf(storage: StorageInstance): StorageState {
    let state = this.#states.get(storage);
    if (!state) {
      state = { seen: new LRUCache({ max: MAX_ARCHIVES_PER_STORAGE, ttl: this.ttlMs }), checking: new Map() };
      this.#states.set(storage, state);
    }
    return state;
  }
}
