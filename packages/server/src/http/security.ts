import { existsSync } from 'node:fs';
import { join } from 'node:path';
import compression from 'compression';
import express, { type RequestHandler, type Router } from 'express';
import helmet from 'helmet';

/**
 * Browser-facing hardening for the pages we serve (the console at `/`, Swagger UI at `/docs`): a strict
 * CSP (scripts only from our origin; both pages load nothing inline), no framing, nosniff, no referrer.
 * The API's JSON answers only need nosniff (API_HEADERS), set without helmet's per-request work.
 */
export function pageHeaders(options: { inlineStyles: boolean }): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'connect-src': ["'self'"],
        'font-src': ["'self'", 'data:'],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        // The console's favicon and Swagger UI's icons are data: URLs.
        'img-src': ["'self'", 'data:'],
        'object-src': ["'none'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        // Swagger UI sets style attributes in its markup; the console needs none.
        'style-src': options.inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Plain-HTTP deployments (npm start on localhost) must keep working: HSTS belongs to the TLS proxy.
    strictTransportSecurity: false,
  });
}

/** nosniff on every API answer (fast lane and express). */
export const API_HEADERS = { 'X-Content-Type-Options': 'nosniff' } as const;

export const apiHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

/** brotli or gzip by Accept-Encoding (the compression middleware prefers br), with Vary. */
export const compressed = (): RequestHandler => compression();

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The built console: hashed `/assets/*` cached for a year (their names change with their content),
 * everything else, index.html above all, revalidated on every load so a deploy is seen at once.
 */
export function consoleRouter(consoleDir: string): Router | null {
  if (!existsSync(join(consoleDir, 'index.html'))) return null;
  const router = express.Router();
  router.use(pageHeaders({ inlineStyles: false }), compressed());
  router.use(
    express.static(consoleDir, {
      index: false,
      setHeaders: (res, path) => {
        res.setHeader('Cache-Control', path.startsWith(join(consoleDir, 'assets')) ? IMMUTABLE : 'no-cache');
      },
    }),
  );
  router.get(/^\/(?!api\/|trpc\/|docs|storage\/).*/, (req, res, next) => {
    if (!req.accepts('html')) return next();
    // Client-side routes of the console: one metrics label, whatever the path.
    res.locals.routeLabel = '/';
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(consoleDir, 'index.html'), { cacheControl: false });
  });
  return router;
}
