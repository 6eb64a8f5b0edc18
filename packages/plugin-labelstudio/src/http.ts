/**
 * HTTP client for Label Studio: authentication for both token kinds, per-request timeouts, bounded
 * retries with exponential backoff and full jitter, error mapping, and zod validation of every body.
 *
 * Retry policy: only requests that are safe to resend are retried automatically (GET/PATCH/PUT/DELETE
 * and explicitly idempotent POSTs). A POST that creates something is never resent blindly: when its
 * outcome is unknown (dropped connection, 5xx, timeout) the caller re-reads the server's state first.
 */
import { isLabelerError, LabelerError, type PluginLogger } from '@labeler/core';
import type { z } from 'zod';
import type { LabelStudioConfig } from './config.js';
import { mapHttpFailure, parseErrorBody } from './errors.js';
import { accessTokenResponseSchema } from './schemas.js';
import { decodeJwt, detectToken, type DetectedToken } from './token.js';
import { lsPath } from './routes.js';

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Safe to resend when the outcome is unknown. Default: true except for POST. */
  idempotent?: boolean;
  signal?: AbortSignal;
  /** Send credentials (default true). */
  auth?: boolean;
  /** The request carries a label config (400 → LABEL_CONFIG_INVALID). */
  labelConfig?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface ClientDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  logger?: PluginLogger;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_BACKOFF_MS = 10_000;

