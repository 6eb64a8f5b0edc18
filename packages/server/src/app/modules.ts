import type { Router } from 'express';
import type { JobDefinition } from '../jobs/types.js';
import { annotationJobs } from '../modules/annotation/jobs.js';
import { LAUNCH_PATH, launchRouter } from '../modules/annotation/launch.js';
import { MEDIA_PATH, mediaRouter } from '../modules/annotation/media.js';
import { AnnotationService } from '../modules/annotation/service.js';
import { platformMigrationJobs } from '../modules/platform-migration/job.js';
import { WEBHOOK_PATH, webhookRouter } from '../modules/annotation/webhooks.js';
import type { AppServices } from './services.js';

/** How often every ready annotation project gets a deduplicated pull (catches missed webhooks). */
const ANNOTATION_RECONCILE_MS = 5 * 60_000;

/**
 * Modules that add their own services, jobs and routes (annotation). Kept in one place so the
 * composition root reads as a list.
 */
export function moduleServices(app: () => AppServices): Pick<AppServices, 'annotation'> {
  return { annotation: new AnnotationService(app) };
}

export function moduleJobs(app: () => AppServices): JobDefinition[] {
  return [...annotationJobs(app), ...platformMigrationJobs(app)];
}

/**
 * Routes outside /api/v1. Called only when an HTTP server starts (not by the CLI), which is why the
 * annotation reconciler starts here: one per serving process.
 */
export function moduleRoutes(services: AppServices): Array<{ path: string; router: Router }> {
  services.annotation.startReconciler(ANNOTATION_RECONCILE_MS);
  return [
    { path: WEBHOOK_PATH, router: webhookRouter(services) },
    { path: LAUNCH_PATH, router: launchRouter(services) },
    { path: MEDIA_PATH, router: mediaRouter(services) },
  ];
}
