/**
 * Totals for list pages. An exact count visits every matching row (tens of milliseconds over 100k
 * datasets), far more than the page itself, and the Platform pages through the same filters over and
 * over. So each filter's total is cached:
 *
 * - fresh for `ttlMs`; after that the stale total is still answered while one refresh runs in the
 *   background (for at most `staleMs`, after which callers wait for the refresh);
 * - concurrent misses share one count (no stampede of identical counts when an entry expires under load);
 * - `invalidate()` (every dataset write in this process) drops everything at once, and a count that was
 *   already running when it was called is not stored.
 *
 * So another process's writes show up in totals within about ttlMs plus one count; the rows themselves
 * are always read fresh.
 */
export class CountCache {
  readonly #entries = new Map<string, { total: number; at: number }>();
  readonly #running = new Map<string, Promise<number>>();
  #generation = 0;

  constructor(
    private readonly options: { ttlMs: number; staleMs: number; maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, count: () => Promise<number>): Promise<number> {
    const entry = this.#entries.get(key);
    const age = entry ? this.now() - entry.at : Number.POSITIVE_INFINITY;
    if (entry && age < this.options.ttlMs) return entry.total;
    const refresh = this.#refresh(key, count);
    if (entry && age < this.options.staleMs) {
      // The refresh's failure is the next caller's to see; this one answers from the stale entry.
      refresh.catch(() => undefined);
      return entry.total;
    }
    return refresh;
  }

  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
    this.#running.clear();
  }

  #refresh(key: string, count: () => Promise<number>): Promise<number> {
    const running = this.#running.get(key);
    if (running) return running;
    const generation = this.#generation;
    const started = this.now();
    const promise = count().then(
      (total) => {
        if (generation === this.#generation) {
          this.#running.delete(key);
          if (this.#entries.size >= this.options.maxEntries) this.#entries.clear();
          this.#entries.set(key, { total, at: started });
        }
        return total;
      },
      (error: unknown) => {
        if (generation === this.#generation) this.#running.delete(key);
        throw error;
      },
    );
    this.#running.set(key, promise);
    return promise;
  }
}
