/** Routing, Label Studio's error envelope, and fault injection for the simulator. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LS_ROUTES } from '../routes.js';

export interface SimRequest {
  method: string;
  /** Path without its trailing slash (whether the slash is allowed is the route's `slash`). */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  params: Record<string, string>;
  userId: number | null;
  /** How the caller authenticated: 'token' (header) or 'session' (cookie). */
  authVia: 'token' | 'session' | null;
}

export interface SimResponse {
  status: number;
  json?: unknown;
  text?: string;
  raw?: Buffer;
  headers?: Record<string, string>;
}

export type AuthMode = 'required' | 'none' | 'optional';

export interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  auth: AuthMode;
  /** Declared with a trailing slash: answers `/x` and `/x/`. Without one, `/x/` is Django's HTML 404. */
  slash: boolean;
  handler: (req: SimRequest) => SimResponse | Promise<SimResponse>;
}

const shapeOf = (path: string): string => path.replace(/:\w+/g, ':').replace(/\/+$/, '');
/** Slash form per route shape, from the plugin's route table (Label Studio 1.7.3's urls.py). */
const DECLARED = new Map(Object.values(LS_ROUTES).map((p) => [shapeOf(p), p.endsWith('/')]));

/**
 * Compiles `/api/projects/:id/import` into a route (params are digits or path segments). Its slash rule
 * comes from LS_ROUTES; a route the table lacks follows its own spelling (`/x/` declares the slash).
 */
export function route(method: string, path: string, auth: AuthMode, handler: Route['handler']): Route {
  const keys: string[] = [];
  const slash = DECLARED.get(shapeOf(path)) ?? path.endsWith('/');
  path = path.replace(/\/+$/, '');
  const source = path.replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}$`), keys, auth, slash, handler };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly validationErrors?: Record<string, string[]>,
    readonly excInfo: string | null = null,
    /** The envelope's status_code when it differs from the HTTP status (1.7.3's PATCH of malformed XML). */
    readonly envelopeStatus?: number,
  ) {
    super(detail);
  }
}

/** The `custom_exception_handler` envelope (reference §1.1). */
export function envelope(version: string, error: HttpError): Record<string, unknown> {
  return {
    id: randomUUID(),
    status_code: error.envelopeStatus ?? error.status,
    version,
    detail: error.detail,
    exc_info: error.excInfo,
    ...(error.validationErrors ? { validation_errors: error.validationErrors } : {}),
  };
}

export const validationError = (errors: Record<string, string[]>): HttpError =>
  new HttpError(400, 'Validation error', errors);
export const notFound = (detail = 'Not found.'): HttpError => new HttpError(404, detail);

export interface FaultOptions {
  /** Added delay before each request is handled. */
  latencyMs?: number;
  /** Probability (0-1) of answering one of `statuses` instead of the real response. */
  errorRate?: number;
  statuses?: Array<500 | 502 | 503 | 504>;
  /** Probability (0-1) of destroying the socket without an answer. */
  dropRate?: number;
  /**
   * When an injected error/drop happens: 'before' the handler runs, 'after' it ran (the server did the
   * work but the client never learns it: the case that makes blind retries duplicate), or 'random'.
   */
  phase?: 'before' | 'after' | 'random';
  /** Only requests whose path matches are affected. */
  match?: RegExp;
  /** Only requests with this method are affected (e.g. 'POST'). */
  method?: string;
  /** Stop injecting after this many faults (errors + drops). */
  limit?: number;
}

export interface FaultController {
  set(options: FaultOptions): void;
  clear(): void;
  readonly current: FaultOptions;
  /** Counts of injected faults since the simulator started, for assertions. */
  readonly injected: { errors: number; drops: number };
  /** Faults injected since the last set(). */
  readonly sinceSet: number;
}

export function createFaultController(): FaultController {
  let current: FaultOptions = {};
  const injected = { errors: 0, drops: 0 };
  let baseline = 0;
  return {
    set(options) {
      current = { ...options };
      baseline = injected.errors + injected.drops;
    },
    clear() {
      current = {};
    },
    get current() {
      return current;
    },
    get sinceSet() {
      return injected.errors + injected.drops - baseline;
    },
    injected,
  };
}

export type FaultDecision = { kind: 'none' } | { kind: 'drop' | 'error'; after: boolean; status: number };

export function decideFault(faults: FaultController, method: string, path: string): FaultDecision {
  const f = faults.current;
  if (f.match && !f.match.test(path)) return { kind: 'none' };
  if (f.method && f.method !== method) return { kind: 'none' };
  if (f.limit !== undefined && faults.sinceSet >= f.limit) return { kind: 'none' };
  const after = f.phase === 'after' ? true : f.phase === 'before' ? false : Math.random() < 0.5;
  if (f.dropRate && Math.random() < f.dropRate) return { kind: 'drop', after, status: 0 };
  if (f.errorRate && Math.random() < f.errorRate) {
    const statuses = f.statuses?.length ? f.statuses : [500, 502, 503, 504];
    return { kind: 'error', after, status: statuses[Math.floor(Math.random() * statuses.length)]! };
  }
  return { kind: 'none' };
}

/** Django's 404 page for a path no route declares (Label Studio renders its HTML shell). */
export const routeNotFound = (): SimResponse => ({
  status: 404,
  text: '<!doctype html>\n<html lang="en">\n<head><title>Label Studio</title></head><body><h1>Not Found</h1></body></html>',
  headers: { 'content-type': 'text/html; charset=utf-8' },
});

/** What a proxy or LS answers for an injected status: LS's 500 is its envelope, gateways answer HTML. */
export function faultResponse(status: number, version: string): SimResponse {
  if (status === 500) return { status, json: envelope(version, new HttpError(500, 'Injected server error')) };
  const title =
    status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Temporarily Unavailable' : 'Gateway Time-out';
  return {
    status,
    text: `<html><head><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1></body></html>`,
    headers: { 'content-type': 'text/html' },
  };
}

export function send(res: ServerResponse, response: SimResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: string | Buffer | undefined;
  if (response.raw !== undefined) {
    payload = response.raw;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (response.json !== undefined) {
    payload = JSON.stringify(response.json);
    headers['content-type'] ??= 'application/json';
  } else if (response.text !== undefined) {
    payload = response.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  res.writeHead(response.status, headers);
  res.end(payload);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
