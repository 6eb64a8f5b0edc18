import type { RequestListener, Server } from 'node:http';
import type { AppConfig } from '../config/env.js';

/** Idle time (no byte either way) after which a connection is dropped: stalled uploads, downloads, bodies. */
const SOCKET_IDLE_MS = 120_000;

/**
 * Node's defaults hold a slow client for 60 s of headers and 300 s of body. Headers get
 * LABELER_HEADERS_TIMEOUT_MS (10 s). Node's whole-request timeout stays off because presigned local-disk
 * uploads stream gigabytes through one request; JSON bodies get their own deadline where they are read
 * (LABELER_BODY_TIMEOUT_MS, request-body.ts), and every connection an idle limit.
 */
export function applyServerTimeouts(server: Server, config: AppConfig): void {
  server.headersTimeout = config.LABELER_HEADERS_TIMEOUT_MS;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.timeout = SOCKET_IDLE_MS;
  // Node checks header deadlines on this interval (default 30 s): check often enough to honour the limit.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    250,
    Math.min(5_000, Math.floor(config.LABELER_HEADERS_TIMEOUT_MS / 4)),
  );
}

/** Presigned local-disk uploads: their body may stream for as long as it keeps moving. */
const isUpload = (method: string | undefined, url: string | undefined) =>
  method === 'PUT' && url?.startsWith('/storage/local/') === true;

/**
 * Bounds every request body but uploads to `bodyTimeoutMs` (plus a second, so a JSON door's own 408
 * goes out first): a body still incomplete then is dropped with its connection, whoever was (or was
 * not) reading it; e.g. a slow body sent to an unknown route after its 404. A request whose body has
 * already arrived when it is dispatched, nearly all of them, arms no timer.
 */
export function withBodyDeadline(listener: RequestListener, bodyTimeoutMs: number): RequestListener {
  return (req, res) => {
    if (!req.complete && !isUpload(req.method, req.url)) {
      // Not cleared when the response ends: the unread rest of a body is what this bounds.
      const timer = setTimeout(() => {
        if (!req.complete) req.socket.destroy();
      }, bodyTimeoutMs + 1_000);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
    }
    listener(req, res);
  };
}
