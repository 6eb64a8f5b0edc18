import { randomUUID } from 'node:crypto';
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
/** The feed notifies itself on this channel to prove that delivery still works. */
const HEARTBEAT_CHANNEL = 'labeler_change_feed_heartbeat';

export interface ChangeFeedOptions {
  /** How often delivery is proved (a notification sent to the feed itself). Default 10 s. */
  heartbeatMs?: number;
  /** How long a heartbeat may take to come back before the connection counts as lost. Default 5 s. */
  heartbeatTimeoutMs?: number;
  /** How long connecting (and each LISTEN) may take before the attempt counts as failed. Default 10 s. */
  connectTimeoutMs?: number;
}

/**
 * One LISTEN connection per process, shared by the in-memory caches that other processes' writes must
 * invalidate (service-account keys, dataset views). PostgreSQL delivers a NOTIFY only after its
 * transaction commits, in commit order, to every listening session.
 *
 * If the connection drops, every subscriber is reset (not listening) and the feed reconnects every 2 s;
 * on reconnecting, subscribers are reset again (listening), since changes in between were missed. With
 * embedded PGlite (no URL) there is only one process, whose own writes invalidate locally, so the feed
 * counts as listening without a connection.
 *
 * A connection can also fail silently (a network partition leaves the socket open and nothing arrives), so
 * every 10 s the feed notifies itself and counts the connection as lost if that notification has not come
 * back within 5 s: caches miss changes for at most about 15 s, never indefinitely.
 */
export class ChangeFeed {
  readonly #subscribers = new Map<string, ChangeSubscriber[]>();
  #client: pg.Client | null = null;
  #listening: boolean;
  #stopped = false;
  #retry: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  /** The heartbeat sent and not yet back, and its deadline. */
  #awaiting: { token: string; deadline: NodeJS.Timeout } | null = null;
  readonly #heartbeatMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #connectTimeoutMs: number;

  constructor(
    private readonly databaseUrl: string | undefined,
    private readonly logger: Logger,
    options: ChangeFeedOptions = {},
  ) {
    this.#listening = !databaseUrl;
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
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
      keepAlive: true,
      // A partitioned network would otherwise leave a reconnect waiting forever.
      connectionTimeoutMillis: this.#connectTimeoutMs,
      query_timeout: this.#connectTimeoutMs,
    });
    client.on('notification', (message) => {
      if (message.channel === HEARTBEAT_CHANNEL) {
        if (this.#awaiting?.token === message.payload) this.#clearAwaiting();
        return;
      }
      for (const subscriber of this.#subscribers.get(message.channel) ?? [])
        subscriber.changed(message.payload ?? '');
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      for (const channel of [HEARTBEAT_CHANNEL, ...this.#subscribers.keys()])
        await client.query(`listen ${channel}`);
      if (this.#stopped) {
        await client.end();
        return;
      }
      this.#client = client;
      this.#listening = true;
      this.#resetAll();
      this.#heartbeat ??= setInterval(() => this.#beat(), this.#heartbeatMs);
      this.#heartbeat.unref();
    } catch (error) {
      this.#lost(client, error as Error);
    }
  }

  #beat(): void {
    const client = this.#client;
    if (!client || this.#awaiting) return;
    const token = randomUUID();
    const deadline = setTimeout(
      () => this.#lost(client, new Error(`heartbeat not delivered within ${this.#heartbeatTimeoutMs} ms`)),
      this.#heartbeatTimeoutMs,
    );
    deadline.unref();
    this.#awaiting = { token, deadline };
    client
      .query(`select pg_notify('${HEARTBEAT_CHANNEL}', $1)`, [token])
      .catch((error: Error) => this.#lost(client, error));
  }

  #clearAwaiting(): void {
    if (this.#awaiting) clearTimeout(this.#awaiting.deadline);
    this.#awaiting = null;
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
        'database change feed lost; caches are bypassed or short-lived until it reconnects',
      );
    const wasListening = this.#listening;
    this.#clearAwaiting();
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
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#clearAwaiting();
    const client = this.#client;
    this.#client = null;
    this.#listening = !this.databaseUrl;
    await client?.end().catch(() => undefined);
  }
}
