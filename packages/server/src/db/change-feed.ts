import pg from 'pg';
import type { Logger } from '../lib/logger.js';

/** What a cache kept coherent by the feed implements. */
export interface ChangeSubscriber {
  /** A NOTIFY on the subscribed channel, with its payload. */
  changed(payload: string): void;
  /**
   * Delivery was lost or has just been (re)established: changes may have been missed, so anything
   * cached is suspect. `listening` says whether notifications arrive from now on.
   */
  reset(listening: boolean): void;
}

const RETRY_MS = 2_000;

/**
 * One LISTEN connection per process, shared by the in-memory caches that other processes' writes must
 * invalidate (service-account keys, dataset views). PostgreSQL delivers a NOTIFY only after its
 * transaction commits, in commit order, to every listening session.
 *
 * If the connection drops, every subscriber is reset (not listening) and the feed reconnects every 2 s;
 * on reconnecting, subscribers are reset again (listening), since changes in between were missed. With
 * embedded PGlite (no URL) there is only one process, whose own writes invalidate locally, so the feed
 * counts as listening without a connection.
 */
export class ChangeFeed {
  readonly #subscribers = new Map<string, ChangeSubscriber[]>();
  #client: pg.Client | null = null;
  #listening: boolean;
  #stopped = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string | undefined,
    private readonly logger: Logger,
  ) {
    this.#listening = !databaseUrl;
  }

  /** Whether notifications are being delivered (always, without a database URL). */
  get listening(): boolean {
    return this.#listening;
  }

  /** Channels are plain identifiers (they are written into LISTEN unquoted). */
  subscribe(channel: string, subscriber: ChangeSubscriber): void {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
    this.#subscribers.set(channel, [...(this.#subscribers.get(channel) ?? []), subscriber]);
    if (this.#client) void this.#client.query(`listen ${channel}`).catch(() => undefined);
  }

  async start(): Promise<void> {
    if (!this.databaseUrl || this.#stopped) return;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'labeler-change-feed',
    });
    client.on('notification', (message) => {
      for (const subscriber of this.#subscribers.get(message.channel) ?? [])
        subscriber.changed(message.payload ?? '');
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      for (const channel of this.#subscribers.keys()) await client.query(`listen ${channel}`);
      if (this.#stopped) {
        await client.end();
        return;
      }
      this.#client = client;
      this.#listening = true;
      this.#resetAll();
    } catch (error) {
      this.#lost(client, error as Error);
    }
  }

  #resetAll(): void {
    for (const subscribers of this.#subscribers.values())
      for (const subscriber of subscribers) subscriber.reset(this.#listening);
  }

  #lost(client: pg.Client, error?: Error): void {
    if (this.#client && this.#client !== client) return;
    if (error && !this.#stopped)
      this.logger.warn(
        { err: error.message },
        'database change feed lost; caches fall back to short lifetimes until it reconnects',
      );
    const wasListening = this.#listening;
    this.#client = null;
    this.#listening = false;
    if (wasListening) this.#resetAll();
    client.end().catch(() => undefined);
    if (!this.#stopped && !this.#retry) {
      this.#retry = setTimeout(() => {
        this.#retry = null;
        void this.start();
      }, RETRY_MS);
      this.#retry.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    this.#listening = !this.databaseUrl;
    await client?.end().catch(() => undefined);
  }
}
