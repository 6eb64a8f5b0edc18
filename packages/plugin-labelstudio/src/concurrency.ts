/**
 * Adaptive import concurrency. Label Studio on SQLite serialises writes and answers concurrent ones with
 * server-side "database is locked" retries (1 s, 1.5 s, …), so more requests in flight can be many times
 * slower; on PostgreSQL, more in flight is faster. The controller starts at one request in flight and
 * raises the limit by one only while the latency per task stays flat, and drops to one on a "database is
 * locked" answer or rising latency.
 *
 * Decisions are made per round: a round at limit n is the next n batches sent at that limit, judged once
 * all n have answered, rounds in the order they were sent (batches sent before a change do not count). A
 * round whose mean latency per task is within `tolerance` × the best round seen is flat. The mean, not the
 * median: SQLite's lock is unfair (a locked write sleeps while later ones get in), so most writes look fast
 * and the cost shows up in the few that waited.
 *
 * Probing costs: on SQLite a second write in flight waits at least the server's first 1 s retry. So the
 * first probe above one waits until `probeAfterMs` were spent at one (10 s: a failed probe then costs about
 * a tenth of the import), and after a failed probe both the rounds and the time to wait grow ×4. A small
 * import therefore never probes, and a server that does not scale costs a few probes at most.
 */
export interface AdaptiveConcurrencyOptions {
  /** Most requests in flight (the plugin's importConcurrency). */
  max: number;
  /** A round is flat while its latency per task is within tolerance × the best seen. Default 1.5. */
  tolerance?: number;
  /** Flat rounds at a level before the first probe of the next one. Default 2. */
  hold?: number;
  /** Time at one in flight before probing two (×4 after each failed probe). Default 10,000 ms. */
  probeAfterMs?: number;
  /** Clock (ms), injectable for tests. Default performance.now. */
  now?: () => number;
}

export interface ConcurrencySample {
  /** Latency of one import request divided by its number of tasks. */
  msPerTask: number;
  /** The request failed with "database is locked". */
  locked?: boolean;
}

export type ConcurrencyDecision = 'wait' | 'hold' | 'raise' | 'drop';

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** Which round a batch was sent in; from ticket(), handed back to record(). */
export interface ConcurrencyTicket {
  generation: number;
  round: number;
}

export class AdaptiveConcurrency {
  private current = 1;
  /** Bumped on every limit change: a sample of a batch sent under an older limit is ignored. */
  private generation = 0;
  private sentInRound = 0;
  private nextRound = 0;
  private nextToJudge = 0;
  private readonly rounds = new Map<number, number[]>();
  private best = Number.POSITIVE_INFINITY;
  private flatRounds = 0;
  private hold: number;
  private probeAfterMs: number;
  private changedAt: number;
  private readonly now: () => number;
  private readonly tolerance: number;
  readonly max: number;

  constructor(options: AdaptiveConcurrencyOptions) {
    this.max = Math.max(1, Math.floor(options.max));
    this.tolerance = options.tolerance ?? 1.5;
    this.hold = Math.max(1, options.hold ?? 2);
    this.probeAfterMs = options.probeAfterMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    this.changedAt = this.now();
  }

  /** Requests that may be in flight now. */
  get limit(): number {
    return this.current;
  }

  /** Call when a batch is sent. */
  ticket(): ConcurrencyTicket {
    const ticket = { generation: this.generation, round: this.nextRound };
    if (++this.sentInRound >= this.current) {
      this.nextRound += 1;
      this.sentInRound = 0;
    }
    return ticket;
  }

  /** Feeds one answered request (default: one sent just now); returns what the controller decided. */
  record(sample: ConcurrencySample, ticket: ConcurrencyTicket = this.ticket()): ConcurrencyDecision {
    if (sample.locked) return this.dropToOne();
    if (ticket.generation !== this.generation) return 'wait';
    const round = this.rounds.get(ticket.round) ?? [];
    round.push(sample.msPerTask);
    this.rounds.set(ticket.round, round);
    let decision: ConcurrencyDecision = 'wait';
    for (let next = this.rounds.get(this.nextToJudge); next?.length === this.current; ) {
      this.rounds.delete(this.nextToJudge);
      this.nextToJudge += 1;
      decision = this.judge(mean(next));
      if (decision === 'raise' || decision === 'drop') break;
      next = this.rounds.get(this.nextToJudge);
    }
    return decision;
  }

  /**
   * A request still in flight that is already slower than flat (a write starved by SQLite's lock can
   * wait seconds while later ones get in) drops the limit without waiting for its answer.
   */
  observeInFlight(msPerTaskSoFar: number, ticket: ConcurrencyTicket): ConcurrencyDecision {
    if (ticket.generation !== this.generation || this.current === 1) return 'wait';
    return msPerTaskSoFar > this.tolerance * this.best ? this.dropToOne() : 'wait';
  }

  private judge(latency: number): ConcurrencyDecision {
    if (latency > this.tolerance * this.best) return this.current > 1 ? this.dropToOne() : 'hold';
    this.best = Math.min(this.best, latency);
    this.flatRounds += 1;
    if (this.flatRounds < this.hold || this.current >= this.max) return 'hold';
    if (this.current === 1 && this.now() - this.changedAt < this.probeAfterMs) return 'hold';
    this.setLimit(this.current + 1);
    return 'raise';
  }

  private dropToOne(): ConcurrencyDecision {
    if (this.current > 1) {
      // A failed probe: probe again much later.
      this.hold *= 4;
      this.probeAfterMs *= 4;
    }
    this.setLimit(1);
    return 'drop';
  }

  private setLimit(limit: number): void {
    this.current = limit;
    this.generation += 1;
    this.sentInRound = 0;
    this.nextRound = 0;
    this.nextToJudge = 0;
    this.rounds.clear();
    this.flatRounds = 0;
    this.changedAt = this.now();
  }
}

/** Label Studio's answer to a write that stayed locked through its own retries. */
export const isDatabaseLocked = (text: string): boolean => /database[ -]is[ -]locked/i.test(text);
