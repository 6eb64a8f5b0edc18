import { Annotation, AnnotationProject, AnnotationTaskLink } from '../modules/annotation/entities.js';
import { AuditEvent } from '../modules/audit/entities.js';
import { AdminSession, AdminUser } from '../modules/auth/entities.js';
import { Dataset, DatasetFile, DatasetSample, DatasetVersion } from '../modules/datasets/entities.js';
import { IdempotencyKey } from '../modules/idempotency/entities.js';
import { JobRecord } from '../modules/jobs/entities.js';
import { Membership, Organization, PlatformUser } from '../modules/organizations/entities.js';
import { DatasetPermission } from '../modules/permissions/entities.js';
import { PlatformMigrationCheckpoint } from '../modules/platform-migration/entities.js';
import { PluginInstanceRecord } from '../modules/plugin-instances/entities.js';
import { RateLimitCounter } from '../modules/rate-limits/entities.js';
import { ServiceAccount } from '../modules/service-accounts/entities.js';
import { WebhookAttempt, WebhookDelivery, WebhookSubscription } from '../modules/webhooks/entities.js';

/** Every entity, owned by its module; the ORM and the migration generator read this list. */
export const ENTITIES = [
  Organization,
  PlatformUser,
  Membership,
  Dataset,
  DatasetVersion,
  DatasetFile,
  DatasetSample,
  DatasetPermission,
  ServiceAccount,
  AdminUser,
  AdminSession,
  PluginInstanceRecord,
  AnnotationProject,
  AnnotationTaskLink,
  Annotation,
  JobRecord,
  AuditEvent,
  IdempotencyKey,
  RateLimitCounter,
  WebhookSubscription,
  WebhookDelivery,
  WebhookAttempt,
  PlatformMigrationCheckpoint,
];