const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class LabelStudioClient {
  readonly token: DetectedToken;
  private access: { token: string; refreshAtMs: number } | null = null;
  private refreshing: Promise<string> | null = null;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  /** Counters for health/diagnostics and tests. */
  readonly stats = { requests: 0, retries: 0, tokenRefreshes: 0 };

  constructor(
    readonly config: LabelStudioConfig,
    private readonly deps: ClientDeps = {},
  ) {
    this.token = detectToken(config.apiKey);
    this.fetchImpl = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? abortableSleep;
    this.random = deps.random ?? Math.random;
  }

  get baseUrl(): string {
    return this.config.url;
  }

  /** Sends a request and validates the JSON answer with `schema` (null: ignore the body). */
  async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options?: RequestOptions,
  ): Promise<z.output<S>>;
  async request(method: string, path: string, schema: null, options?: RequestOptions): Promise<undefined>;
  async request(
    method: string,
    path: string,
    schema: z.ZodType | null,
    options: RequestOptions = {},
  ): Promise<unknown> {
    const response = await this.send(method, path, options);
    if (response.status >= 400) throw this.failure(method, path, response, options);
    if (schema === null) return undefined;
    let json: unknown;
    try {
      // Parse regardless of Content-Type: the JSON export is served as `application/.json`.
      json = JSON.parse(response.text);
    } catch {
      throw new LabelerError(
        'BACKEND_REJECTED',
        `Label Studio answered ${method} ${path} with a body that is not JSON (${response.status}).`,
        {
          details: { status: response.status, method, path, body: response.text.slice(0, 300) },
        },
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new LabelerError(
        'BACKEND_REJECTED',
        `Label Studio answered ${method} ${path} with an unexpected shape; is the URL a Label Studio server of a supported version?`,
        {
          details: {
            status: response.status,
            method,
            path,
            issues: parsed.error.issues
              .slice(0, 5)
              .map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        },
      );
    }
    return parsed.data;
  }

  /** Like request() but returns 404 as null. */
  async requestOrNull<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.output<S> | null> {
    try {
      return await this.request(method, path, schema, options);
    } catch (error) {
      if (error instanceof LabelerError && error.code === 'BACKEND_NOT_FOUND') return null;
      throw error;
    }
  }

  mapFailure(
    method: string,
    path: string,
    response: RawResponse,
    options: RequestOptions = {},
  ): LabelerError {
    return this.failure(method, path, response, options);
  }

  private failure(
    method: string,
    path: string,
    response: RawResponse,
    options: RequestOptions,
  ): LabelerError {
    return mapHttpFailure({
      status: response.status,
      method,
      path,
      body: parseErrorBody(response.text),
      tokenKind: this.token.kind,
      labelConfig: options.labelConfig ?? false,
      baseUrl: this.baseUrl,
    });
  }

  /**
   * Sends with retries and returns the final response whatever its status (errors are mapped by the
   * caller). Throws only for network failures/timeouts once retries are exhausted, or on abort.
   */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const idempotent = options.idempotent ?? method !== 'POST';
    const maxAttempts = 1 + (idempotent ? this.config.maxRetries : 0);
    let refreshedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let response: RawResponse;
      try {
        response = await this.once(method, path, options);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (isLabelerError(error)) throw error; // e.g. a refused PAT: already mapped, not a network failure
        if (attempt + 1 < maxAttempts) {
          await this.backoff(attempt, method, path, String(error), options.signal);
          continue;
        }
        throw this.networkError(method, path, error);
      }
      // A 401 means the server did nothing: refreshing and resending is safe even for a POST.
      if (
        response.status === 401 &&
        options.auth !== false &&
        this.token.kind === 'personal_access_token' &&
        !refreshedAfter401
      ) {
        refreshedAfter401 = true;
        this.access = null;
        attempt -= 1;
        continue;
      }
      if (RETRY_STATUSES.has(response.status) && attempt + 1 < maxAttempts) {
        const retryAfter = Number(response.headers.get('retry-after'));
        await this.backoff(
          attempt,
          method,
          path,
          `HTTP ${response.status}`,
          options.signal,
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0,
        );
        continue;
      }
      return response;
    }
  }

  /** Exponential backoff with full jitter, for callers that retry at a higher level. */
  pause(attempt: number, signal?: AbortSignal): Promise<void> {
    return this.backoff(attempt, '-', '-', 'caller retry', signal);
  }

  private async backoff(
    attempt: number,
    method: string,
    path: string,
    reason: string,
    signal?: AbortSignal,
    floorMs = 0,
  ): Promise<void> {
    this.stats.retries += 1;
    const cap = Math.min(MAX_BACKOFF_MS, this.config.retryBaseDelayMs * 2 ** attempt);
    const delay = Math.max(floorMs, Math.round(this.random() * cap));
    this.deps.logger?.debug(
      { method, path, attempt: attempt + 1, delayMs: delay, reason },
      'label studio request retry',
    );
    await this.sleep(delay, signal);
  }

  private networkError(method: string, path: string, error: unknown): LabelerError {
    const name = error instanceof Error ? error.name : '';
    const cause =
      error instanceof Error && error.cause instanceof Error
        ? error.cause.message
        : error instanceof Error
          ? error.message
          : String(error);
    if (name === 'TimeoutError') {
      return new LabelerError(
        'BACKEND_TIMEOUT',
        `Cannot reach Label Studio at ${this.baseUrl}: no answer to ${method} ${path} within ${this.config.timeoutMs} ms. Retry later, or raise timeoutMs for large imports.`,
        {
          details: { method, path, timeoutMs: this.config.timeoutMs },
          cause: error,
        },
      );
    }
    return new LabelerError(
      'BACKEND_UNAVAILABLE',
      `Cannot reach Label Studio at ${this.baseUrl} (${cause}). Check the URL and port, and that Label Studio is running and reachable from the Labeler server.`,
      {
        details: { method, path, cause },
        cause: error,
      },
    );
  }

  private async once(method: string, path: string, options: RequestOptions): Promise<RawResponse> {
    this.stats.requests += 1;
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.auth !== false) headers.authorization = await this.authorization(options.signal);
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const res = await this.fetchImpl(url, { method, headers, body, signal });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  }

  /** The Authorization header; exchanges a PAT for an access token when none is cached or it is near expiry. */
  async authorization(signal?: AbortSignal): Promise<string> {
    if (this.token.problem) {
      throw new LabelerError('BACKEND_AUTH_FAILED', this.token.problem, {
        details: { tokenKind: this.token.kind, fix: this.token.problem },
      });
    }
    if (this.token.kind === 'legacy') return `Token ${this.config.apiKey.trim()}`;
    if (this.token.kind === 'access_token') return `Bearer ${this.config.apiKey.trim()}`;
    if (this.access && Date.now() < this.access.refreshAtMs) return `Bearer ${this.access.token}`;
    // Single flight: concurrent requests share one refresh.
    this.refreshing ??= this.refresh(signal).finally(() => {
      this.refreshing = null;
    });
    return `Bearer ${await this.refreshing}`;
  }

  private async refresh(signal?: AbortSignal): Promise<string> {
    const path = lsPath('tokenRefresh');
    const response = await this.send('POST', path, {
      body: { refresh: this.config.apiKey.trim() },
      auth: false,
      idempotent: true,
      signal,
    });
    if (response.status === 401 || response.status === 400) {
      const body = parseErrorBody(response.text);
      const fix =
        'The Personal Access Token was refused by /api/token/refresh: it may be revoked or expired, or Personal Access Tokens are disabled for the organization. Create a new one in Label Studio (Account & Settings → Personal Access Token) or enable them (Organization → Settings → Access Token Settings).';
      throw new LabelerError(
        'BACKEND_AUTH_FAILED',
        `Label Studio refused the Personal Access Token (${response.status}${body.detail ? `: "${body.detail}"` : ''}). Fix: ${fix}`,
        {
          details: { status: response.status, path, detail: body.detail, tokenKind: this.token.kind, fix },
        },
      );
    }
    if (response.status >= 400) throw this.failure('POST', path, response, {});
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      json = null;
    }
    const parsed = accessTokenResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new LabelerError(
        'BACKEND_REJECTED',
        'Label Studio answered /api/token/refresh without an access token.',
        { details: { path } },
      );
    this.stats.tokenRefreshes += 1;
    const claims = decodeJwt(parsed.data.access);
    const now = Date.now();
    // Refresh a little before expiry (30 s, or a quarter of a short lifetime) to avoid a 401 round trip.
    const expMs = claims?.exp ? claims.exp * 1000 : now + 60_000;
    const iatMs = typeof claims?.iat === 'number' ? claims.iat * 1000 : now;
    const skew = Math.min(30_000, Math.max(0, (expMs - iatMs) / 4));
    this.access = { token: parsed.data.access, refreshAtMs: expMs - skew };
    return parsed.data.access;
  }
}
