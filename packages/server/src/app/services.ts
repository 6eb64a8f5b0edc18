import type { AppConfig } from '../config/env.js';
import type { ChangeFeed } from '../db/change-feed.js';
import type { FastSql } from '../db/fast-sql.js';
import type { Orm } from '../db/orm.js';
import type { JobRuntime } from '../jobs/types.js';
import type { ServerKeys } from '../lib/crypto.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../http/metrics.js';
import type { AnnotationService } from '../modules/annotation/service.js';
import type { AuditService } from '../modules/audit/service.js';
import type { AdminUserService } from '../modules/auth/admin-users.js';
import type { AuthService } from '../modules/auth/service.js';
import type { DatasetService } from '../modules/datasets/service.js';
import type { OrganizationService } from '../modules/organizations/service.js';
import type { RateLimitService } from '../modules/rate-limits/service.js';
import type { ServiceAccountService } from '../modules/service-accounts/service.js';
import type { StorageFilesService } from '../modules/storage-files/service.js';
import type { WebhookService } from '../modules/webhooks/service.js';
import type { PluginHost } from '../plugins/host.js';

/** Everything a request, job or CLI command may use; built once by createServices(). */
export interface AppServices {
  config: AppConfig;
  logger: Logger;
  orm: Orm;
  /** Prepared statements for request hot paths (see db/fast-sql.ts). */
  sql: FastSql;
  /** The LISTEN connection that keeps in-memory caches coherent across processes (db/change-feed.ts). */
  changes: ChangeFeed;
  keys: ServerKeys;
  metrics: Metrics;
  plugins: PluginHost;
  auth: AuthService;
  audit: AuditService;
  rateLimits: RateLimitService;
  serviceAccounts: ServiceAccountService;
  adminUsers: AdminUserService;
  organizations: OrganizationService;
  datasets: DatasetService;
  storageFiles: StorageFilesService;
  annotation: AnnotationService;
  /** Outbound webhooks to the Platform (modules/webhooks). */
  webhooks: WebhookService;
  jobs: JobRuntime;
}
