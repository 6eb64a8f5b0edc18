/** Tasks: one-batch import, paged listing of refs and annotated tasks (streamed), detail, clear. */
import {
  type BackendAnnotation,
  type BackendTask,
  type ImportResult,
  type IterateTasksOptions,
  isLabelerError,
  LabelerError,
  type TaskInput,
  type TaskRef,
} from '@labeler/core';
import type { z } from 'zod';
import type { LabelStudioClient } from './http.js';
import {
  annotationSchema,
  importResponseSchema,
  importStatusSchema,
  type LsAnnotation,
  type LsTask,
  taskRefsPageSchema,
  taskSchema,
  tasksPageSchema,
} from './schemas.js';
import { lsPath } from './routes.js';

/** Largest batch importTasks accepts (LS docs advise 500–1,000 tasks per POST). */
export const MAX_IMPORT_BATCH = 1000;
const ID = /^\d+$/;

/** Community ignores `only_annotated` (#8298): the maintainers' DM filter instead. */
export const ANNOTATED_QUERY = JSON.stringify({
  filters: {
    conjunction: 'and',
    items: [{ filter: 'filter:tasks:total_annotations', operator: 'greater', type: 'Number', value: 0 }],
  },
});

function assertId(kind: string, id: string): void {
  if (!ID.test(id))
    throw new LabelerError('BACKEND_NOT_FOUND', `Label Studio ${kind} id "${id}" is not a number.`, {
      details: { [kind]: id },
    });
}

export function toTaskBody(task: TaskInput): Record<string, unknown> {
  return {
    data: task.data,
    meta: { ...(task.meta ?? {}), sample_id: task.sampleId, labeler: true },
    ...(task.predictions?.length
      ? {
          predictions: task.predictions.map((p) => ({
            result: p.result,
            ...(p.score !== undefined ? { score: p.score } : {}),
            ...(p.modelVersion ? { model_version: p.modelVersion } : {}),
          })),
        }
      : {}),
  };
}

export async function importTasks(
  client: LabelStudioClient,
  projectId: string,
  tasks: TaskInput[],
): Promise<ImportResult> {
  assertId('project', projectId);
  if (tasks.length === 0) return { created: 0, taskIds: [] };
  if (tasks.length > MAX_IMPORT_BATCH) {
    throw new LabelerError(
      'VALIDATION_ERROR',
      `importTasks takes at most ${MAX_IMPORT_BATCH} tasks per call (got ${tasks.length}); use importSamplesIdempotently for more.`,
    );
  }
  // Not idempotent: never resent blindly (see importSamplesIdempotently).
  const body = await client.request(
    'POST',
    lsPath('projectImport', { id: projectId }),
    importResponseSchema,
    {
      query: { return_task_ids: true },
      body: tasks.map(toTaskBody),
      idempotent: false,
    },
  );
  if ('import' in body) return pollImport(client, projectId, body.import);
  return { created: body.task_count, taskIds: body.task_ids ? body.task_ids.map(String) : null };
}

/** Enterprise imports are asynchronous: poll the import record (Fibonacci backoff like the legacy SDK). */
async function pollImport(
  client: LabelStudioClient,
  projectId: string,
  importId: number,
): Promise<ImportResult> {
  let [a, b] = [0.5, 1];
  for (let waited = 0; waited < 300; [a, b] = [b, a + b]) {
    const status = await client.request(
      'GET',
      lsPath('projectImportStatus', { id: projectId, importId }),
      importStatusSchema,
    );
    if (status.status === 'completed')
      return {
        created: status.task_count ?? 0,
        taskIds: status.task_ids ? status.task_ids.map(String) : null,
      };
    if (status.status === 'failed')
      throw new LabelerError(
        'BACKEND_REJECTED',
        `Label Studio import ${importId} failed: ${status.error ?? 'no reason given'}`,
        { details: { importId } },
      );
    await new Promise((resolve) => setTimeout(resolve, a * 1000));
    waited += a;
  }
  throw new LabelerError('BACKEND_TIMEOUT', `Label Studio import ${importId} did not finish within 300 s.`, {
    details: { importId },
  });
}

/** Pages requested ahead of the one being consumed: keeps LS busy while the caller maps tasks. */
const PREFETCH_PAGES = 2;

/**
 * Pages `/api/tasks/?project=` ({tasks, total} bodies), fetching up to PREFETCH_PAGES ahead while the
 * caller works on the current page. Stops on an empty page, a 404 past the end, or once `total` tasks
 * were seen. Memory stays bounded by (1 + PREFETCH_PAGES) pages.
 */
