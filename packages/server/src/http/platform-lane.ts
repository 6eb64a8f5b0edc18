import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LabelerError } from '@labeler/core';
import type { AppServices } from '../app/services.js';
import { PLATFORM_LANE_ROUTES } from '../modules/datasets/platform-routes.js';
import { PlatformCharge } from '../modules/rate-limits/platform-charge.js';
import { authenticationRequired, requireScope } from '../trpc/init.js';
import type { LaneRoute, PlatformContext } from '../trpc/platform.js';
import { fromZodError, logRequestFailure, toRequestError } from '../trpc/errors.js';
import {
  closesConnection,
  envelopeOf,
  etagMatches,
  JSON_CONTENT_TYPE,
  requestErrors,
  retryAfterFor,
  weakEtag,
} from './envelope.js';
import { declaresNoBody, parseJsonBody, readBodyText } from './request-body.js';
import { API_HEADERS } from './security.js';

/**
 * The REST fast lane for the Platform's hot routes (get, list, permissions, download-url, batch). The
 * Platform calls these thousands of times a second, and the generic path (express → trpc-to-openapi →
 * tRPC middlewares → output validation → envelope rewrite) costs several times the work itself. Here each
 * route is matched by a precompiled pattern and runs the same definition as its tRPC procedure
 * (trpc/platform.ts): authentication through the auth plugins, the scope check, the rate-limit charge,
 * the zod input schema and the resolver, answered in the spec's envelope with ETag/304 and the same
 * headers, request log line and metrics as every other route.
 *
 * Anything unusual falls through to the generic path, which stays authoritative: other methods,
 * Idempotency-Key (decided by a tRPC middleware after the charge: modules/idempotency), and unknown paths.
 */

const API_PREFIX = '/api/v1';
const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface CompiledRoute {
  route: LaneRoute;
  method: 'GET' | 'POST';
  pattern: RegExp;
  params: string[];
}

function compile(route: LaneRoute): CompiledRoute {
  const params: string[] = [];
  const source = `${API_PREFIX}${route.openapi.path}`
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const param = /^\{([^}]+)\}$/.exec(part);
      if (param) {
        params.push(param[1]!);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { route, method: route.openapi.method, pattern: new RegExp(`^${source}/?$`), params };
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The client address, as express computes it for `trust proxy` true/false. */
function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined;
    if (first) return first;
  }
  return req.socket.remoteAddress;
}

function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new LabelerError('VALIDATION_ERROR', 'The URL contains malformed percent-encoding.');
  }
}

/** Query values as the generic path reads them: one value a string, a repeated key an array. */
function queryInput(search: string): Record<string, string | string[]> {
  const input: Record<string, string | string[]> = {};
  if (!search) return input;
  for (const [key, value] of new URLSearchParams(search)) {
    const current = input[key];
    if (current === undefined) input[key] = value;
    else input[key] = Array.isArray(current) ? [...current, value] : [current, value];
  }
  return input;
}

async function bodyInput(req: IncomingMessage, timeoutMs: number): Promise<Record<string, unknown>> {
  // A POST without a body (httpx.post(url), fetch without body) is `{}`: the schema names what is missing.
  if (declaresNoBody(req)) return {};
  const type = req.headers['content-type'];
  if (!type || !JSON_CONTENT_TYPE.test(type)) throw requestErrors.notJson();
  const text = await readBodyText(req, { maxBytes: MAX_BODY_BYTES, timeoutMs });
  if (!text) return {};
  const parsed = parseJsonBody(text);
  // As the generic adapter merges it: only an object's fields become input; the schema then names what is missing.
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

export type PlatformLane = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Returns a handler that serves a request and answers true, or answers false to let the generic app serve it. */
export function createPlatformLane(
  app: AppServices,
  routes: readonly LaneRoute[] = PLATFORM_LANE_ROUTES,
): PlatformLane {
  const compiled = routes.map(compile);
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST') return false;
    const url = req.url ?? '';
    if (!url.startsWith(API_PREFIX)) return false;
    if (method === 'POST' && req.headers['idempotency-key'] !== undefined) return false;
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    for (const candidate of compiled) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      void serve(app, candidate, match, req, res, path, queryAt === -1 ? '' : url.slice(queryAt + 1));
      return true;
    }
    return false;
  };
}

