/**
 * In-memory Label Studio data: projects, tasks, annotations, predictions, storages, webhooks. Routes and
 * tests share it; the helpers let a test act as an annotator or seed large projects directly.
 */
import { randomUUID } from 'node:crypto';

export interface SimUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
}

export interface SimProject {
  id: number;
  title: string;
  description: string;
  label_config: string;
  maximum_annotations: number;
  created_by: number;
  created_at: string;
  updated_at: string;
  /** Bumped on every task/annotation change (invalidates cached listings). */
  version: number;
}

export interface SimAnnotation {
  id: number;
  task: number;
  project: number;
  result: unknown[];
  was_cancelled: boolean;
  ground_truth: boolean;
  completed_by: number;
  lead_time: number | null;
  created_at: string;
  updated_at: string;
}

export interface SimPrediction {
  id: number;
  task: number;
  project: number;
  result: unknown[];
  score: number | null;
  model_version: string;
  created_at: string;
}

export interface SimTask {
  id: number;
  project: number;
  inner_id: number;
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  annotations: SimAnnotation[];
  predictions: SimPrediction[];
}

export type StorageStatus =
  | 'initialized'
  | 'queued'
  | 'in_progress'
  | 'failed'
  | 'completed'
  | 'completed_with_errors';

export interface SimStorage {
  id: number;
  type: 'localfiles' | 's3';
  role: 'import' | 'export';
  project: number;
  title: string;
  description: string;
  path?: string;
  bucket?: string;
  prefix?: string;
  regex_filter: string | null;
  use_blob_urls: boolean;
  /** Every other field given on create (credentials, presign, endpoint…), echoed back as LS does. */
  extra: Record<string, unknown>;
  status: StorageStatus;
  last_sync: string | null;
  last_sync_count: number | null;
  last_sync_job: string | null;
  traceback: string | null;
  created_at: string;
}

export interface SimWebhook {
  id: number;
  project: number | null;
  url: string;
  send_payload: boolean;
  send_for_all_actions: boolean;
  headers: Record<string, string>;
  is_active: boolean;
  actions: string[];
  created_at: string;
  updated_at: string;
}

export interface WebhookDelivery {
  webhookId: number;
  url: string;
  action: string;
  headers: Record<string, string>;
  payload: Record<string, unknown>;
  status: number | null;
  error: string | null;
}

export interface AddAnnotationInput {
  result: unknown[];
  wasCancelled?: boolean;
  groundTruth?: boolean;
  completedBy?: number;
  /** ISO time; defaults to now. Lets tests order annotations deterministically. */
  createdAt?: string;
  updatedAt?: string;
}

export interface SeedTaskInput {
  data: Record<string, unknown>;
  meta?: Record<string, unknown>;
  annotations?: AddAnnotationInput[];
}

export type WebhookEmitter = (
  projectId: number | null,
  action: string,
  payload: Record<string, unknown>,
) => Promise<void>;

const now = (): string => new Date().toISOString();

export class SimulatorState {
  readonly users: SimUser[] = [
    { id: 1, username: 'admin', email: 'admin@example.com', first_name: 'Ada', last_name: 'Admin' },
  ];
  readonly projects = new Map<number, SimProject>();
  readonly tasks = new Map<number, SimTask>();
  readonly projectTasks = new Map<number, SimTask[]>();
  readonly annotations = new Map<number, SimAnnotation>();
  readonly storages: SimStorage[] = [];
  readonly webhooks = new Map<number, SimWebhook>();
  readonly webhookDeliveries: WebhookDelivery[] = [];
  readonly sessions = new Set<string>();
  /** Enterprise-mode import records (`/api/projects/{id}/imports/{id}`). */
  readonly imports = new Map<number, Record<string, unknown>>();
  readonly settings = { legacyApiTokensEnabled: true, apiTokensEnabled: true };
  readonly stats = { requests: 0, tokenRefreshes: 0, importCalls: 0, tasksImported: 0 };
  /** Access tokens carry this epoch; bumping it expires every issued access token. */
  accessEpoch = 0;
  /** PAT issued via POST /api/token (409 on a second one). */
  patIssued = false;
  private seq = { project: 0, task: 0, annotation: 0, prediction: 0, storage: 0, webhook: 0, fileUpload: 0 };
  private pendingWebhooks = new Set<Promise<void>>();
  emitWebhook: WebhookEmitter = async () => {};

