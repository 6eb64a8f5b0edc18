/**
 * Label Studio simulator: an in-process HTTP server that follows the real Label Studio Community API as
 * documented in shared/reference/label-studio-api.md (auth and 401 texts, error envelope, pagination
 * shapes, synchronous import, export quirks, storages, local-files gates, webhooks), plus fault injection.
 *
 * TEST AND DEVELOPMENT SUPPORT ONLY. It keeps everything in memory, has one user and no permissions,
 * and is never a production annotation backend.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticate, NOT_PROVIDED } from './auth.js';
import type { SimContext, SimulatorOptions } from './context.js';
import {
  createFaultController,
  decideFault,
  envelope,
  type FaultController,
  faultResponse,
  HttpError,
  readBody,
  type Route,
  routeNotFound,
  type SimResponse,
  send,
  sleep,
} from './http.js';
import { createSqliteLocks, lockedResponse } from './locks.js';
import { authRoutes, issuePersonalAccessToken } from './routes-auth.js';
import { fileRoutes } from './routes-files.js';
import { projectRoutes } from './routes-projects.js';
import { storageRoutes } from './routes-storages.js';
import { taskRoutes } from './routes-tasks.js';
import { createWebhookEmitter, webhookRoutes } from './routes-webhooks.js';
import { SimulatorState } from './state.js';
import { hasPersonalAccessTokens } from '../versions.js';

export type { SimulatorOptions } from './context.js';
export type { FaultController, FaultOptions } from './http.js';
export { checkLabelConfig } from './label-config.js';
export type {
  AddAnnotationInput,
  SeedTaskInput,
  SimAnnotation,
  SimPrediction,
  SimProject,
  SimStorage,
  SimTask,
  SimWebhook,
  WebhookDelivery,
} from './state.js';
export { SimulatorState } from './state.js';

export interface LabelStudioSimulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /** 40-hex legacy token (`Authorization: Token <key>`). */
  legacyToken: string;
  /** A Personal Access Token: a JWT refresh token to exchange at `/api/token/refresh`. */
  personalAccessToken: string;
  /** LOCAL_FILES_DOCUMENT_ROOT of this simulator. */
  documentRoot: string;
  /** The admin's `/user/login/` credentials (local files serve only to sessions before 1.17). */
  login: { email: string; password: string };
  /** Writes that found the emulated SQLite database locked and waited (sqliteLocking). */
  readonly lockWaits: number;
  state: SimulatorState;
  faults: FaultController;
  /** Mints another PAT (e.g. to test several clients). */
  issuePersonalAccessToken(): string;
  stop(): Promise<void>;
}

