import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginDefinition } from '@labeler/core';
import { type RunningServer, startServer } from '../app/create.js';
import type { AppServices } from '../app/services.js';
import { loadConfig } from '../config/env.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestServer {
  url: string;
  services: AppServices;
  /** Bearer token of the bootstrap admin service account. */
  adminToken: string;
  adminEmail: string;
  adminPassword: string;
  dataDir: string;
  database: TestDatabase | null;
  /** fetch against the server; JSON bodies are encoded, the admin token is sent unless `token: null`. */
  request(
    path: string,
    init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra environment (as strings, like the real environment). */
  env?: Record<string, string>;
  /** Use embedded PGlite in memory instead of a fresh PostgreSQL database. */
  pglite?: boolean;
  /** Reuse an existing database URL (e.g. two processes on one database). */
  databaseUrl?: string;
  plugins?: readonly PluginDefinition[];
  workers?: boolean;
  /** false: serve every REST route through the generic adapter (to compare with the fast lane). */
  platformLane?: boolean;
  /** The server's logger (default: pino at LABELER_TEST_LOG_LEVEL, silent); e.g. to assert what was logged. */
  logger?: Logger;
}

/**
 * Boots the real app (HTTP, auth, plugins, jobs) on an ephemeral port against a fresh database:
 * a new PostgreSQL database per call by default, or in-memory PGlite.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.pglite || options.databaseUrl ? null : await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'labeler-test-'));
  const adminToken = `test-admin-${randomBytes(16).toString('hex')}`;
  const adminEmail = 'admin@example.test';
  const adminPassword = 'correct horse battery staple';
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LABELER_DATA_DIR: dataDir,
    LABELER_ADMIN_TOKEN: adminToken,
    LABELER_ADMIN_EMAIL: adminEmail,
    LABELER_ADMIN_PASSWORD: adminPassword,
    LABELER_SECRET_KEY: 'test-secret-key-with-at-least-32-characters!',
    LOG_LEVEL: process.env.LABELER_TEST_LOG_LEVEL ?? 'silent',
    ...(database
      ? { DATABASE_URL: database.url }
      : options.databaseUrl
        ? { DATABASE_URL: options.databaseUrl }
        : {}),
    ...options.env,
  });
  let running: RunningServer;
  try {
    running = await startServer(config, {
      logger: options.logger ?? createLogger(config.LOG_LEVEL),
      ...(options.plugins ? { plugins: options.plugins } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.platformLane !== undefined ? { platformLane: options.platformLane } : {}),
    });
  } catch (error) {
    await database?.drop().catch(() => undefined);
    throw error;
  }
  return {
    url: running.url,
    services: running.services,
    adminToken,
    adminEmail,
    adminPassword,
    dataDir,
    database,
    async request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? adminToken : init.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      }
      const response = await fetch(`${running.url}${path}`, {
        method: init.method ?? (body ? 'POST' : 'GET'),
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async stop() {
      await running.stop();
      await database?.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
