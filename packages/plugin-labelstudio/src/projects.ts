/** Projects: ensure (adopt by id, then by exact title, else create), read, validate, delete. */
import {
  type BackendProject,
  type EnsureProjectInput,
  type EnsureProjectResult,
  isLabelerError,
  type ProjectValidation,
} from '@labeler/core';
import { findOrCreate } from './find-or-create.js';
import type { LabelStudioClient } from './http.js';
import { projectLockKey, withProjectLock } from './lock.js';
import { type LsProject, projectPageSchema, projectSchema } from './schemas.js';
import { lsPath } from './routes.js';

const ID = /^\d+$/;
const normalize = (xml: string): string => xml.replace(/>\s+</g, '><').trim();

export function projectUrl(client: LabelStudioClient, externalId: string): string {
  return `${client.baseUrl}/projects/${encodeURIComponent(externalId)}/data`;
}

export function toBackendProject(client: LabelStudioClient, p: LsProject): BackendProject {
  return {
    externalId: String(p.id),
    title: p.title,
    taskCount: p.task_number ?? 0,
    annotationCount: p.total_annotations_number ?? 0,
    url: projectUrl(client, String(p.id)),
    labelConfig: p.label_config,
  };
}

export async function readProject(client: LabelStudioClient, externalId: string): Promise<LsProject | null> {
  if (!ID.test(externalId)) return null;
  return client.requestOrNull('GET', lsPath('project', { id: externalId }), projectSchema);
}

/** Every project whose title is exactly `title` (the API filter is `icontains`), oldest first. */
export async function findProjectsByTitle(client: LabelStudioClient, title: string): Promise<LsProject[]> {
  const out: LsProject[] = [];
  for (let page = 1; ; page++) {
    const body = await client.requestOrNull('GET', lsPath('projects'), projectPageSchema, {
      query: { title, page, page_size: 100 },
    });
    if (!body) break; // 404 past the last page
    out.push(...body.results.filter((p) => p.title === title));
    if (!body.next || body.results.length === 0) break;
  }
  return out.sort((a, b) => a.id - b.id);
}

export async function ensureProject(
  client: LabelStudioClient,
  input: EnsureProjectInput,
): Promise<EnsureProjectResult> {
  return withProjectLock(projectLockKey(client.baseUrl, input.title), async () => {
    const adopt = async (p: LsProject): Promise<EnsureProjectResult> => {
      let project = p;
      // Ensure means "exists with this config": bring an adopted project's config up to date.
      if (normalize(p.label_config) !== normalize(input.labelConfig)) {
        project = await client.request('PATCH', lsPath('project', { id: p.id }), projectSchema, {
          body: { label_config: input.labelConfig },
          labelConfig: true,
        });
      }
      return { project: toBackendProject(client, project), created: false, adopted: true };
    };
    if (input.externalId) {
      const recorded = await readProject(client, input.externalId);
      if (recorded) return adopt(recorded);
    }
    const { value, created } = await findOrCreate({
      find: async () => (await findProjectsByTitle(client, input.title))[0] ?? null,
      create: () =>
        client.request('POST', lsPath('projects'), projectSchema, {
          body: { title: input.title, description: input.description ?? '', label_config: input.labelConfig },
          labelConfig: true,
        }),
      pause: (attempt) => client.pause(attempt),
    });
    if (!created) return adopt(value);
    return { project: toBackendProject(client, value), created: true, adopted: false };
  });
}

export async function validateProject(
  client: LabelStudioClient,
  externalId: string,
): Promise<ProjectValidation> {
  try {
    const project = await readProject(client, externalId);
    if (!project) {
      return {
        exists: false,
        accessible: false,
        taskCount: 0,
        annotationCount: 0,
        status: 'not_found',
        message: `Label Studio project ${externalId} does not exist (deleted?). Ensure the project again to recreate it.`,
      };
    }
    return {
      exists: true,
      accessible: true,
      taskCount: project.task_number ?? 0,
      annotationCount: project.total_annotations_number ?? 0,
      status: 'ready',
    };
  } catch (error) {
    if (isLabelerError(error) && error.code === 'BACKEND_AUTH_FAILED') {
      return {
        exists: false,
        accessible: false,
        taskCount: 0,
        annotationCount: 0,
        status: 'forbidden',
        message: error.message,
      };
    }
    if (isLabelerError(error) && error.retryable) {
      return {
        exists: false,
        accessible: false,
        taskCount: 0,
        annotationCount: 0,
        status: 'unreachable',
        message: error.message,
      };
    }
    throw error;
  }
}

export async function deleteProject(client: LabelStudioClient, externalId: string): Promise<void> {
  if (!ID.test(externalId)) return;
  try {
    await client.request('DELETE', lsPath('project', { id: externalId }), null);
  } catch (error) {
    if (isLabelerError(error) && error.code === 'BACKEND_NOT_FOUND') return; // idempotent
    throw error;
  }
}
