import type { LabelSchema, LabelValue } from '../schemas/labels.js';
import type { PluginDefinition, PluginInstance } from '../plugin.js';

/**
 * Annotation-backend contract 1.0 (e.g. Label Studio). Every task the host imports carries the Labeler
 * sample id in its `meta`, so that retries can ask the backend what already exists and pulls map
 * annotations by id, never by order. Conformance: `runAnnotationBackendConformance`.
 */
export interface AnnotationBackendCapabilities {
  /** Storage types setupStorage() accepts. */
  storageTypes: Array<'local-files' | 's3'>;
  webhooks: boolean;
  /** Maximum tasks per importTasks() call. */
  maxImportBatch: number;
  /** Label control types buildLabelConfig() can express. */
  labelControls: Array<LabelSchema['controls'][number]['type']>;
}

/**
 * What a diagnostic check is about, so a caller (preflight, the console) can tell a refused credential from
 * an unreachable server or a missing API route without parsing backend-specific ids or messages.
 */
export type DiagnosticCategory = 'connection' | 'credentials' | 'api' | 'configuration';

export interface DiagnosticCheck {
  id: string;
  ok: boolean;
  message: string;
  /** Optional (contract 1.x): backends that do not set it are read by their check ids. */
  category?: DiagnosticCategory;
  /** What a person should do when the check fails. */
  fix?: string;
}

export interface BackendDiagnosis {
  ok: boolean;
  version: string | null;
  edition: string | null;
  user: { id: number | string; email?: string; username?: string } | null;
  tokenKind: 'legacy' | 'personal_access_token' | null;
  checks: DiagnosticCheck[];
}

export interface BackendProject {
  externalId: string;
  title: string;
  taskCount: number;
  annotationCount: number;
  url: string;
  /** The project's current label config (XML for Label Studio). */
  labelConfig: string;
}

export interface EnsureProjectInput {
  /** Recorded external id from an earlier ensure, if any; adopted when it still exists. */
  externalId?: string | null;
  title: string;
  description?: string;
  labelConfig: string;
}

export interface EnsureProjectResult {
  project: BackendProject;
  created: boolean;
  /** True when an existing project was found by recorded id or by title and reused. */
  adopted: boolean;
}

export interface ProjectValidation {
  exists: boolean;
  accessible: boolean;
  taskCount: number;
  annotationCount: number;
  status: 'ready' | 'not_found' | 'forbidden' | 'unreachable';
  message?: string;
}

export interface TaskInput {
  /** The Labeler sample id; the backend stores it in the task's meta. */
  sampleId: string;
  data: Record<string, unknown>;
  meta?: Record<string, unknown>;
  /** Pre-annotations in the backend's result format. */
  predictions?: Array<{ result: unknown[]; score?: number; modelVersion?: string }>;
}

export interface ImportResult {
  created: number;
  /** External task ids in input order when the backend reports them. */
  taskIds: string[] | null;
}

export interface TaskRef {
  externalTaskId: string;
  sampleId: string | null;
}

export interface BackendAnnotation {
  externalId: string;
  /** Backend result list, e.g. Label Studio region objects. */
  result: unknown[];
  wasCancelled: boolean;
  groundTruth: boolean;
  completedBy: string | number | null;
  createdAt: string;
  updatedAt: string;
}

export interface BackendTask {
  externalTaskId: string;
  sampleId: string | null;
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
  isLabeled: boolean;
  annotations: BackendAnnotation[];
}

export interface IterateTasksOptions {
  /** Only tasks with at least one submitted annotation. */
  onlyAnnotated?: boolean;
  pageSize?: number;
  signal?: AbortSignal;
}

export type StorageSetup =
  | {
      type: 'local-files';
      role: 'source' | 'target';
      path: string;
      title: string;
      regexFilter?: string;
      useBlobUrls?: boolean;
    }
  | {
      type: 's3';
      role: 'source' | 'target';
      title: string;
      bucket: string;
      prefix?: string;
      endpoint?: string;
      region?: string;
      accessKeyId: string;
      secretAccessKey: string;
      presign?: boolean;
      presignTtlMinutes?: number;
      regexFilter?: string;
    };

export interface BackendStorage {
  storageId: string;
  type: 'local-files' | 's3';
  role: 'source' | 'target';
  title: string;
  /** local-files: absolute path inside the backend's document root. */
  path?: string;
  bucket?: string;
  prefix?: string;
}

export interface StorageSetupResult {
  storageId: string;
  created: boolean;
}

