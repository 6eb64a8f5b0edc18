/**
 * Pulling annotations back. Tasks map to samples by the sample id in the task's meta (a recorded task
 * link as fallback), never by position: listings may come back in any order.
 *
 * The pick rule and the result → label conversion are the backend's (`pickAnnotation` of the
 * annotation-backend contract; Label Studio: cancelled never counts, ground truth wins, else the most
 * recently updated). The chosen annotation is stored raw (backend result) and converted (core labels per
 * schema control), and the converted fields are written into the sample's labels (a field the annotator
 * emptied is removed).
 */
import {
  type AnnotationBackendInstance,
  type BackendTask,
  LabelerError,
  type LabelSchema,
  type PickedAnnotation,
} from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import { newId } from '../../lib/ids.js';
import { DatasetSample } from '../datasets/entities.js';
import { backendFor, explainBackendError, withTransientRetry } from './backend.js';
import { Annotation, AnnotationProject, AnnotationTaskLink } from './entities.js';
import type { SyncOneOutput } from './schemas.js';
import type { AnnotationService } from './service.js';

const APPLY_BATCH = 100;

export type AnnotationSource = 'pull' | 'webhook' | 'sync-one';

export interface PullSummary {
  project_id: string;
  tasks_seen: number;
  applied: number;
  unchanged: number;
  unmapped: number;
  task_count: number;
  annotation_count: number;
  /** The dataset version recording the pulled labels (when any label changed). */
  dataset_version?: number;
}

type Progress = (done: number, total: number | null, message: string) => Promise<void>;

interface Mapped {
  task: BackendTask;
  sampleId: string;
}

interface ApplyResult {
  applied: number;
  unchanged: number;
  removed: number;
  /** sample id → Labeler annotation id (null when nothing was picked). */
  ids: Map<string, { id: string; externalId: string } | null>;
}

function requireExternalId(project: AnnotationProject): string {
  if (!project.externalId) {
    throw new LabelerError(
      'CONFLICT',
      `Annotation project "${project.id}" has no backend project yet: ensure and import it first.`,
      { details: { project_id: project.id } },
    );
  }
  return project.externalId;
}

/**
 * Writes picked annotations and sample labels for a batch of tasks in one transaction. An advisory lock
 * per project serialises this with concurrent pulls and webhook syncs, so the (project, sample) unique
 * row is never inserted twice.
 */
export async function applyTasks(
  app: AppServices,
  backend: AnnotationBackendInstance,
  project: AnnotationProject,
  schema: LabelSchema,
  items: Mapped[],
  source: AnnotationSource,
): Promise<ApplyResult> {
  const out: ApplyResult = { applied: 0, unchanged: 0, removed: 0, ids: new Map() };
  if (items.length === 0) return out;
  const pick = pickerOf(backend, project.backendInstanceId);
  // Picked (and converted) before the transaction: the backend's work holds no lock or connection.
  const picks = new Map(items.map((i) => [i, pick(i.task, schema)]));
  await app.orm.em.fork().transactional(async (tem) => {
    await tem.execute('select pg_advisory_xact_lock(hashtext(?))', [`annotation.apply:${project.id}`]);
    const sampleIds = [...new Set(items.map((i) => i.sampleId))];
    const existing = new Map(
      (await tem.find(Annotation, { projectId: project.id, sampleId: { $in: sampleIds } })).map((a) => [
        a.sampleId,
        a,
      ]),
    );
    const samples = new Map(
      (await tem.find(DatasetSample, { datasetId: project.datasetId, id: { $in: sampleIds } })).map((s) => [
        s.id,
        s,
      ]),
    );
    for (const item of items) {
      const { task, sampleId } = item;
      const chosen = picks.get(item) ?? null;
      const picked = chosen?.annotation ?? null;
      const row = existing.get(sampleId);
      if (!picked || !chosen) {
        // Every annotation was cancelled or deleted: the pick is gone (the sample keeps its labels).
        if (row) {
          tem.remove(row);
          existing.delete(sampleId);
          out.removed += 1;
        }
        out.ids.set(sampleId, null);
        continue;
      }
      const updatedAt = new Date(picked.updatedAt);
      const backendUpdatedAt = Number.isNaN(updatedAt.getTime()) ? null : updatedAt;
      if (
        row &&
        row.externalAnnotationId === picked.externalId &&
        row.backendUpdatedAt?.getTime() === backendUpdatedAt?.getTime()
      ) {
        out.unchanged += 1;
        out.ids.set(sampleId, { id: row.id, externalId: row.externalAnnotationId });
        continue;
      }
      const labels = chosen!.labels;
      const fields = {
        externalTaskId: task.externalTaskId,
        externalAnnotationId: picked.externalId,
        result: picked.result,
        labels: labels as Record<string, unknown>,
        annotator: picked.completedBy === null ? null : String(picked.completedBy),
        groundTruth: picked.groundTruth,
        source,
        backendUpdatedAt,
      };
      let saved: Annotation;
      if (row) saved = Object.assign(row, fields);
      else {
        saved = tem.create(Annotation, {
          id: newId('annotation'),
          projectId: project.id,
          datasetId: project.datasetId,
          sampleId,
          ...fields,
        });
        existing.set(sampleId, saved);
      }
      out.ids.set(sampleId, { id: saved.id, externalId: saved.externalAnnotationId });
      const sample = samples.get(sampleId);
      if (sample) {
        const next: Record<string, unknown> = { ...sample.labels };
        for (const [field, value] of Object.entries(labels)) {
          if (value === null) delete next[field];
          else next[field] = value;
        }
        sample.labels = next;
      }
      out.applied += 1;
    }
  });
  return out;
}

