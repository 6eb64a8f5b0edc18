/** Projects CRUD, label-config validation, import and easy export (reference §3, §4, §6.1). */
import type { SimContext } from './context.js';
import { HttpError, notFound, route, validationError, type Route, type SimRequest } from './http.js';
import { checkLabelConfig, labelsByControl } from './label-config.js';
import type { SimProject, SimTask } from './state.js';

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

export function intParam(value: string | null | undefined, fallback: number): number {
  if (value === null || value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw validationError({ page: ['A valid integer is required.'] });
  return n;
}

export function getProject(ctx: SimContext, id: string | undefined): SimProject {
  const project = ctx.state.projects.get(Number(id));
  if (!project) throw notFound();
  return project;
}

/**
 * Throws what 1.7.3 answers for a bad config: a 400 envelope with validation_errors.label_config, except
 * malformed XML in a PATCH, which 1.7.3 parses before validating: HTTP 400 with an envelope whose
 * status_code is 500, lxml's message as detail, a traceback and no validation_errors.
 */
function assertLabelConfig(
  config: string,
  creating = true,
): ReturnType<typeof checkLabelConfig> & { ok: true } {
  const check = checkLabelConfig(config);
  if (check.ok) return check;
  if (check.kind === 'syntax' && !creating)
    throw new HttpError(
      400,
      `${check.message} (<string>, line 1)`,
      undefined,
      `Traceback (most recent call last):\nlxml.etree.XMLSyntaxError: ${check.message}`,
      500,
    );
  throw validationError({ label_config: [check.message] });
}

/** Labels used by existing annotations must stay in the config (LS `validate_config` on PATCH). */
function assertLabelsStillPresent(ctx: SimContext, project: SimProject, config: string): void {
  const check = assertLabelConfig(config);
  const available = labelsByControl(check.root);
  for (const task of ctx.state.projectTasks.get(project.id) ?? []) {
    for (const annotation of task.annotations) {
      for (const region of annotation.result) {
        const r = asRecord(region);
        const fromName = typeof r.from_name === 'string' ? r.from_name : null;
        const value = asRecord(r.value);
        const type = typeof r.type === 'string' ? r.type : '';
        const used = value[type];
        if (!fromName || !Array.isArray(used)) continue;
        const allowed = available.get(fromName);
        for (const label of used) {
          if (!allowed?.has(String(label))) {
            throw validationError({
              label_config: [
                `These labels still exist in annotations or drafts:\n${String(label)}. Please add them to the label config, or remove them from annotations first.`,
              ],
            });
          }
        }
      }
    }
  }
}

function projectFields(
  _ctx: SimContext,
  body: Record<string, unknown>,
  creating: boolean,
): Partial<SimProject> {
  const out: Partial<SimProject> = {};
  if ('title' in body || creating) {
    const title = body.title === undefined || body.title === null ? '' : body.title;
    if (typeof title !== 'string') throw validationError({ title: ['Not a valid string.'] });
    if (title.length > 50)
      throw validationError({ title: ['Ensure this field has no more than 50 characters.'] });
    out.title = title;
  }
  if (typeof body.description === 'string') out.description = body.description;
  if (typeof body.maximum_annotations === 'number') out.maximum_annotations = body.maximum_annotations;
  if ('label_config' in body) {
    if (typeof body.label_config !== 'string')
      throw validationError({ label_config: ['Not a valid string.'] });
    assertLabelConfig(body.label_config, creating);
    out.label_config = body.label_config;
  }
  return out;
}

function importTasks(
  ctx: SimContext,
  project: SimProject,
  req: SimRequest,
): { response: Record<string, unknown>; created: SimTask[] } {
  const started = Date.now();
  const body = req.body;
  if (body === undefined || body === null || body === '')
    throw validationError({ non_field_errors: ['load_tasks: No data found in DATA or in FILES'] });
  if (typeof body !== 'object')
    throw validationError({ non_field_errors: ['load_tasks: Data root must be list'] });
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw validationError({ non_field_errors: ['load_tasks: No tasks added'] });
  const current = ctx.state.projectTasks.get(project.id)?.length ?? 0;
  if (current + items.length > 1_000_000) {
    throw validationError({
      non_field_errors: [`Maximum task number is 1000000, current task number is ${current + items.length}`],
    });
  }
  const check = checkLabelConfig(project.label_config);
  const variables = check.ok ? check.variables : [];
  // Validate everything first: an import is one transaction.
  const prepared = items.map((item, index) => {
    const raw = asRecord(item);
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw validationError({ [`${index}`]: ['Task must be an object'] });
    const data = 'data' in raw ? raw.data : raw; // a task without a "data" key is used whole as data
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw validationError({ [`${index}`]: ['"data" must be an object'] });
    for (const variable of variables) {
      if (!(variable in data))
        throw validationError({ data: [`"${variable}" key is expected in task data [task #${index}]`] });
    }
    const annotations = Array.isArray(raw.annotations) ? raw.annotations.map(asRecord) : [];
    const predictions = Array.isArray(raw.predictions) ? raw.predictions.map(asRecord) : [];
    for (const [j, p] of predictions.entries()) {
      if (!Array.isArray(p.result)) {
        throw validationError({
          predictions: [
            `Prediction validation failed (1 errors):\n- Task ${index}, prediction ${j}: result must be a list`,
          ],
        });
      }
    }
    return {
      data: data as Record<string, unknown>,
      meta: 'data' in raw ? asRecord(raw.meta) : {},
      annotations,
      predictions,
    };
  });
  const commit = req.query.get('commit_to_project') !== 'false';
  const dataColumns = [...new Set(prepared.flatMap((p) => Object.keys(p.data)))].sort();
  const base = {
    duration: 0,
    file_upload_ids: [],
    could_be_tasks_list: false,
    found_formats: [],
    data_columns: dataColumns,
  };
  if (!commit) {
    return {
      response: {
        ...base,
        task_count: prepared.length,
        annotation_count: null,
        prediction_count: null,
        duration: (Date.now() - started) / 1000,
      },
      created: [],
    };
  }
  const created: SimTask[] = [];
  let annotationCount = 0;
  let predictionCount = 0;
  for (const p of prepared) {
    const task = ctx.state.createTask(project.id, p.data, p.meta);
    for (const a of p.annotations) {
      ctx.state.insertAnnotation(task, {
        result: Array.isArray(a.result) ? a.result : [],
        wasCancelled: a.was_cancelled === true,
        groundTruth: a.ground_truth === true,
        completedBy: typeof a.completed_by === 'number' ? a.completed_by : 1,
      });
      annotationCount += 1;
    }
    for (const pr of p.predictions) {
      ctx.state.addPrediction(task, {
        result: pr.result as unknown[],
        score: typeof pr.score === 'number' ? pr.score : null,
        model_version: typeof pr.model_version === 'string' ? pr.model_version : '',
      });
      predictionCount += 1;
    }
    created.push(task);
  }
  ctx.state.touch(project.id);
  ctx.state.stats.importCalls += 1;
  ctx.state.stats.tasksImported += created.length;
  const response: Record<string, unknown> = {
    ...base,
    task_count: created.length,
    annotation_count: annotationCount,
    prediction_count: predictionCount,
    duration: (Date.now() - started) / 1000,
  };
  if (req.query.get('return_task_ids') === 'true' || req.query.get('return_task_ids') === '1')
    response.task_ids = created.map((t) => t.id);
  return { response, created };
}

function minExport(task: SimTask): Record<string, unknown> {
  const out: Record<string, unknown> = { id: task.id, ...task.data };
  const annotation = task.annotations.find((a) => !a.was_cancelled) ?? task.annotations[0];
  if (annotation) {
    for (const region of annotation.result) {
      const r = asRecord(region);
      const name = typeof r.from_name === 'string' ? r.from_name : null;
      const type = typeof r.type === 'string' ? r.type : '';
      if (!name) continue;
      const value = {
        ...asRecord(r.value),
        original_width: r.original_width,
        original_height: r.original_height,
      };
      const list = Array.isArray(out[name]) ? (out[name] as unknown[]) : [];
      list.push(type === 'choices' ? asRecord(r.value).choices : value);
      out[name] = list;
    }
    out.annotator = annotation.completed_by;
    out.annotation_id = annotation.id;
    out.created_at = annotation.created_at;
    out.updated_at = annotation.updated_at;
    out.lead_time = annotation.lead_time;
  }
  return out;
}

export function projectRoutes(ctx: SimContext): Route[] {
  const { state } = ctx;
  const emit = (project: SimProject | null, action: string, extra: Record<string, unknown> = {}) =>
    state.emitWebhook(project?.id ?? null, action, extra);
  return [
    route('GET', '/api/projects', 'required', (req) => {
      const page = intParam(req.query.get('page'), 1);
      const pageSize = Math.min(intParam(req.query.get('page_size'), 30), 100);
      // 1.7's ProjectFilterSet has only `ids`: a title filter is silently ignored there.
      const title = ctx.modern ? req.query.get('title')?.toLowerCase() : undefined;
      const ids = req.query.get('ids')?.split(',').map(Number);
      let list = [...state.projects.values()].sort((a, b) =>
        a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id,
      );
      if (title) list = list.filter((p) => p.title.toLowerCase().includes(title));
      if (ids) list = list.filter((p) => ids.includes(p.id));
      const pages = Math.max(1, Math.ceil(list.length / pageSize));
      if (page < 1 || page > pages) throw new HttpError(404, 'Invalid page.');
      const base = `/api/projects/?page_size=${pageSize}`;
      return {
        status: 200,
        json: {
          count: list.length,
          next: page < pages ? `${base}&page=${page + 1}` : null,
          previous: page > 1 ? `${base}&page=${page - 1}` : null,
          results: list.slice((page - 1) * pageSize, page * pageSize).map((p) => state.serializeProject(p)),
        },
      };
    }),
    route('POST', '/api/projects', 'required', async (req) => {
      const fields = projectFields(ctx, asRecord(req.body), true);
      if (
        ctx.uniqueTitles &&
        [...state.projects.values()].some((p) => p.title === fields.title && p.created_by === req.userId)
      ) {
        throw new HttpError(422, `Project with the same name already exists: ${fields.title}`);
      }
      const project = state.createProject({
        ...fields,
        title: fields.title ?? '',
        created_by: req.userId ?? 1,
      });
      await emit(project, 'PROJECT_CREATED');
      return { status: 201, json: state.serializeProject(project) };
    }),
    // Unauthenticated and answering the raw DRF body, not the envelope (reference §1.1).
    route('POST', '/api/projects/validate', 'none', (req) => {
      const config = asRecord(req.body).label_config;
      if (typeof config !== 'string')
        return { status: 400, json: { label_config: ['This field is required.'] } };
      const check = checkLabelConfig(config);
      if (!check.ok) return { status: 400, json: { label_config: [check.message] } };
      return { status: 204 };
    }),
    route('GET', '/api/projects/:id', 'required', (req) => ({
      status: 200,
      json: state.serializeProject(getProject(ctx, req.params.id)),
    })),
    route('PATCH', '/api/projects/:id', 'required', async (req) => {
      const project = getProject(ctx, req.params.id);
      const body = asRecord(req.body);
      const fields = projectFields(ctx, body, false);
      if (fields.label_config !== undefined) assertLabelsStillPresent(ctx, project, fields.label_config);
      Object.assign(project, fields, { updated_at: new Date().toISOString() });
      await emit(project, 'PROJECT_UPDATED');
      return { status: 200, json: state.serializeProject(project) };
    }),
    route('DELETE', '/api/projects/:id', 'required', async (req) => {
      const project = getProject(ctx, req.params.id);
      await emit(project, 'PROJECT_DELETED', { project: { id: project.id } });
      state.deleteProject(project.id);
      return { status: 204 };
    }),
    route('POST', '/api/projects/:id/validate', 'required', (req) => {
      const project = getProject(ctx, req.params.id);
      const config = asRecord(req.body).label_config;
      if (typeof config !== 'string' || config.trim() === '')
        throw validationError({ label_config: ['Label config cannot be empty'] });
      assertLabelsStillPresent(ctx, project, config);
      return { status: 200, json: { config_essential_data_has_changed: config !== project.label_config } };
    }),
    route('POST', '/api/projects/:id/import', 'required', async (req) => {
      const project = getProject(ctx, req.params.id);
      const { response: result, created } = importTasks(ctx, project, req);
      // Serialising every task for TASKS_CREATED is costly: only when a webhook could receive it.
      if (created.length > 0 && state.webhooks.size > 0)
        await emit(project, 'TASKS_CREATED', { tasks: created.map((t) => state.serializeTask(t, false)) });
      if (ctx.edition === 'Enterprise') {
        const importId = state.nextId('fileUpload');
        state.imports.set(importId, { ...result, id: importId, project: project.id, status: 'completed' });
        return { status: 201, json: { import: importId } };
      }
      return { status: 201, json: result };
    }),
    route('GET', '/api/projects/:id/imports/:importId', 'required', (req) => {
      getProject(ctx, req.params.id);
      const record = state.imports.get(Number(req.params.importId));
      if (!record) throw notFound();
      return { status: 200, json: record };
    }),
    route('GET', '/api/projects/:id/export', 'required', (req) => {
      const project = getProject(ctx, req.params.id);
      const type = (req.query.get('exportType') ?? req.query.get('export_type') ?? 'JSON').toUpperCase();
      if (type !== 'JSON' && type !== 'JSON_MIN')
        throw validationError({ export_type: [`${type} export is not supported by the simulator`] });
      const all = ['true', '1', 'yes'].includes((req.query.get('download_all_tasks') ?? '').toLowerCase());
      const ids = req.query.getAll('ids[]').map(Number);
      let tasks = state.projectTasks.get(project.id) ?? [];
      if (!all) tasks = tasks.filter((t) => t.annotations.length > 0); // skipped annotations count
      if (ids.length > 0) tasks = tasks.filter((t) => ids.includes(t.id));
      const body =
        type === 'JSON'
          ? tasks.map((t) => ({
              ...state.serializeTask(t, true),
              unresolved_comment_count: 0,
              comment_authors: [],
            }))
          : tasks.map((t) => minExport(t));
      const filename = `project-${project.id}-at-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
      return {
        status: 200,
        text: JSON.stringify(body),
        // A real 1.7-era server sends "application/" + the extension with its dot.
        headers: {
          'content-type': 'application/.json',
          'content-disposition': `attachment; filename="${filename}"`,
          filename,
        },
      };
    }),
  ];
}
