import { mkdirSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { join } from 'node:path';
import type { AuthInstance, PluginDefinition } from '@labeler/core';
import type { AppConfig } from '../config/env.js';
import { ChangeFeed } from '../db/change-feed.js';
import { createFastSql } from '../db/fast-sql.js';
import { migrate, openDatabase, pgliteDirFor, type Orm } from '../db/orm.js';
import { timeoutsOf } from '../db/timeouts.js';
import { waitForDatabase } from '../db/wait.js';
import { createRequestListener, type HttpAppOptions } from '../http/app.js';
import { answerClientErrors } from '../http/client-errors.js';
import { applyServerTimeouts } from '../http/server-timeouts.js';
import { Metrics } from '../http/metrics.js';
import { createJobRuntime } from '../jobs/runtime.js';
import type { JobDefinition } from '../jobs/types.js';
import { deriveKeys, resolveServerSecret } from '../lib/crypto.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { AuditService } from '../modules/audit/service.js';
import { AdminUserService } from '../modules/auth/admin-users.js';
import { localAdminAuthPlugin, serviceAccountAuthPlugin } from '../modules/auth/builtin-plugins.js';
import { AuthService } from '../modules/auth/service.js';
import { DatasetService } from '../modules/datasets/service.js';
import { DATASET_CHANGES_CHANNEL } from '../modules/datasets/entities.js';
import { invalidateDatasetCounts } from '../modules/datasets/reads.js';
import { DatasetViewCache } from '../modules/datasets/view-cache.js';
import { OrganizationService } from '../modules/organizations/service.js';
import { PluginInstanceRecord } from '../modules/plugin-instances/entities.js';
import { RateLimitService } from '../modules/rate-limits/service.js';
import { ServiceAccountService } from '../modules/service-accounts/service.js';
import { storageFileJobs } from '../modules/storage-files/jobs.js';
import { ArchivePresence } from '../modules/storage-files/archive-presence.js';
import { StorageFilesService } from '../modules/storage-files/service.js';
import { webhookJobs } from '../modules/webhooks/jobs.js';
import { WebhookService } from '../modules/webhooks/service.js';
import { webhookSettingsOf } from '../modules/webhooks/settings.js';
import { BUILTIN_PLUGINS, defaultDatasetConnector } from '../plugins/catalog.js';
import { PluginHost } from '../plugins/host.js';
import { PluginRegistry } from '../plugins/registry.js';
import type { AppServices } from './services.js';
import { moduleJobs, moduleRoutes, moduleServices } from './modules.js';

export interface CreateServicesOptions {
  logger?: Logger;
  /** Plugin definitions to register (default: the built-in catalog). */
  plugins?: readonly PluginDefinition[];
  /** Run job workers in this process (default: config.LABELER_EMBEDDED_WORKERS). */
  workers?: boolean;
  /** Use an already-open ORM (tests sharing a database). */
  orm?: Orm;
}

/** Builds every service: database (migrated), plugins, auth, jobs. Does not listen. */
export async function createServices(
  config: AppConfig,
  options: CreateServicesOptions = {},
): Promise<AppServices> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL, {}, { async: true });
  mkdirSync(config.dataDir, { recursive: true });
  const { secret, generated } = resolveServerSecret(config.LABELER_SECRET_KEY, config.dataDir);
  if (generated)
    logger.warn(
      { file: join(config.dataDir, 'secret.key') },
      'LABELER_SECRET_KEY is not set: generated one in the data directory. Set it explicitly in production.',
    );
  const keys = deriveKeys(secret);

  const orm =
    options.orm ??
    (await openDatabase({
      databaseUrl: config.DATABASE_URL,
      pgliteDataDir: pgliteDirFor(config.dataDir),
      poolMax: config.DATABASE_POOL_MAX,
      timeouts: timeoutsOf(config),
    }));
  if (!options.orm) {
    const applied = await migrate(orm);
    if (applied.length) logger.info({ migrations: applied }, 'applied database migrations');
  }

  const sql = createFastSql(orm, config.DATABASE_URL, config.DATABASE_POOL_MAX, timeoutsOf(config));
  const metrics = new Metrics(!options.logger);
  const registry = new PluginRegistry(options.plugins ?? BUILTIN_PLUGINS);
  const plugins = new PluginHost({
    orm,
    registry,
    logger,
    encryptionKey: keys.encryption,
    signingKey: keys.signing,
    publicBaseUrl: config.publicUrl,
    dataDir: config.dataDir,
  });
  const audit = new AuditService(orm, sql);
  // One LISTEN connection keeps this process's caches coherent with other processes' writes.
  const changes = new ChangeFeed(config.DATABASE_URL, logger);
  const serviceAccounts = new ServiceAccountService(orm, audit, changes);
  // Off on embedded PGlite (see view-cache.ts).
  const datasetViews = new DatasetViewCache(
    changes,
    config.DATABASE_URL ? config.LABELER_DATASET_CACHE_MB * 1024 * 1024 : 0,
  );
  metrics.observeViewCache(datasetViews);
  // List totals too: another process's dataset write reaches them at once, not after their 5 s.
  changes.subscribe(DATASET_CHANGES_CHANNEL, {
    changed: invalidateDatasetCounts,
    reset: invalidateDatasetCounts,
  });
  await changes.start();
  const adminUsers = new AdminUserService(orm, audit, config.LABELER_SESSION_TTL_HOURS);

  const authDefinitions = [serviceAccountAuthPlugin(serviceAccounts), localAdminAuthPlugin(adminUsers)];
  const authInstances: Array<{ id: string; instance: AuthInstance }> = [];
  for (const definition of authDefinitions) {
    registry.register(definition as unknown as PluginDefinition);
    authInstances.push({
      id: definition.id,
      instance: await definition.create(
        {
          instanceId: definition.id,
          logger,
          publicBaseUrl: config.publicUrl,
          dataDir: config.dataDir,
          signingKey: keys.signing,
        },
        {},
      ),
    });
  }

  let services!: AppServices;
  const app = () => services;
  // The datasets and organizations services publish their events through it, in their transactions.
  const webhooks = new WebhookService(app, webhookSettingsOf(config));
  const jobs = createJobRuntime({
    orm,
    logger,
    metrics,
    config,
    embeddedWorkers: options.workers ?? config.LABELER_EMBEDDED_WORKERS,
  });
  services = {
    config,
    logger,
    orm,
    sql,
    changes,
    keys,
    metrics,
    plugins,
    auth: new AuthService(authInstances, { unauthenticatedPerIp: config.LABELER_UNAUTHENTICATED_PER_IP }),
    audit,
    rateLimits: new RateLimitService(sql),
    serviceAccounts,
    adminUsers,
    organizations: new OrganizationService(orm, audit, webhooks),
    datasets: new DatasetService(orm, audit, sql, datasetViews, webhooks),
    webhooks,
    storageFiles: new StorageFilesService(
      app,
      new ArchivePresence(config.LABELER_ARCHIVE_CHECK_SECONDS * 1000),
      defaultDatasetConnector(),
    ),
    jobs,
    ...moduleServices(app),
  };
  const jobDefinitions: JobDefinition[] = [...storageFileJobs(app), ...moduleJobs(app), ...webhookJobs(app)];
  for (const definition of jobDefinitions) jobs.register(definition);

  await ensureDefaultStorage(services);
  if (config.LABELER_ADMIN_TOKEN) await serviceAccounts.ensureBootstrap(config.LABELER_ADMIN_TOKEN);
  if (config.LABELER_ADMIN_EMAIL && config.LABELER_ADMIN_PASSWORD) {
    if (await adminUsers.ensureBootstrap(config.LABELER_ADMIN_EMAIL, config.LABELER_ADMIN_PASSWORD))
      logger.info({ email: config.LABELER_ADMIN_EMAIL }, 'created the first admin user');
  }
  await plugins.start();
  await jobs.startWorkers();
  return services;
}