export interface WebhookSetup {
  url: string;
  /** Shared-secret header sent with every call so the receiver can verify the sender. */
  headers: Record<string, string>;
  /** Backend event names, e.g. ANNOTATION_CREATED. */
  events: string[];
  projectExternalId?: string;
}

/** What importSamples reports (contract 1.x). */
export interface SampleImportProgress {
  /** Tasks created by this run. */
  imported: number;
  /** Samples skipped because a task already carried their id (or they repeated in the input). */
  skipped: number;
  /** Import requests sent so far. */
  requests: number;
}

export interface ImportSamplesInput {
  /** Tasks per request; the backend caps it at its own limit. Default: the backend's. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SampleImportProgress) => void;
}

/** A task's chosen annotation with its result already converted to core labels (contract 1.x). */
export interface PickedAnnotation {
  annotation: BackendAnnotation;
  /** One entry per schema control; null means the annotator removed every label of that field. */
  labels: Record<string, LabelValue | null>;
}

export interface AnnotationBackendInstance extends PluginInstance {
  diagnose(): Promise<BackendDiagnosis>;
  buildLabelConfig(schema: LabelSchema): string;
  /** Throws LABEL_CONFIG_INVALID with the backend's explanation. */
  validateLabelConfig(labelConfig: string, projectExternalId?: string): Promise<void>;
  /** Idempotent: adopts by recorded id, then by exact title, else creates. */
  ensureProject(input: EnsureProjectInput): Promise<EnsureProjectResult>;
  getProject(externalId: string): Promise<BackendProject | null>;
  validateProject(externalId: string): Promise<ProjectValidation>;
  /** Idempotent: deleting a missing project succeeds. */
  deleteProject(externalId: string): Promise<void>;
  /** One batch (at most capabilities.maxImportBatch tasks). Not idempotent by itself: use listTaskRefs first. */
  importTasks(projectExternalId: string, tasks: TaskInput[]): Promise<ImportResult>;
  /** Every task's id and sample id, so a retry can skip samples that already have a task. */
  listTaskRefs(projectExternalId: string, options?: { signal?: AbortSignal }): AsyncIterable<TaskRef>;
  iterateTasks(projectExternalId: string, options?: IterateTasksOptions): AsyncIterable<BackendTask>;
  getTask(projectExternalId: string, externalTaskId: string): Promise<BackendTask | null>;
  /** Deletes every task of a project (for reusing a project across runs). */
  clearTasks(projectExternalId: string): Promise<number>;
  /** Idempotent by (type, role, path/bucket+prefix). */
  setupStorage(projectExternalId: string, storage: StorageSetup): Promise<StorageSetupResult>;
  listStorages(projectExternalId: string): Promise<BackendStorage[]>;
  /** Idempotent by URL. */
  registerWebhook(webhook: WebhookSetup): Promise<{ webhookId: string; created: boolean }>;
  /** Where a person opens the project in the backend's own UI. */
  projectUrl(externalId: string): string;

  // ---- Optional (contract 1.x): the host's annotation workflow uses these when present -----------------

  /**
   * Imports every sample that has no task yet, idempotently: the backend decides batching and concurrency,
   * and how a retry (or a batch whose outcome is unknown) finds what already exists (the sample id in the
   * task's meta). Re-running never duplicates a task.
   */
  importSamples?(
    projectExternalId: string,
    samples: AsyncIterable<TaskInput> | Iterable<TaskInput>,
    options?: ImportSamplesInput,
  ): Promise<SampleImportProgress>;
  /**
   * The backend's pick rule applied to a task's annotations, the winner converted to core labels per
   * schema control; null when no annotation counts (e.g. all cancelled).
   */
  pickAnnotation?(task: BackendTask, schema: LabelSchema): PickedAnnotation | null;
  /**
   * Validates a per-project shared-disk mount setting (the backend's own shape); throws VALIDATION_ERROR.
   * Returns the normalised value the host stores.
   */
  parseMediaMount?(value: unknown): Record<string, unknown>;
  /**
   * The URL a task carries for a file on a disk the backend shares (absolute host path): from the given
   * mount, else the instance's configured one. Null when the backend cannot serve it itself (the host
   * then hands out its own media links). Throws VALIDATION_ERROR for a file outside the mount.
   */
  mediaUrl?(filepath: string, mount?: Record<string, unknown> | null): string | null;
}

export type AnnotationBackendPluginDefinition<Config = unknown> = PluginDefinition<
  'annotation-backend',
  Config,
  AnnotationBackendInstance,
  AnnotationBackendCapabilities
>;