export async function startLabelStudioSimulator(
  options: SimulatorOptions = {},
): Promise<LabelStudioSimulator> {
  const state = new SimulatorState();
  state.settings.legacyApiTokensEnabled = options.legacyTokensEnabled ?? true;
  const version = options.version ?? '1.19.0';
  const modern = hasPersonalAccessTokens(version);
  const ctx: SimContext = {
    state,
    version,
    modern,
    adminPassword: options.adminPassword ?? 'simulator-password',
    edition: options.edition ?? 'Community',
    legacyToken: options.legacyToken ?? randomBytes(20).toString('hex'),
    jwtSecret: randomBytes(32).toString('hex'),
    accessTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    taskPageSizeMax: options.taskPageSizeMax ?? 100,
    shuffle: options.shuffleTaskOrder ?? false,
    uniqueTitles: options.uniqueTitles ?? false,
    localFiles: {
      servingEnabled: options.localFiles?.servingEnabled ?? false,
      documentRoot: options.localFiles?.documentRoot ?? mkdtempSync(join(tmpdir(), 'ls-sim-root-')),
      acceptTokenAuth: options.localFiles?.acceptTokenAuth ?? modern,
    },
    webhookTimeoutMs: options.webhookTimeoutMs ?? 1000,
  };
  state.emitWebhook = createWebhookEmitter(ctx);
  const routes: Route[] = [
    ...authRoutes(ctx),
    ...projectRoutes(ctx),
    ...taskRoutes(ctx),
    ...storageRoutes(ctx),
    ...webhookRoutes(ctx),
    ...fileRoutes(ctx),
  ];
  const faults = createFaultController();
  const locks = createSqliteLocks(options.sqliteLocking);

  const handle = async (
    req: IncomingMessage,
    path: string,
    slashed: boolean,
    query: URLSearchParams,
  ): Promise<SimResponse> => {
    const method = req.method ?? 'GET';
    let params: Record<string, string> = {};
    let matched: Route | undefined;
    let pathMatched = false;
    for (const r of routes) {
      const m = r.pattern.exec(path);
      if (!m || (slashed && !r.slash)) continue; // Label Studio only adds a missing slash
      pathMatched = true;
      if (r.method !== method) continue;
      matched = r;
      params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      break;
    }
    if (!matched) {
      if (pathMatched) throw new HttpError(405, `Method "${method}" not allowed.`);
      return routeNotFound();
    }
    const who = matched.auth === 'none' ? null : authenticate(ctx, req.headers);
    if (matched.auth === 'required' && !who) throw new HttpError(401, NOT_PROVIDED);
    const rawBody = await readBody(req);
    let body: unknown;
    if (rawBody.length > 0 && /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      body = Object.fromEntries(new URLSearchParams(rawBody));
    } else if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody);
      } catch (error) {
        throw new HttpError(
          400,
          `JSON parse error - ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return matched.handler({
      method,
      path,
      query,
      headers: req.headers,
      body,
      params,
      userId: who?.userId ?? null,
      authVia: who?.via ?? null,
    });
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    state.stats.requests += 1;
    const parsed = new URL(req.url ?? '/', 'http://simulator');
    // CommonMiddlewareAppendSlashWithoutRedirect: a missing slash is added (no redirect), never removed.
    const path = parsed.pathname.length > 1 ? parsed.pathname.replace(/\/+$/, '') : parsed.pathname;
    const slashed = path !== parsed.pathname;
    const fault = decideFault(faults, req.method ?? 'GET', path);
    if (faults.current.latencyMs) await sleep(faults.current.latencyMs);
    if (fault.kind !== 'none' && !fault.after) {
      if (fault.kind === 'drop') {
        faults.injected.drops += 1;
        req.socket.destroy();
        return;
      }
      faults.injected.errors += 1;
      send(res, faultResponse(fault.status, ctx.version));
      return;
    }
    let response: SimResponse;
    const unlock = await locks.acquire(req.method ?? 'GET');
    try {
      response =
        unlock === null ? lockedResponse(ctx.version) : await handle(req, path, slashed, parsed.searchParams);
    } catch (error) {
      const httpError =
        error instanceof HttpError
          ? error
          : new HttpError(
              500,
              String(error),
              undefined,
              error instanceof Error ? (error.stack ?? null) : null,
            );
      response = { status: httpError.status, json: envelope(ctx.version, httpError) };
    } finally {
      unlock?.();
    }
    if (fault.kind === 'drop') {
      faults.injected.drops += 1;
      req.socket.destroy();
      return;
    }
    if (fault.kind === 'error') {
      faults.injected.errors += 1;
      response = faultResponse(fault.status, ctx.version);
    }
    send(res, response);
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, { status: 500, json: envelope(ctx.version, new HttpError(500, String(error))) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    legacyToken: ctx.legacyToken,
    personalAccessToken: issuePersonalAccessToken(ctx),
    documentRoot: ctx.localFiles.documentRoot,
    login: { email: state.users[0]!.email, password: ctx.adminPassword },
    get lockWaits() {
      return locks.waits;
    },
    state,
    faults,
    issuePersonalAccessToken: () => issuePersonalAccessToken(ctx),
    async stop() {
      await state.flushWebhooks();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