async function serve(
  app: AppServices,
  { route, params }: CompiledRoute,
  match: RegExpExecArray,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: string,
): Promise<void> {
  const started = performance.now();
  const requestId = requestIdOf(req);
  const ip = clientIp(req, app.config.LABELER_TRUST_PROXY);
  const response: PlatformContext['response'] = { headers: {} };
  let status = 200;
  let body: string | undefined;
  let failure: unknown;
  try {
    if (/%00/i.test(search) || /%00/i.test(path)) throw requestErrors.nul();
    const raw: Record<string, unknown> =
      req.method === 'GET' ? queryInput(search) : await bodyInput(req, app.config.LABELER_BODY_TIMEOUT_MS);
    for (let i = 0; i < params.length; i++) raw[params[i]!] = decodeParam(match[i + 1]!);

    const principal = await app.auth.authenticateRequest(req.method!, path, req.headers, ip);
    if (!principal) throw authenticationRequired();
    requireScope(principal, route.scope);
    const charge = new PlatformCharge(app, principal, raw, response.headers);
    const ctx: PlatformContext = {
      app,
      req: null,
      res: null,
      requestId,
      logger: app.logger,
      ip: ip ?? null,
      response,
      getPrincipal: async () => principal,
      principal,
      charge,
    };
    try {
      const input = route.input.safeParse(raw);
      if (!input.success) throw fromZodError(input.error);
      body = await route.respond(ctx, input.data);
    } finally {
      // Charged exactly once: here, unless the route's first read took the charge. An exhausted bucket
      // answers 429 whatever the route would have answered, as when the charge came first.
      await charge.settleAlone();
    }
    status = response.status ?? 200;
  } catch (error) {
    failure = error;
    const labeler = toRequestError(error);
    status = labeler.status;
    const retryAfter = retryAfterFor(labeler, response.headers['Retry-After']);
    if (retryAfter) response.headers['Retry-After'] = retryAfter;
    body = JSON.stringify(envelopeOf(labeler, requestId));
    logRequestFailure(app.logger, labeler, error, route.openapi.path);
  }
  send(req, res, status, body, response.headers, requestId);
  finish(app, req, res, `${API_PREFIX}${route.openapi.path}`, path, requestId, started, failure);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string | undefined,
  extra: Record<string, string>,
  requestId: string,
): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { ...extra, ...API_HEADERS, 'X-Request-Id': requestId };
  if (closesConnection(status)) headers.Connection = 'close';
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (req.method === 'GET' && status === 200) {
    const etag = weakEtag(body);
    headers.ETag = etag;
    headers['Cache-Control'] = 'private, no-cache';
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
  }
  // As the generic path answers: trpc-to-openapi's plain type on success, express's on error envelopes.
  headers['Content-Type'] = status < 400 ? 'application/json' : 'application/json; charset=utf-8';
  // Measured and encoded straight from the string: no intermediate Buffer per response.
  headers['Content-Length'] = Buffer.byteLength(body);
  res.writeHead(status, headers);
  res.end(body);
}

/** The same request log line (pino-http's shape) and metrics as the generic path. */
function finish(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  path: string,
  requestId: string,
  started: number,
  failure: unknown,
): void {
  const seconds = (performance.now() - started) / 1000;
  const status = res.statusCode;
  app.metrics.httpDuration.observe({ method: req.method!, route }, seconds);
  app.metrics.httpRequests.inc({ method: req.method!, route, status: String(status) });
  const level = failure && status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  if (!app.logger.isLevelEnabled(level)) return;
  app.logger[level](
    {
      req: { id: requestId, method: req.method, url: path },
      res: { statusCode: status },
      responseTime: Math.round(seconds * 1000),
    },
    failure ? 'request errored' : 'request completed',
  );
}
