import { pino, type Logger } from 'pino';

/** Paths never written to logs, whatever logs them. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.apiKey',
  '*.api_key',
  '*.secretAccessKey',
  '*.token',
  '*.secret',
];

/**
 * JSON logs on stdout. `async` (servers): lines are written without blocking the event loop and, under
 * load, coalesced into one write per batch instead of a write system call per request line; pino flushes
 * what is buffered when the process exits. CLI commands keep synchronous writes so log lines and command
 * output stay in order.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  options: { async?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: 'labeler', ...base },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: !options.async }),
  );
}

export type { Logger };
