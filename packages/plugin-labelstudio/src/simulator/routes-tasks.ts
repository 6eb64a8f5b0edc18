/** Task listing (DM-backed and legacy), task detail and annotation CRUD (reference §5, §7). */
import type { SimContext } from './context.js';
import { HttpError, notFound, route, validationError, type Route } from './http.js';
import { getProject, intParam } from './routes-projects.js';
import type { SimTask } from './state.js';

type Filter = { name: string; operator: string; value: unknown };

const NUMERIC: Record<string, (t: SimTask) => number> = {
  'filter:tasks:id': (t) => t.id,
  'filter:tasks:inner_id': (t) => t.inner_id,
  'filter:tasks:total_annotations': (t) => t.annotations.length,
  'filter:tasks:cancelled_annotations': (t) => t.annotations.filter((a) => a.was_cancelled).length,
  'filter:tasks:total_predictions': (t) => t.predictions.length,
};

function compare(actual: number, operator: string, value: number): boolean {
  switch (operator) {
    case 'equal':
      return actual === value;
    case 'not_equal':
      return actual !== value;
    case 'less':
      return actual < value;
    case 'greater':
      return actual > value;
    case 'less_or_equal':
      return actual <= value;
    case 'greater_or_equal':
      return actual >= value;
    default:
      throw validationError({ query: [`Unsupported operator ${operator}`] });
  }
}

/** Parses the DM `query` parameter: `{"filters": {"conjunction", "items"}, "ordering": [...]}`. */
function parseQuery(raw: string | null): {
  conjunction: 'and' | 'or';
  filters: Filter[];
  descending: boolean;
} {
  if (!raw) return { conjunction: 'and', filters: [], descending: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw validationError({ query: ['query must be JSON'] });
  }
  const q = (parsed ?? {}) as {
    filters?: { conjunction?: string; items?: Array<Record<string, unknown>> };
    ordering?: string[];
  };
  const filters = (q.filters?.items ?? []).map((item) => {
    const name = String(item.filter ?? '');
    if (!NUMERIC[name])
      throw validationError({ query: [`Filter ${name} is not supported by the simulator`] });
    return { name, operator: String(item.operator ?? 'equal'), value: item.value };
  });
  return {
    conjunction: q.filters?.conjunction === 'or' ? 'or' : 'and',
    filters,
    descending: q.ordering?.[0] === '-tasks:id',
  };
}

