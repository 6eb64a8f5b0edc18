/**
 * annotation.import: every sample of the dataset becomes one backend task with `data.image` and the sample
 * id in `meta`. Idempotent and resumable: the backend is asked which sample ids already have a task before
 * anything is sent, and batches whose outcome is unknown are re-checked, never resent blindly — the
 * backend's `importSamples` (annotation-backend contract) owns batching, concurrency and that re-check. Task links are then recorded from the backend's own listing, which also heals links a
 * previous, interrupted run never got to write.
 */
import { randomUUID } from 'node:crypto';
import type { AnnotationBackendInstance, TaskInput } from '@labeler/core';
import { LabelerError } from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import { DatasetSample } from '../datasets/entities.js';
import { backendFor, explainBackendError } from './backend.js';
import { AnnotationProject, AnnotationTaskLink } from './entities.js';
import { taskImageUrl } from './media.js';
import type { AnnotationService } from './service.js';

export const DEFAULT_IMPORT_BATCH = 100;
const SAMPLE_PAGE = 500;
const LINK_CHUNK = 500;

export interface ImportSummary {
  project_id: string;
  external_id: string;
  total_samples: number;
  imported: number;
  skipped: number;
  requests: number;
  task_count: number;
}

type Progress = (done: number, total: number | null, message: string) => Promise<void>;

/** Samples in id order, a page at a time (keyset pagination: stable while rows are added). */
async function* samplesOf(
  app: AppServices,
  project: AnnotationProject,
  service: AnnotationService,
  backend: AnnotationBackendInstance,
): AsyncGenerator<TaskInput> {
  const media = service.mediaOf(project);
  let after = '';
  for (;;) {
    const page = await app.orm.em
      .fork()
      .find(
        DatasetSample,
        { datasetId: project.datasetId, id: { $gt: after } },
        { orderBy: { id: 'asc' }, limit: SAMPLE_PAGE },
      );
    if (page.length === 0) return;
    for (const sample of page) {
      yield {
        sampleId: sample.id,
        data: { image: taskImageUrl(app, backend, project.id, sample, media) },
        meta: { dataset_id: project.datasetId, labeler_project_id: project.id },
      };
    }
    after = page[page.length - 1]!.id;
  }
}

/** Upserts (project, sample) → task links from the backend's listing; returns the backend's task count. */
export async function recordLinks(
  app: AppServices,
  backend: AnnotationBackendInstance,
  project: AnnotationProject,
  signal?: AbortSignal,
): Promise<number> {
  let tasks = 0;
  let chunk: Array<{ sampleId: string; externalTaskId: string }> = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const em = app.orm.em.fork();
    await em.upsertMany(
      AnnotationTaskLink,
      chunk.map((c) => ({
        id: randomUUID(),
        projectId: project.id,
        sampleId: c.sampleId,
        externalTaskId: c.externalTaskId,
        batch: 0,
        createdAt: new Date(),
      })),
      {
        onConflictFields: ['projectId', 'sampleId'],
        onConflictAction: 'merge',
        onConflictMergeFields: ['externalTaskId'],
      },
    );
    chunk = [];
  };
  for await (const ref of backend.listTaskRefs(project.externalId!, { signal })) {
    tasks += 1;
    if (ref.sampleId === null) continue; // a task someone added in the backend by hand
    chunk.push({ sampleId: ref.sampleId, externalTaskId: ref.externalTaskId });
    if (chunk.length >= LINK_CHUNK) await flush();
  }
  await flush();
  return tasks;
}

export async function importProject(
  service: AnnotationService,
  app: AppServices,
  projectId: string,
  options: { batchSize?: number | undefined; signal: AbortSignal; progress: Progress },
): Promise<ImportSummary> {
  let project = await service.getRecord(projectId);
  if (!project.externalId) {
    await service.ensure(projectId, null); // importing implies the project must exist
    project = await service.getRecord(projectId);
  }
  const externalId = project.externalId!;
  const em = app.orm.em.fork();
  await em.nativeUpdate(AnnotationProject, { id: projectId }, { status: 'importing', lastError: null });
  const backend = await backendFor(app, project.backendInstanceId);
  const total = await em.count(DatasetSample, { datasetId: project.datasetId });
  await options.progress(0, total, 'checking which samples already have a task');
  try {
    if (!backend.importSamples)
      throw new LabelerError(
        'CAPABILITY_UNSUPPORTED',
        `The annotation backend "${project.backendInstanceId}" cannot import samples (it has no importSamples).`,
        { details: { backend_instance_id: project.backendInstanceId } },
      );
    const result = await backend.importSamples(externalId, samplesOf(app, project, service, backend), {
      batchSize: options.batchSize ?? DEFAULT_IMPORT_BATCH,
      signal: options.signal,
      onProgress: (p) => {
        void options
          .progress(p.imported + p.skipped, total, `${p.imported} imported, ${p.skipped} already present`)
          .catch(() => undefined);
      },
    });
    const taskCount = await recordLinks(app, backend, project, options.signal);
    await em.nativeUpdate(
      AnnotationProject,
      { id: projectId },
      { status: 'ready', taskCount, lastError: null },
    );
    await options.progress(total, total, `${result.imported} imported, ${result.skipped} already present`);
    return {
      project_id: projectId,
      external_id: externalId,
      total_samples: total,
      imported: result.imported,
      skipped: result.skipped,
      requests: result.requests,
      task_count: taskCount,
    };
  } catch (error) {
    throw explainBackendError(error, project.backendInstanceId);
  }
}
