import type { Server } from 'node:http';
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
