import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isLabelerError, LabelerError } from '@labeler/core';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type { RequestListener } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import { createOpenApiExpressMiddleware } from 'trpc-to-openapi';
import type { AppServices } from '../app/services.js';
import { appRouter } from '../trpc/app-router.js';
import { createRequestContext, type RequestContext } from '../trpc/context.js';
import { labelerErrorOf, logRequestFailure, toRequestError } from '../trpc/errors.js';
import { docsRouter } from './docs.js';
import { requestErrors, restEnvelope, retryAfterFor, sendError } from './envelope.js';
import { buildOpenApiDocument } from './openapi.js';
import { buildPostmanCollection, type PostmanCollection } from './postman.js';
import { readiness } from './health.js';
import { localStorageRouter } from './local-storage.js';
import { createPlatformLane } from './platform-lane.js';
import { checkJsonText, jsonDoor } from './request-body.js';
import { createRouteLabeler } from './route-label.js';
import { withBodyDeadline } from './server-timeouts.js';
import { apiHeaders, compressed, consoleRouter, pageHeaders } from './security.js';
import { trpcRefusal } from './trpc-refusal.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Calls per tRPC batch request (the console batches what one screen renders, far fewer). */
export const MAX_TRPC_BATCH = 50;
const TRPC_MAX_BODY_BYTES = 5 * 1024 * 1024;
const REST_MAX_BODY_BYTES = 1024 * 1024;

function responseMeta({
  ctx,
  errors,
}: {
  ctx?: RequestContext | undefined;
  errors: ReadonlyArray<Parameters<typeof labelerErrorOf>[0]>;
}) {
  const headers: Record<string, string> = { ...(ctx?.response.headers ?? {}) };
  if (errors.length) {
    const error = labelerErrorOf(errors[0]!);
    const retryAfter = retryAfterFor(error, headers['Retry-After']);
    if (retryAfter) headers['Retry-After'] = retryAfter;
    return { status: errors.length === 1 ? error.status : undefined, headers };
  }
  return { status: ctx?.response.status, headers };
}

export interface HttpAppOptions {
  /** Extra routers mounted before the console (e.g. webhook receivers, launch links). */
  extraRoutes?: Array<{ path: string; router: Router }>;
  /** Serve the Platform's hot REST routes through the fast lane (default true; tests compare both paths). */
  platformLane?: boolean;
}