  nextId(kind: keyof SimulatorState['seq']): number {
    this.seq[kind] += 1;
    return this.seq[kind];
  }

  createProject(input: {
    title: string;
    description?: string;
    label_config?: string;
    maximum_annotations?: number;
    created_by?: number;
  }): SimProject {
    const project: SimProject = {
      id: this.nextId('project'),
      title: input.title,
      description: input.description ?? '',
      label_config: input.label_config ?? '<View></View>',
      maximum_annotations: input.maximum_annotations ?? 1,
      created_by: input.created_by ?? 1,
      created_at: now(),
      updated_at: now(),
      version: 0,
    };
    this.projects.set(project.id, project);
    this.projectTasks.set(project.id, []);
    return project;
  }

  deleteProject(id: number): void {
    this.clearTasks(id);
    this.projects.delete(id);
    this.projectTasks.delete(id);
    for (let i = this.storages.length - 1; i >= 0; i--)
      if (this.storages[i]!.project === id) this.storages.splice(i, 1);
    for (const [hookId, hook] of this.webhooks) if (hook.project === id) this.webhooks.delete(hookId);
  }

  touch(projectId: number): void {
    const project = this.projects.get(projectId);
    if (project) project.version += 1;
  }

  /** Adds tasks directly (no HTTP, no webhooks): for seeding large projects. */
  seedTasks(projectId: number, inputs: Iterable<SeedTaskInput>): SimTask[] {
    const created: SimTask[] = [];
    for (const input of inputs) {
      const task = this.createTask(projectId, input.data, input.meta ?? {});
      for (const a of input.annotations ?? []) this.insertAnnotation(task, a);
      created.push(task);
    }
    this.touch(projectId);
    return created;
  }

  createTask(projectId: number, data: Record<string, unknown>, meta: Record<string, unknown>): SimTask {
    const list = this.projectTasks.get(projectId);
    if (!list) throw new Error(`project ${projectId} does not exist`);
    const task: SimTask = {
      id: this.nextId('task'),
      project: projectId,
      inner_id: list.length + 1,
      data,
      meta,
      created_at: now(),
      updated_at: now(),
      annotations: [],
      predictions: [],
    };
    list.push(task);
    this.tasks.set(task.id, task);
    return task;
  }

  addPrediction(
    task: SimTask,
    input: { result: unknown[]; score?: number | null; model_version?: string },
  ): SimPrediction {
    const prediction: SimPrediction = {
      id: this.nextId('prediction'),
      task: task.id,
      project: task.project,
      result: input.result,
      score: input.score ?? null,
      model_version: input.model_version ?? '',
      created_at: now(),
    };
    task.predictions.push(prediction);
    return prediction;
  }

  insertAnnotation(task: SimTask, input: AddAnnotationInput): SimAnnotation {
    const created = input.createdAt ?? now();
    const annotation: SimAnnotation = {
      id: this.nextId('annotation'),
      task: task.id,
      project: task.project,
      result: input.result,
      was_cancelled: input.wasCancelled ?? false,
      ground_truth: input.groundTruth ?? false,
      completed_by: input.completedBy ?? 1,
      lead_time: null,
      created_at: created,
      updated_at: input.updatedAt ?? created,
    };
    task.annotations.push(annotation);
    task.updated_at = now();
    this.annotations.set(annotation.id, annotation);
    return annotation;
  }

