import type { Visibility } from '@labeler/core';
import { LRUCache } from 'lru-cache';
import type { ChangeFeed, ChangeSubscriber } from '../../db/change-feed.js';
import { DATASET_CHANGES_CHANNEL } from './entities.js';

/** What decides who may see a dataset (see isVisibleTo). */
export interface DatasetAccessFacts {
  organizationId: string | null;
  visibility: Visibility;
  deleted: boolean;
}

/**
 * A cached dataset: its access facts, inline, and its view as JSON text per requested field list (the
 * first list inline, nearly always the only one). Few objects per entry keep garbage collection cheap
 * with a hundred thousand entries.
 */
interface CachedDataset extends DatasetAccessFacts {
  /** false: no dataset has this id. */
  exists: boolean;
  fieldsKey: string;
  json: string;
  others: Map<string, string> | null;
  bytes: number;
}

interface CachedPage {
  generation: number;
  datasets: string[];
  bytes: number;
}

/** What a lookup finds: undefined when nothing is cached for that id and field list. */
export type CachedView = { facts: DatasetAccessFacts; json: string } | { facts: null } | undefined;

/** Rough per-entry overhead beyond the JSON text (key, objects, LRU bookkeeping). */
const ENTRY_OVERHEAD_BYTES = 200;

/**
 * Datasets' JSON views in memory, for the Platform's batch reads and list pages: the Platform polls the
 * same datasets and pages again and again, and reading 50 rows and writing their JSON was most of
 * PostgreSQL's work per request.
 *
 * Coherence: a trigger on `dataset` notifies DATASET_CHANGES_CHANNEL with the id of every inserted,
 * updated or deleted row, whoever wrote it (this process, another server, a migration, psql), and the
 * process's ChangeFeed drops that id here once the change has committed. A read that was in flight
 * across a change may have seen the old row; `generation` is bumped by every change, and a read only
 * stores what it read if no change arrived since it began; a list page is only served at the generation
 * it was read at (any change may reorder or refilter any page). Without a working feed the cache is off
 * (every lookup misses, nothing is stored) and is cleared when the feed returns; a connection that fails
 * silently is noticed by the feed's heartbeat within about 15 s.
 *
 * Sized by bytes (LRU). Embedded PGlite serves one process but its writes through SQL would not notify
 * here, so the server leaves the cache off there (maxBytes 0).
 */
export class DatasetViewCache implements ChangeSubscriber {
  readonly #entries: LRUCache<string, CachedDataset> | null;
  /** List pages (their datasets' JSON), valid only at the generation they were read at. */
  readonly #pages: LRUCache<string, CachedPage> | null;
  #generation = 0;
  /** Lookups so far, for the metrics endpoint. */
  hits = 0;
  misses = 0;
  pageHits = 0;
  pageMisses = 0;

  constructor(
    private readonly feed: ChangeFeed,
    maxBytes: number,
  ) {
    this.#entries =
      maxBytes > 0
        ? new LRUCache<string, CachedDataset>({ maxSize: maxBytes, sizeCalculation: (entry) => entry.bytes })
        : null;
    // Pages take an eighth of the budget: any number of filters and page numbers may be asked for.
    this.#pages =
      maxBytes > 0
        ? new LRUCache<string, CachedPage>({
            maxSize: Math.max(1, Math.floor(maxBytes / 8)),
            sizeCalculation: (page) => page.bytes,
          })
        : null;
    if (this.#entries) feed.subscribe(DATASET_CHANGES_CHANNEL, this);
  }

  /** Whether lookups can hit: the cache is on and changes are being delivered. */
  get active(): boolean {
    return this.#entries !== null && this.feed.listening;
  }

  /** Changes seen so far; pass it to `store` for what a read begun now finds. */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  lookup(id: string, fieldsKey: string): CachedView {
    if (!this.active) return undefined;
    const entry = this.#entries!.get(id);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    if (!entry.exists) {
      this.hits++;
      return { facts: null };
    }
    const json = entry.fieldsKey === fieldsKey ? entry.json : entry.others?.get(fieldsKey);
    if (json === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return { facts: entry, json };
  }

  /**
   * Stores what a read begun at `generation` found for `id`: its facts and JSON for `fieldsKey`, or
   * null facts when there is no such dataset. Ignored if any change arrived since.
   */
  store(
    generation: number,
    id: string,
    facts: DatasetAccessFacts | null,
    fieldsKey: string,
    json = '',
  ): void {
    if (!this.active || generation !== this.#generation) return;
    const entries = this.#entries!;
    const current = entries.get(id, { updateAgeOnGet: false });
    if (current?.exists && facts) {
      if (current.fieldsKey === fieldsKey || current.others?.has(fieldsKey)) return;
      const others = new Map(current.others ?? []).set(fieldsKey, json);
      entries.set(id, { ...current, others, bytes: current.bytes + fieldsKey.length + json.length });
      return;
    }
    entries.set(id, {
      organizationId: facts?.organizationId ?? null,
      visibility: facts?.visibility ?? 'private',
      deleted: facts?.deleted ?? true,
      exists: facts !== null,
      fieldsKey,
      json,
      others: null,
      bytes: ENTRY_OVERHEAD_BYTES + id.length + fieldsKey.length + json.length,
    });
  }

  /**
   * A list page's datasets as JSON, cached under `key` (which must name everything the page's query
   * depends on), if no dataset has changed since it was read: any change may move any page.
   */
  page(key: string): string[] | undefined {
    if (!this.active) return undefined;
    const page = this.#pages!.get(key);
    if (!page || page.generation !== this.#generation) {
      this.pageMisses++;
      return undefined;
    }
    this.pageHits++;
    return page.datasets;
  }

  /** Stores a list page read at `generation` (ignored if a change arrived since). */
  storePage(generation: number, key: string, datasets: string[]): void {
    if (!this.active || generation !== this.#generation) return;
    let bytes = ENTRY_OVERHEAD_BYTES + key.length;
    for (const json of datasets) bytes += json.length + 16;
    this.#pages!.set(key, { generation, datasets, bytes });
  }

  /** A dataset changed (this process's write, or the feed's notification). */
  invalidate(id: string): void {
    this.#generation++;
    this.#entries?.delete(id);
  }

  changed(payload: string): void {
    if (payload === '*' || payload === '') this.reset();
    else this.invalidate(payload);
  }

  reset(): void {
    this.#generation++;
    this.#entries?.clear();
    this.#pages?.clear();
  }
}