/** First start: a local-disk storage under the data directory becomes the default storage. */
async function ensureDefaultStorage(app: AppServices): Promise<void> {
  const em = app.orm.em.fork();
  if (await em.count(PluginInstanceRecord, { kind: 'storage' })) return;
  await app.plugins.create({
    pluginId: 'local-disk',
    name: 'local',
    config: { root: join(app.config.dataDir, 'storage') },
    isDefault: true,
  });
  app.logger.info('created the default local-disk storage');
}

export interface RunningServer {
  services: AppServices;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts HTTP on config.HOST:PORT (0 = ephemeral). The socket is bound first (answering 503 until the
 * services are ready) so links the server hands out carry the real port. stop() drains requests, then
 * jobs, plugins and the database.
 */
export async function startServer(
  config: AppConfig,
  options: CreateServicesOptions & HttpAppOptions = {},
): Promise<RunningServer> {
  let handler: RequestListener = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
    res.end(
      JSON.stringify({
        error: {
          code: 'SERVICE_STARTING',
          message: 'Labeler is starting; retry shortly.',
          details: {},
          timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      }),
    );
  };
  const server = createServer((req, res) => handler(req, res));
  applyServerTimeouts(server, config);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  if (!config.LABELER_PUBLIC_URL && config.PORT === 0) config.publicUrl = url;
  let services: AppServices;
  try {
    // Started before its database (or during a failover): wait for it, answering 503 meanwhile.
    if (config.DATABASE_URL && !options.orm)
      await waitForDatabase(config.DATABASE_URL, {
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        maxWaitSeconds: config.DATABASE_STARTUP_WAIT_SECONDS,
        logger: options.logger ?? createLogger(config.LOG_LEVEL),
      });
    services = await createServices(config, options);
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  handler = createRequestListener(services, {
    extraRoutes: [...moduleRoutes(services), ...(options.extraRoutes ?? [])],
    ...(options.platformLane !== undefined ? { platformLane: options.platformLane } : {}),
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 10_000).unref();
      });
      await shutdownServices(services, !options.orm);
    })();
    return stopping;
  };
  return { services, server, url, stop };
}

export async function shutdownServices(services: AppServices, closeDatabase = true): Promise<void> {
  await services.jobs.stop().catch((error) => services.logger.error({ err: error }, 'stopping jobs failed'));
  await services.serviceAccounts.stop();
  services.webhooks.stop();
  await services.changes.stop();
  await services.plugins.stop();
  await services.sql.close().catch(() => undefined);
  if (closeDatabase) await services.orm.close(true);
  services.logger.flush();
}