  /** As an annotator submitting in the UI: stores the annotation and fires ANNOTATION_CREATED. */
  addAnnotation(taskId: number, input: AddAnnotationInput): SimAnnotation {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`task ${taskId} does not exist`);
    const annotation = this.insertAnnotation(task, input);
    this.touch(task.project);
    this.track(
      this.emitWebhook(task.project, 'ANNOTATION_CREATED', {
        annotation: this.serializeAnnotation(annotation),
        task: this.serializeTask(task, false),
      }),
    );
    return annotation;
  }

  updateAnnotation(
    id: number,
    patch: Partial<Pick<SimAnnotation, 'result' | 'was_cancelled' | 'ground_truth' | 'lead_time'>>,
  ): SimAnnotation {
    const annotation = this.annotations.get(id);
    if (!annotation) throw new Error(`annotation ${id} does not exist`);
    Object.assign(annotation, patch, { updated_at: now() });
    this.touch(annotation.project);
    return annotation;
  }

  deleteAnnotation(id: number): void {
    const annotation = this.annotations.get(id);
    if (!annotation) return;
    this.annotations.delete(id);
    const task = this.tasks.get(annotation.task);
    if (task) task.annotations = task.annotations.filter((a) => a.id !== id);
    this.touch(annotation.project);
  }

  clearTasks(projectId: number): number {
    const list = this.projectTasks.get(projectId) ?? [];
    for (const task of list) {
      for (const a of task.annotations) this.annotations.delete(a.id);
      this.tasks.delete(task.id);
    }
    this.projectTasks.set(projectId, []);
    this.touch(projectId);
    return list.length;
  }

  /** Tasks whose meta.sample_id equals the given id (for assertions). */
  tasksBySampleId(projectId: number, sampleId: string): SimTask[] {
    return (this.projectTasks.get(projectId) ?? []).filter((t) => t.meta.sample_id === sampleId);
  }

  /** Simulates the ~5 minute expiry of every access token issued so far. */
  expireAccessTokens(): void {
    this.accessEpoch += 1;
  }

  /** A logged-in browser session; send as `Cookie: sessionid=<value>`. */
  createSession(): string {
    const id = randomUUID().replace(/-/g, '');
    this.sessions.add(id);
    return id;
  }

  track(promise: Promise<void>): void {
    this.pendingWebhooks.add(promise);
    void promise.finally(() => this.pendingWebhooks.delete(promise));
  }

  /** Waits until every webhook delivery fired so far has finished. */
  async flushWebhooks(): Promise<void> {
    while (this.pendingWebhooks.size > 0) await Promise.allSettled([...this.pendingWebhooks]);
  }

  // ---- Serialisation (field sets of LS's serializers) ------------------------------------------------

  projectCounters(projectId: number): Record<string, number> {
    let totalAnnotations = 0;
    let useful = 0;
    let groundTruth = 0;
    let skipped = 0;
    let withAnnotations = 0;
    let finished = 0;
    let predictions = 0;
    const project = this.projects.get(projectId);
    const tasks = this.projectTasks.get(projectId) ?? [];
    for (const task of tasks) {
      let taskUseful = 0;
      let completed = 0;
      for (const a of task.annotations) {
        totalAnnotations += 1;
        if (a.was_cancelled) skipped += 1;
        else completed += 1;
        if (a.ground_truth) groundTruth += 1;
        if (!a.was_cancelled && !a.ground_truth) taskUseful += 1;
      }
      useful += taskUseful;
      if (taskUseful > 0) withAnnotations += 1;
      if (completed >= (project?.maximum_annotations ?? 1)) finished += 1;
      predictions += task.predictions.length;
    }
    return {
      task_number: tasks.length,
      total_annotations_number: totalAnnotations,
      useful_annotation_number: useful,
      ground_truth_number: groundTruth,
      skipped_annotations_number: skipped,
      num_tasks_with_annotations: withAnnotations,
      finished_task_number: finished,
      total_predictions_number: predictions,
      queue_total: tasks.length,
      queue_done: finished,
    };
  }

  serializeProject(project: SimProject): Record<string, unknown> {
    const user = this.users.find((u) => u.id === project.created_by);
    return {
      id: project.id,
      title: project.title,
      description: project.description,
      label_config: project.label_config,
      expert_instruction: '',
      show_instruction: false,
      show_skip_button: true,
      enable_empty_annotation: true,
      show_annotation_history: false,
      organization: 1,
      color: '#FFFFFF',
      maximum_annotations: project.maximum_annotations,
      is_published: false,
      model_version: '',
      is_draft: false,
      created_by: user
        ? {
            id: user.id,
            first_name: user.first_name,
            last_name: user.last_name,
            email: user.email,
            avatar: null,
          }
        : null,
      created_at: project.created_at,
      min_annotations_to_start_training: 0,
      start_training_on_annotation_update: false,
      show_collab_predictions: true,
      sampling: 'Sequential sampling',
      show_ground_truth_first: false,
      show_overlap_first: false,
      overlap_cohort_percentage: 100,
      task_data_login: null,
      task_data_password: null,
      control_weights: {},
      parsed_label_config: {},
      evaluate_predictions_automatically: false,
      config_has_control_tags: /toName=/.test(project.label_config),
      skip_queue: 'REQUEUE_FOR_OTHERS',
      reveal_preannotations_interactively: false,
      pinned_at: null,
      config_suitable_for_bulk_annotation: false,
      ...this.projectCounters(project.id),
    };
  }

  serializeAnnotation(a: SimAnnotation): Record<string, unknown> {
    const user = this.users.find((u) => u.id === a.completed_by);
    return {
      id: a.id,
      result: a.result,
      task: a.task,
      project: a.project,
      completed_by: a.completed_by,
      created_username: user ? `${user.email}, ${user.id}` : '',
      created_ago: '0 minutes',
      created_at: a.created_at,
      updated_at: a.updated_at,
      updated_by: a.completed_by,
      was_cancelled: a.was_cancelled,
      ground_truth: a.ground_truth,
      lead_time: a.lead_time,
      draft_created_at: null,
      parent_prediction: null,
      parent_annotation: null,
      last_action: null,
      last_created_by: null,
      import_id: null,
      bulk_created: false,
    };
  }

  serializeTask(task: SimTask, full: boolean): Record<string, unknown> {
    let cancelled = 0;
    let completedAt: string | null = null;
    for (const a of task.annotations) {
      if (a.was_cancelled) cancelled += 1;
      else if (!completedAt || a.created_at > completedAt) completedAt = a.created_at;
    }
    const project = this.projects.get(task.project);
    const base: Record<string, unknown> = {
      id: task.id,
      data: task.data,
      meta: task.meta,
      created_at: task.created_at,
      updated_at: task.updated_at,
      is_labeled: task.annotations.length - cancelled >= (project?.maximum_annotations ?? 1),
      overlap: 1,
      inner_id: task.inner_id,
      project: task.project,
      file_upload: null,
      storage_filename: null,
      total_annotations: task.annotations.length,
      cancelled_annotations: cancelled,
      total_predictions: task.predictions.length,
      completed_at: completedAt,
      annotators: [...new Set(task.annotations.map((a) => a.completed_by))],
      updated_by: [],
      comment_count: 0,
    };
    if (!full) return base;
    return {
      ...base,
      annotations: task.annotations.map((a) => this.serializeAnnotation(a)),
      predictions: task.predictions.map((p) => ({ ...p })),
      drafts: [],
    };
  }

  serializeStorage(s: SimStorage): Record<string, unknown> {
    return {
      id: s.id,
      type: s.type,
      project: s.project,
      title: s.title,
      description: s.description,
      ...(s.type === 'localfiles' ? { path: s.path } : { bucket: s.bucket, prefix: s.prefix ?? '' }),
      regex_filter: s.regex_filter,
      use_blob_urls: s.use_blob_urls,
      ...s.extra,
      status: s.status,
      last_sync: s.last_sync,
      last_sync_count: s.last_sync_count,
      last_sync_job: s.last_sync_job,
      traceback: s.traceback,
      meta: {},
      synchronizable: true,
      created_at: s.created_at,
    };
  }
}
