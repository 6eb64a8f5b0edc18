import { resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the server reads; validated once at start. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Unset → embedded PGlite in LABELER_DATA_DIR/db. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: int(1, 200).default(10),
  /** Opening a PostgreSQL connection, and waiting for a free one in a pool (0: no limit). */
  DATABASE_CONNECT_TIMEOUT_MS: int(0, 600_000).default(5_000),
  /** statement_timeout on every connection (0: no limit). */
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3_600_000).default(30_000),
  DATABASE_LOCK_TIMEOUT_MS: int(0, 3_600_000).default(10_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
  /** How long `serve` waits for an unreachable database at start-up before giving up (0: forever). */
  DATABASE_STARTUP_WAIT_SECONDS: int(0, 86_400).default(0),
  LABELER_DATA_DIR: z.string().min(1).default('./data'),
  /** Bootstrap admin bearer token for first start: becomes a service account with the admin scope. */
  LABELER_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Bootstrap console admin (created on first start when no admin user exists). */
  LABELER_ADMIN_EMAIL: z.string().email().optional(),
  LABELER_ADMIN_PASSWORD: z.string().min(10, 'must be at least 10 characters').optional(),
  /** 32+ byte secret for encrypting plugin credentials and signing links; generated into the data dir when unset. */
  LABELER_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Public base URL used in links (presigned local-disk URLs, launch links). */
  LABELER_PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Run job workers inside the server process (default true); use `labeler worker` to scale out. */
  LABELER_EMBEDDED_WORKERS: bool.default(true),
  LABELER_RATE_LIMIT_PER_ACCOUNT: int(1, 1_000_000).default(1000),
  LABELER_RATE_LIMIT_PER_DATASET: int(1, 1_000_000).default(100),
  LABELER_RATE_LIMIT_WINDOW_SECONDS: int(1, 3600).default(60),
  /** Memory for cached dataset views and list pages (batch and list reads), in MiB (PostgreSQL only; 0: off). */
  LABELER_DATASET_CACHE_MB: int(0, 65_536).default(128),
  /** How long download-url trusts that a built archive is still in storage before asking it again (0: every request). */
  LABELER_ARCHIVE_CHECK_SECONDS: int(0, 3600).default(30),
  /** Serve the built admin console from this directory (default: the admin package's dist). */
  LABELER_CONSOLE_DIR: z.string().optional(),
  /** Trust X-Forwarded-* from a reverse proxy. */
  LABELER_TRUST_PROXY: bool.default(false),
  LABELER_SESSION_TTL_HOURS: int(1, 24 * 90).default(12),
  /** Largest body a presigned local-disk upload accepts (default 5 GiB, S3's single-PUT limit). */
  LABELER_MAX_UPLOAD_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(5 * 1024 ** 3),
  /** Requests per minute and client IP that carry no valid credential (missing, malformed, unknown, expired). */
  LABELER_UNAUTHENTICATED_PER_IP: int(1, 1_000_000).default(300),
  /** A request's headers must arrive within this (slow-header clients are disconnected). */
  LABELER_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** A JSON body must arrive within this (408 otherwise); presigned uploads have no total limit, only idle time. */
  LABELER_BODY_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** Outbound webhooks (modules/webhooks): seconds before each retry after a failed attempt, comma-separated. */
  LABELER_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'comma-separated seconds, e.g. 5,300,1800')
    .default('5,300,1800,7200,18000,36000'),
  /** One delivery attempt's whole request (connect, send, answer). */
  LABELER_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  /** A subscription is disabled after this many failed attempts in a row (410 Gone: at once). */
  LABELER_WEBHOOK_DISABLE_AFTER_FAILURES: int(1, 10_000).default(20),
  /** In production, webhook URLs resolving to private addresses are refused unless `true` or the host is listed (comma-separated). */
  LABELER_WEBHOOK_ALLOW_PRIVATE: z.string().max(4000).default('false'),
});

export type Env = z.infer<typeof envSchema>;

export interface AppConfig extends Env {
  dataDir: string;
  publicUrl: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: Array<{ variable: string; message: string }>) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; a wrong value throws ConfigError naming each variable. Empty strings count as unset. */
export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(env)'),
        message: issue.message,
      })),
    );
  }
  const env = parsed.data;
  return {
    ...env,
    dataDir: resolve(env.LABELER_DATA_DIR),
    publicUrl: (env.LABELER_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
  };
}
