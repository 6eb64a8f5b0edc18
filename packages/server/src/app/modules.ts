import type { Router } from 'express';
import type { JobDefinition } from '../jobs/types.js';
import type { AppServices } from './services.js';

/**
 * Modules that add their own services, jobs and routes (annotation). Kept in one place so the
 * composition root reads as a list.
 */
export function moduleServices(_app: () => AppServices): Pick<AppServices, 'annotation'> {
  return { annotation: undefined as unknown as AppServices['annotation'] };
}

export function moduleJobs(_app: () => AppServices): JobDefinition[] {
  return [];
}

export function moduleRoutes(_services: AppServices): Array<{ path: string; router: Router }> {
  return [];
}