/** Fixed pseudo-random order (a hash of the id), so paging stays consistent while order ≠ id order. */
const scramble = (id: number): number => Math.imul(id ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;

export function taskRoutes(ctx: SimContext): Route[] {
  const { state } = ctx;
  // Listing the same filter page by page is the hot path of a pull: cache the filtered list per version.
  const cache = new Map<
    number,
    { key: string; list: SimTask[]; totalAnnotations: number; totalPredictions: number }
  >();
  const listFor = (projectId: number, rawQuery: string | null) => {
    const project = getProject(ctx, String(projectId));
    const key = `${project.version}|${rawQuery ?? ''}`;
    const hit = cache.get(projectId);
    if (hit && hit.key === key) return hit;
    const query = parseQuery(rawQuery);
    let list = state.projectTasks.get(projectId) ?? [];
    if (query.filters.length > 0) {
      list = list.filter((task) => {
        const results = query.filters.map((f) =>
          compare(NUMERIC[f.name]!(task), f.operator, Number(f.value)),
        );
        return query.conjunction === 'and' ? results.every(Boolean) : results.some(Boolean);
      });
    } else list = [...list];
    if (ctx.shuffle) list.sort((a, b) => scramble(a.id) - scramble(b.id));
    else if (query.descending) list.reverse();
    let totalAnnotations = 0;
    let totalPredictions = 0;
    for (const t of list) {
      totalAnnotations += t.annotations.length;
      totalPredictions += t.predictions.length;
    }
    const entry = { key, list, totalAnnotations, totalPredictions };
    cache.set(projectId, entry);
    return entry;
  };
  const getTask = (id: string | undefined): SimTask => {
    const task = state.tasks.get(Number(id));
    if (!task) throw notFound();
    return task;
  };
  return [
    route('GET', '/api/tasks', 'required', (req) => {
      const projectParam = req.query.get('project');
      if (!projectParam) throw validationError({ project: ['This field is required.'] });
      // `only_annotated` is LSE-only: Community ignores it (#8298).
      const { list, totalAnnotations, totalPredictions } = listFor(
        Number(projectParam),
        req.query.get('query'),
      );
      const page = intParam(req.query.get('page'), 1);
      const pageSize = Math.max(1, Math.min(intParam(req.query.get('page_size'), 100), ctx.taskPageSizeMax));
      const pages = Math.max(1, Math.ceil(list.length / pageSize));
      if (page < 1 || page > pages) throw new HttpError(404, 'Invalid page.');
      const full = req.query.get('fields') === 'all';
      const slice = list.slice((page - 1) * pageSize, page * pageSize);
      return {
        status: 200,
        json: {
          tasks: slice.map((t) => state.serializeTask(t, full)),
          total: list.length,
          total_annotations: totalAnnotations,
          total_predictions: totalPredictions,
        },
      };
    }),
    route('GET', '/api/tasks/:id', 'required', (req) => ({
      status: 200,
      json: state.serializeTask(getTask(req.params.id), true),
    })),
    route('PATCH', '/api/tasks/:id', 'required', (req) => {
      const task = getTask(req.params.id);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.data && typeof body.data === 'object') task.data = body.data as Record<string, unknown>;
      if (body.meta && typeof body.meta === 'object') task.meta = body.meta as Record<string, unknown>;
      task.updated_at = new Date().toISOString();
      state.touch(task.project);
      return { status: 200, json: state.serializeTask(task, true) };
    }),
    route('DELETE', '/api/tasks/:id', 'required', async (req) => {
      const task = getTask(req.params.id);
      const list = state.projectTasks.get(task.project) ?? [];
      state.projectTasks.set(
        task.project,
        list.filter((t) => t.id !== task.id),
      );
      state.tasks.delete(task.id);
      for (const a of task.annotations) state.annotations.delete(a.id);
      state.touch(task.project);
      await state.emitWebhook(task.project, 'TASKS_DELETED', { tasks: [{ id: task.id }] });
      return { status: 204 };
    }),
    // Internal, deprecated listing: a bare array, 50 per page, page_size=-1 for all.
    route('GET', '/api/projects/:id/tasks', 'required', (req) => {
      const project = getProject(ctx, req.params.id);
      const list = state.projectTasks.get(project.id) ?? [];
      const pageSize = intParam(req.query.get('page_size') ?? req.query.get('length'), 50);
      if (pageSize === -1) return { status: 200, json: list.map((t) => state.serializeTask(t, false)) };
      const page = intParam(req.query.get('page'), 1);
      const pages = Math.max(1, Math.ceil(list.length / pageSize));
      if (page < 1 || page > pages) throw notFound();
      return {
        status: 200,
        json: list.slice((page - 1) * pageSize, page * pageSize).map((t) => state.serializeTask(t, false)),
      };
    }),
    route('DELETE', '/api/projects/:id/tasks', 'required', async (req) => {
      const project = getProject(ctx, req.params.id);
      const ids = (state.projectTasks.get(project.id) ?? []).map((t) => ({ id: t.id }));
      state.clearTasks(project.id);
      if (ids.length > 0) await state.emitWebhook(project.id, 'TASKS_DELETED', { tasks: ids });
      return { status: 204 };
    }),
    route('GET', '/api/tasks/:id/annotations', 'required', (req) => ({
      status: 200,
      json: getTask(req.params.id).annotations.map((a) => state.serializeAnnotation(a)),
    })),
    route('POST', '/api/tasks/:id/annotations', 'required', async (req) => {
      const task = getTask(req.params.id);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.result !== undefined && !Array.isArray(body.result))
        throw validationError({ result: ['Expected a list of items'] });
      const cancelled = body.was_cancelled === true || req.query.get('was_cancelled') === '1';
      const annotation = state.insertAnnotation(task, {
        result: (body.result as unknown[] | undefined) ?? [],
        wasCancelled: cancelled,
        groundTruth: body.ground_truth === true,
        completedBy: typeof body.completed_by === 'number' ? body.completed_by : (req.userId ?? 1),
      });
      if (typeof body.lead_time === 'number') annotation.lead_time = body.lead_time;
      state.touch(task.project);
      await state.emitWebhook(task.project, 'ANNOTATION_CREATED', {
        annotation: state.serializeAnnotation(annotation),
        task: state.serializeTask(task, false),
      });
      return { status: 201, json: state.serializeAnnotation(annotation) };
    }),
    route('GET', '/api/annotations/:id', 'required', (req) => {
      const annotation = state.annotations.get(Number(req.params.id));
      if (!annotation) throw notFound();
      return { status: 200, json: state.serializeAnnotation(annotation) };
    }),
    route('PATCH', '/api/annotations/:id', 'required', async (req) => {
      if (!state.annotations.has(Number(req.params.id))) throw notFound();
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.result !== undefined && !Array.isArray(body.result))
        throw validationError({ result: ['Expected a list of items'] });
      const annotation = state.updateAnnotation(Number(req.params.id), {
        ...(Array.isArray(body.result) ? { result: body.result } : {}),
        ...(typeof body.was_cancelled === 'boolean' ? { was_cancelled: body.was_cancelled } : {}),
        ...(typeof body.ground_truth === 'boolean' ? { ground_truth: body.ground_truth } : {}),
      });
      const task = state.tasks.get(annotation.task)!;
      await state.emitWebhook(task.project, 'ANNOTATION_UPDATED', {
        annotation: state.serializeAnnotation(annotation),
        task: state.serializeTask(task, false),
      });
      return { status: 200, json: state.serializeAnnotation(annotation) };
    }),
    route('DELETE', '/api/annotations/:id', 'required', async (req) => {
      const annotation = state.annotations.get(Number(req.params.id));
      if (!annotation) throw notFound();
      state.deleteAnnotation(annotation.id);
      await state.emitWebhook(annotation.project, 'ANNOTATIONS_DELETED', {
        annotations: [{ id: annotation.id }],
      });
      return { status: 204 };
    }),
  ];
}