function pickerOf(
  backend: AnnotationBackendInstance,
  instanceId: string,
): (task: BackendTask, schema: LabelSchema) => PickedAnnotation | null {
  const pick = backend.pickAnnotation?.bind(backend);
  if (!pick)
    throw new LabelerError(
      'CAPABILITY_UNSUPPORTED',
      `The annotation backend "${instanceId}" cannot pull annotations (it has no pickAnnotation).`,
      { details: { backend_instance_id: instanceId } },
    );
  return pick;
}

async function countAnnotations(app: AppServices, projectId: string): Promise<number> {
  return app.orm.em.fork().count(Annotation, { projectId });
}

export async function pullProject(
  service: AnnotationService,
  app: AppServices,
  projectId: string,
  options: { signal: AbortSignal; progress: Progress },
): Promise<PullSummary> {
  const project = await service.getRecord(projectId);
  const externalId = requireExternalId(project);
  const backend = await backendFor(app, project.backendInstanceId);
  pickerOf(backend, project.backendInstanceId); // a backend that cannot pull fails before anything changes
  const em = app.orm.em.fork();
  await em.nativeUpdate(AnnotationProject, { id: projectId }, { syncStatus: 'syncing' });
  const schema = service.labelSchemaOf(project);
  // Fallback for tasks whose meta lost the sample id (edited in the backend): the recorded link.
  let linkIndex: Map<string, string> | null = null;
  const sampleOf = async (task: BackendTask): Promise<string | null> => {
    if (task.sampleId) return task.sampleId;
    linkIndex ??= new Map(
      (await app.orm.em.fork().find(AnnotationTaskLink, { projectId })).map((l) => [
        l.externalTaskId,
        l.sampleId,
      ]),
    );
    return linkIndex.get(task.externalTaskId) ?? null;
  };
  const summary: PullSummary = {
    project_id: projectId,
    tasks_seen: 0,
    applied: 0,
    unchanged: 0,
    unmapped: 0,
    task_count: project.taskCount,
    annotation_count: 0,
  };
  let batch: Mapped[] = [];
  const flush = async () => {
    const result = await applyTasks(app, backend, project, schema, batch, 'pull');
    summary.applied += result.applied;
    summary.unchanged += result.unchanged;
    batch = [];
    await options.progress(
      summary.tasks_seen,
      null,
      `${summary.applied} annotations updated, ${summary.unchanged} unchanged`,
    );
  };
  try {
    for await (const task of backend.iterateTasks(externalId, {
      onlyAnnotated: true,
      signal: options.signal,
    })) {
      summary.tasks_seen += 1;
      const sampleId = await sampleOf(task);
      if (!sampleId) {
        summary.unmapped += 1;
        continue;
      }
      batch.push({ task, sampleId });
      if (batch.length >= APPLY_BATCH) await flush();
    }
    await flush();
    const backendProject = await withTransientRetry(() => backend.getProject(externalId));
    if (backendProject) summary.task_count = backendProject.taskCount;
  } catch (error) {
    throw explainBackendError(error, project.backendInstanceId);
  }
  summary.annotation_count = await countAnnotations(app, projectId);
  await em.nativeUpdate(
    AnnotationProject,
    { id: projectId },
    {
      syncStatus: 'synced',
      lastSyncAt: new Date(),
      taskCount: summary.task_count,
      annotationCount: summary.annotation_count,
      lastError: null,
    },
  );
  if (summary.unmapped > 0)
    app.logger.warn(
      { project_id: projectId, unmapped: summary.unmapped },
      'annotated tasks without a sample id were skipped',
    );
  return summary;
}

export async function syncTask(
  service: AnnotationService,
  app: AppServices,
  projectId: string,
  taskId: string,
  source: AnnotationSource,
): Promise<SyncOneOutput> {
  const project = await service.getRecord(projectId);
  const externalId = requireExternalId(project);
  const backend = await backendFor(app, project.backendInstanceId);
  pickerOf(backend, project.backendInstanceId);
  let task: BackendTask | null;
  try {
    task = await withTransientRetry(() => backend.getTask(externalId, taskId));
  } catch (error) {
    throw explainBackendError(error, project.backendInstanceId);
  }
  if (!task) {
    throw new LabelerError(
      'NOT_FOUND',
      `Task ${taskId} is not part of the backend project of "${projectId}".`,
      { details: { project_id: projectId, task_id: taskId } },
    );
  }
  let sampleId = task.sampleId;
  if (!sampleId)
    sampleId =
      (await app.orm.em.fork().findOne(AnnotationTaskLink, { projectId, externalTaskId: taskId }))
        ?.sampleId ?? null;
  if (!sampleId)
    return {
      project_id: projectId,
      task_id: taskId,
      sample_id: null,
      synced: false,
      annotation_id: null,
      external_annotation_id: null,
    };
  const result = await applyTasks(
    app,
    backend,
    project,
    service.labelSchemaOf(project),
    [{ task, sampleId }],
    source,
  );
  const annotationCount = await countAnnotations(app, projectId);
  await app.orm.em.fork().nativeUpdate(AnnotationProject, { id: projectId }, { annotationCount });
  const picked = result.ids.get(sampleId) ?? null;
  return {
    project_id: projectId,
    task_id: taskId,
    sample_id: sampleId,
    synced: picked !== null,
    annotation_id: picked?.id ?? null,
    external_annotation_id: picked?.externalId ?? null,
  };
}