export function createHttpApp(app: AppServices, options: HttpAppOptions = {}): Express {
  const http = express();
  http.disable('x-powered-by');
  http.set('trust proxy', app.config.LABELER_TRUST_PROXY);
  http.set('etag', false);

  http.use(
    pinoHttp({
      logger: app.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: {
        ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics',
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, url: req.url?.split('?')[0] }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  const routeLabel = createRouteLabeler(
    appRouter,
    (options.extraRoutes ?? []).map((extra) => extra.path),
  );
  http.use((req, res, next) => {
    const end = app.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route =
        (res.locals.routeLabel as string | undefined) ?? routeLabel(req.originalUrl.split('?')[0] ?? '/');
      end({ route });
      app.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });

  http.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  http.get('/readyz', async (_req, res) => {
    const report = await readiness(app);
    res.status(report.ready ? 200 : 503).json(report);
  });
  http.get('/metrics', async (_req, res) => {
    res.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
  });

  let openApiDocument: Record<string, unknown> | null = null;
  http.get('/api/v1/openapi.json', (_req, res) => {
    openApiDocument ??= buildOpenApiDocument(appRouter, app.config.publicUrl);
    res.json(openApiDocument);
  });
  // Public like the OpenAPI document it is converted from (postman.ts); converted once, on first request.
  let postmanCollection: Promise<PostmanCollection> | null = null;
  http.get('/api/v1/postman.json', async (_req, res) => {
    openApiDocument ??= buildOpenApiDocument(appRouter, app.config.publicUrl);
    postmanCollection ??= buildPostmanCollection(openApiDocument);
    res.json(
      await postmanCollection.catch((error: unknown) => {
        postmanCollection = null; // a failed conversion is retried by the next request
        throw error;
      }),
    );
  });
  http.use('/docs', pageHeaders({ inlineStyles: true }), compressed(), docsRouter());
  http.use('/storage/local', localStorageRouter(app));

  // PostgreSQL cannot store NUL in text: refuse it in the URL up front, for every route. JSON (bodies,
  // tRPC's ?input=) is checked by the JSON doors (request-body.ts): depth, NUL, lone surrogates.
  const refuseNul = (req: Request, _res: Response, next: NextFunction) => {
    next(/%00/i.test(req.originalUrl) ? requestErrors.nul() : undefined);
  };
  const trpcQueryInput = (req: Request, _res: Response, next: NextFunction) => {
    const at = req.originalUrl.indexOf('?');
    // Every value: a repeated `input` must not hide one from the check.
    if (at !== -1)
      for (const input of new URLSearchParams(req.originalUrl.slice(at)).getAll('input'))
        checkJsonText(input);
    next();
  };
  const bodyTimeoutMs = app.config.LABELER_BODY_TIMEOUT_MS;

  const createContext = ({ req, res }: { req: Request; res: Response }) =>
    createRequestContext(app, req, res);
  const onError = ({
    error,
    path,
  }: {
    error: Parameters<typeof labelerErrorOf>[0];
    path?: string | undefined;
  }) => {
    logRequestFailure(app.logger, labelerErrorOf(error), error.cause ?? error, path);
  };

  http.use(
    '/trpc',
    apiHeaders,
    refuseNul,
    trpcQueryInput,
    jsonDoor({ maxBytes: TRPC_MAX_BODY_BYTES, timeoutMs: bodyTimeoutMs }, { raw: true }),
    createExpressMiddleware({
      router: appRouter,
      createContext,
      responseMeta,
      onError,
      maxBodySize: TRPC_MAX_BODY_BYTES,
      maxBatchSize: MAX_TRPC_BATCH,
    }),
    trpcRefusal,
  );

  http.use(
    '/api/v1',
    apiHeaders,
    refuseNul,
    // JSON bodies only (the OpenAPI adapter reads nothing else: a clear 415, not an adapter crash); a
    // POST without a body is `{}`, so body-less routes (revoke, uploads/complete, pull) take no content type.
    jsonDoor({ maxBytes: REST_MAX_BODY_BYTES, timeoutMs: bodyTimeoutMs }),
    restEnvelope,
    createOpenApiExpressMiddleware({
      router: appRouter,
      createContext,
      responseMeta,
      onError,
      maxBodySize: REST_MAX_BODY_BYTES,
    }),
  );

  for (const extra of options.extraRoutes ?? []) http.use(extra.path, extra.router);

  const consoleDir = app.config.LABELER_CONSOLE_DIR ?? join(import.meta.dirname, '../../../admin/dist');
  const consoleApp = consoleRouter(consoleDir);
  if (consoleApp) http.use(consoleApp);
  else {
    http.get('/', pageHeaders({ inlineStyles: false }), (_req, res) => {
      res
        .type('html')
        .send(
          '<!doctype html><title>Labeler</title><h1>Labeler is running</h1><p>The admin console is not built. Run <code>npm start</code> (builds it) or <code>pnpm --filter @labeler/admin build</code>. API docs: <a href="/docs">/docs</a>.</p>',
        );
    });
  }

  http.use((req, res) => {
    sendError(
      res,
      new LabelerError('ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}.`),
      String(req.id),
    );
  });
  // Errors thrown outside tRPC (body parser, static files): the same envelope, never a stack trace.
  http.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    let error: LabelerError;
    if (isLabelerError(err)) error = err;
    else if (e?.type === 'entity.parse.failed') error = requestErrors.invalidJson();
    else if (e?.type === 'entity.too.large') error = requestErrors.tooLarge();
    else if (e?.status && e.status >= 400 && e.status < 500)
      error = new LabelerError('VALIDATION_ERROR', 'The request could not be read.', { status: e.status });
    else {
      error = toRequestError(err);
      logRequestFailure(app.logger, error, err, req.path);
    }
    sendError(res, error, String(req.id));
  });
  return http;
}

/** The server's request listener: the Platform's REST fast lane first, everything else through express. */
export function createRequestListener(app: AppServices, options: HttpAppOptions = {}): RequestListener {
  const http = createHttpApp(app, options);
  const bodyTimeoutMs = app.config.LABELER_BODY_TIMEOUT_MS;
  if (options.platformLane === false) return withBodyDeadline(http, bodyTimeoutMs);
  const lane = createPlatformLane(app);
  return withBodyDeadline((req, res) => {
    if (!lane(req, res)) http(req, res);
  }, bodyTimeoutMs);
}