async function* pageTasks<S extends typeof tasksPageSchema | typeof taskRefsPageSchema>(
  client: LabelStudioClient,
  projectId: string,
  schema: S,
  options: { fields: 'all' | 'task_only'; query?: string; pageSize: number; signal?: AbortSignal },
): AsyncGenerator<z.output<S>['tasks'][number]> {
  assertId('project', projectId);
  const fetchPage = async (page: number): Promise<z.output<S> | null> => {
    try {
      return (await client.request('GET', lsPath('tasks'), schema, {
        query: {
          project: projectId,
          page,
          page_size: options.pageSize,
          fields: options.fields,
          query: options.query,
        },
        signal: options.signal,
      })) as z.output<S>;
    } catch (error) {
      if (page > 1 && isLabelerError(error) && error.code === 'BACKEND_NOT_FOUND') return null; // past the end
      throw error;
    }
  };
  const queue: Array<Promise<z.output<S> | null>> = [];
  const enqueue = (page: number) => {
    const pending = fetchPage(page);
    pending.catch(() => undefined); // surfaced when awaited; avoids an unhandled rejection if the caller stops early
    queue.push(pending);
  };
  let seen = 0;
  let requested = 1;
  let lastPage = Number.POSITIVE_INFINITY;
  enqueue(1);
  while (queue.length > 0) {
    const body = await queue.shift()!;
    if (!body || body.tasks.length === 0) return;
    if (requested === 1 && typeof body.total === 'number') {
      // The server may cap page_size (TASK_API_PAGE_SIZE_MAX): derive the real page count from page 1.
      lastPage = Math.max(1, Math.ceil(body.total / body.tasks.length));
    }
    seen += body.tasks.length;
    const done = typeof body.total === 'number' && seen >= body.total;
    const ahead = Number.isFinite(lastPage) ? PREFETCH_PAGES : 1;
    while (!done && requested < lastPage && queue.length < ahead) enqueue(++requested);
    for (const task of body.tasks) yield task as z.output<S>['tasks'][number];
    if (done) return;
  }
}

const sampleIdOf = (meta: Record<string, unknown> | null | undefined): string | null =>
  typeof meta?.sample_id === 'string'
    ? meta.sample_id
    : typeof meta?.sample_id === 'number'
      ? String(meta.sample_id)
      : null;

export async function* listTaskRefs(
  client: LabelStudioClient,
  projectId: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<TaskRef> {
  for await (const task of pageTasks(client, projectId, taskRefsPageSchema, {
    fields: 'task_only',
    pageSize: 100,
    signal: options.signal,
  })) {
    yield { externalTaskId: String(task.id), sampleId: sampleIdOf(task.meta) };
  }
}

function toAnnotation(a: LsAnnotation): BackendAnnotation {
  return {
    externalId: String(a.id),
    result: a.result,
    wasCancelled: a.was_cancelled,
    groundTruth: a.ground_truth,
    completedBy: a.completed_by,
    createdAt: a.created_at,
    updatedAt: a.updated_at ?? a.created_at,
  };
}

export function toBackendTask(task: LsTask, annotations: LsAnnotation[]): BackendTask {
  return {
    externalTaskId: String(task.id),
    sampleId: sampleIdOf(task.meta),
    data: task.data,
    meta: task.meta,
    isLabeled: task.is_labeled,
    annotations: annotations.map(toAnnotation),
  };
}

export async function* iterateTasks(
  client: LabelStudioClient,
  projectId: string,
  options: IterateTasksOptions = {},
): AsyncGenerator<BackendTask> {
  const pages = pageTasks(client, projectId, tasksPageSchema, {
    fields: 'all',
    query: options.onlyAnnotated ? ANNOTATED_QUERY : undefined,
    pageSize: options.pageSize ?? 100,
    signal: options.signal,
  });
  for await (const task of pages) {
    const annotations = task.annotations ?? [];
    // "Submitted" excludes skips: a task whose only annotations are cancelled has nothing to pull.
    if (options.onlyAnnotated && !annotations.some((a) => !a.was_cancelled)) continue;
    yield toBackendTask(task, annotations);
  }
}

export async function getTask(
  client: LabelStudioClient,
  projectId: string,
  taskId: string,
): Promise<BackendTask | null> {
  if (!ID.test(taskId) || !ID.test(projectId)) return null;
  const task = await client.requestOrNull('GET', lsPath('task', { id: taskId }), taskSchema);
  if (!task || (task.project !== null && task.project !== undefined && String(task.project) !== projectId))
    return null;
  const annotations =
    task.annotations ??
    (await client.request('GET', lsPath('taskAnnotations', { id: taskId }), annotationSchema.array()));
  return toBackendTask(task, annotations);
}

export async function clearTasks(client: LabelStudioClient, projectId: string): Promise<number> {
  assertId('project', projectId);
  const page = await client.request('GET', lsPath('tasks'), taskRefsPageSchema, {
    query: { project: projectId, page: 1, page_size: 1 },
  });
  await client.request('DELETE', lsPath('projectTasks', { id: projectId }), null);
  return page.total ?? page.tasks.length;
}
