/**
 * The annotation workflow (shared/spec/annotation-workflow-design.md): annotation projects over a dataset,
 * ensure/validate against the backend, import and pull as jobs, single-task sync, webhooks, launch links.
 * Every outside call goes through the annotation-backend contract; nothing here speaks Label Studio HTTP.
 */
import {
  type AnnotationBackendInstance,
  isLabelerError,
  type Job,
  LabelerError,
  labelSchemaSchema,
  type LabelSchema,
  type Principal,
} from '@labeler/core';
import type { AppServices } from '../../app/services.js';
import type { Em } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import { AdminUser } from '../auth/entities.js';
import { Dataset } from '../datasets/entities.js';
import { assertWritable, isVisibleTo, visibleDatasetIdsQuery } from '../datasets/service.js';
import { backendFor, explainBackendError, withTransientRetry } from './backend.js';
import { Annotation, AnnotationProject, AnnotationTaskLink } from './entities.js';
import { IMPORT_JOB, PULL_JOB, SYNC_TASK_JOB } from './job-kinds.js';
import { type LaunchResult, mintLaunchLink, resolveLaunch } from './launch.js';
import { type PullSummary, pullProject, syncTask } from './pull.js';
import { type ImportSummary, importProject } from './import.js';
import {
  type CreateProjectInput,
  type EnsureInput,
  type EnsureOutput,
  type MediaSettings,
  mediaSettingsSchema,
  type ProjectView,
  type SyncOneOutput,
  type ValidateOutput,
} from './schemas.js';
import { TtlCache } from './validation-cache.js';
import { progressPercent, toProjectView } from './views.js';
import { webhookUrl, webhookSecret, WEBHOOK_EVENTS, WEBHOOK_SECRET_HEADER } from './webhooks.js';

const VALIDATION_TTL_MS = 60_000;
/** Label Studio titles are 3-50 characters. */
const TITLE_MAX = 50;

export function projectNotFound(projectId: string): LabelerError {
  return new LabelerError('PROJECT_NOT_FOUND', `No annotation project "${projectId}".`, {
    details: { project_id: projectId },
  });
}

/**
 * The backend title carries the Labeler project id, so adopting "by title" (after a lost create response
 * or a deleted recorded id) can only ever find this project's own backend project, never a namesake.
 */
export function backendTitle(name: string, projectId: string): string {
  const suffix = ` (${projectId})`;
  const room = TITLE_MAX - suffix.length;
  const base = name.length > room ? `${name.slice(0, room - 1)}…` : name;
  return `${base}${suffix}`;
}

export interface StartJobOutcome {
  project_id: string;
  job: Job;
  deduplicated: boolean;
}

export class AnnotationService {
  readonly #validations = new TtlCache<Omit<ValidateOutput, 'cached'>>(VALIDATION_TTL_MS);
  #reconcileTimer: NodeJS.Timeout | null = null;

  constructor(private readonly app: () => AppServices) {}

  // ---- records ---------------------------------------------------------------------------------------

  async getRecord(projectId: string, em: Em = this.app().orm.em.fork()): Promise<AnnotationProject> {
    const project = await em.findOne(AnnotationProject, { id: projectId });
    if (!project) throw projectNotFound(projectId);
    return project;
  }

  /**
   * The project, when `principal` may see it: its dataset is visible to it (datasets/service.ts
   * isVisibleTo). Other projects answer like missing ones (404 PROJECT_NOT_FOUND), so another
   * organization's private datasets do not leak through their projects. Platform-wide principals (and
   * `null`, the system) see every project, even a deleted dataset's.
   */
  async getVisibleRecord(
    projectId: string,
    principal: Principal | null,
    em: Em = this.app().orm.em.fork(),
  ): Promise<AnnotationProject> {
    const project = await this.getRecord(projectId, em);
    if (principal?.organizationId) {
      const facts = await this.app().datasets.accessFacts(project.datasetId);
      if (!facts || !isVisibleTo(principal, facts)) throw projectNotFound(projectId);
    }
    return project;
  }

  /**
   * A project's writes (ensure, import, pull, sync-one, delete) follow its dataset's write rule
   * (datasets/service.ts): an invisible project is missing (404), a visible one of another organization 403.
   */
  async #writableRecord(projectId: string, actor: Principal | null): Promise<AnnotationProject> {
    const project = await this.getVisibleRecord(projectId, actor);
    // Platform-wide principals may write every dataset (even a deleted one's project may be cleaned up).
    if (actor?.organizationId) await this.app().datasets.getWritable(actor, project.datasetId);
    return project;
  }

  /** The organization of the project's dataset (its audit rows belong to it); null: none or gone. */
  async #organizationOf(project: AnnotationProject): Promise<string | null> {
    return (await this.app().datasets.accessFacts(project.datasetId))?.organizationId ?? null;
  }

  async get(projectId: string, principal: Principal | null): Promise<ProjectView> {
    return toProjectView(await this.getVisibleRecord(projectId, principal));
  }

  /** Newest first; an organization's principal gets only projects of datasets visible to it. */
  async list(
    filter: { dataset_id?: string | undefined; limit: number; offset: number },
    principal: Principal | null,
  ): Promise<{ total: number; projects: ProjectView[] }> {
    const qb = this.app()
      .orm.em.fork()
      .createQueryBuilder(AnnotationProject, 'p')
      .where(filter.dataset_id ? { datasetId: filter.dataset_id } : {});
    if (principal?.organizationId) {
      const visible = visibleDatasetIdsQuery(principal);
      qb.andWhere(`p.dataset_id in (${visible.sql})`, visible.params);
    }
    const [rows, total] = await qb
      .orderBy({ createdAt: 'desc', id: 'asc' })
      .limit(filter.limit)
      .offset(filter.offset)
      .getResultAndCount();
    return { total, projects: rows.map(toProjectView) };
  }

  /**
   * Records a project (status pending; no backend call). Idempotent by (dataset, backend instance, name):
   * concurrent identical creates are serialised by an advisory lock and return the same record.
   */
  async create(
    input: CreateProjectInput,
    actor: Principal | null,
  ): Promise<{ project: AnnotationProject; created: boolean }> {
    const app = this.app();
    const schema = labelSchemaSchema.parse(input.label_schema);
    const parsedMedia = input.media ? mediaSettingsSchema.parse(input.media) : null;
    // Fails early with PLUGIN_INSTANCE_NOT_FOUND / a kind mismatch instead of at the first ensure; done
    // before the transaction because starting an instance uses another database connection.
    const backend = await backendFor(app, input.backend_instance_id);
    const media = parsedMedia?.mount
      ? { ...parsedMedia, mount: mountOf(backend, parsedMedia.mount) }
      : parsedMedia;
    return app.orm.em.fork().transactional(async (tem) => {
      await tem.execute('select pg_advisory_xact_lock(hashtext(?))', [
        `annotation.create:${input.dataset_id}:${input.backend_instance_id}:${input.name}`,
      ]);
      const dataset = await tem.findOne(Dataset, { id: input.dataset_id, deletedAt: null });
      if (!dataset) {
        throw new LabelerError('DATASET_NOT_FOUND', `Dataset "${input.dataset_id}" does not exist.`, {
          details: { dataset_id: input.dataset_id },
        });
      }
      // A project writes the dataset's samples: the dataset write rule applies (datasets/service.ts).
      if (actor) assertWritable(actor, dataset);
      const existing = await tem.findOne(AnnotationProject, {
        datasetId: input.dataset_id,
        backendInstanceId: input.backend_instance_id,
        name: input.name,
      });
      if (existing) return { project: existing, created: false };
      const project = tem.create(AnnotationProject, {
        id: newId('project'),
        datasetId: dataset.id,
        backendInstanceId: input.backend_instance_id,
        name: input.name,
        externalId: null,
        labelSchema: schema as unknown as Record<string, unknown>,
        labelConfig: null,
        media: media as Record<string, unknown> | null,
        status: 'pending',
        syncStatus: 'pending',
        createdBy: actor?.id ?? null,
      });
      await app.audit.record({
        em: tem,
        actor,
        action: 'annotation_project.created',
        targetType: 'annotation_project',
        targetId: project.id,
        organizationId: dataset.organizationId ?? null,
        details: { dataset_id: dataset.id, name: input.name },
      });
      return { project, created: true };
    });
  }

  /** Removes the project's records (links, annotations); optionally the backend project too. */
  async delete(
    projectId: string,
    deleteInBackend: boolean,
    actor: Principal | null,
  ): Promise<{ backendDeleted: boolean }> {
    const app = this.app();
    const project = await this.#writableRecord(projectId, actor);
    const organizationId = await this.#organizationOf(project);
    let backendDeleted = false;
    if (deleteInBackend && project.externalId) {
      const backend = await backendFor(app, project.backendInstanceId);
      await withTransientRetry(() => backend.deleteProject(project.externalId!)).catch((error: unknown) => {
        throw explainBackendError(error, project.backendInstanceId);
      });
      backendDeleted = true;
    }
    await app.orm.em.fork().transactional(async (tem) => {
      await tem.nativeDelete(Annotation, { projectId });
      await tem.nativeDelete(AnnotationTaskLink, { projectId });
      await tem.nativeDelete(AnnotationProject, { id: projectId });
      await app.audit.record({
        em: tem,
        actor,
        action: 'annotation_project.deleted',
        targetType: 'annotation_project',
        targetId: projectId,
        organizationId,
        details: { backend_deleted: backendDeleted },
      });
    });
    this.invalidate(projectId);
    return { backendDeleted };
  }

  labelSchemaOf(project: AnnotationProject): LabelSchema {
    return labelSchemaSchema.parse(project.labelSchema);
  }

  mediaOf(project: AnnotationProject): MediaSettings | null {
    if (!project.media) return null;
    const parsed = mediaSettingsSchema.safeParse(project.media);
    return parsed.success ? parsed.data : null;
  }

  // ---- ensure / validate -----------------------------------------------------------------------------

  /** `{ project_id }` ensures that project; creation fields first create (or find) the record. */
  async ensureFrom(input: EnsureInput, actor: Principal | null): Promise<EnsureOutput> {
    if (input.project_id) return this.ensure(input.project_id, actor);
    const { dataset_id, backend_instance_id, name, label_schema, media } = input;
    if (!dataset_id || !backend_instance_id || !name || !label_schema) {
      throw new LabelerError(
        'VALIDATION_ERROR',
        'Send project_id, or dataset_id, backend_instance_id, name and label_schema.',
      );
    }
    const { project } = await this.create(
      { dataset_id, backend_instance_id, name, label_schema, ...(media ? { media } : {}) },
      actor,
    );
    return this.ensure(project.id, actor);
  }

  /**
   * Makes sure the backend project exists with the current label config and records its id.
   * Concurrency-safe: a PostgreSQL advisory lock keyed by the project id serialises ensures across
   * requests and processes, so 50 simultaneous calls create one backend project; each later holder
   * re-reads the recorded external id (committed by the first) and adopts it. The backend call runs
   * inside the lock on purpose: the lock must cover "look, create, record".
   */
  async ensure(projectId: string, actor: Principal | null): Promise<EnsureOutput> {
    const app = this.app();
    // Resolved before the transaction: starting a plugin instance reads the database on another
    // connection, which must never happen while this one holds a connection and waits on the lock.
    const record = await this.#writableRecord(projectId, actor);
    const organizationId = await this.#organizationOf(record);
    const backend = await backendFor(app, record.backendInstanceId);
    const outcome = await app.orm.em.fork().transactional(async (tem) => {
      await tem.execute('select pg_advisory_xact_lock(hashtext(?))', [`annotation.ensure:${projectId}`]);
      const project = await tem.findOne(AnnotationProject, { id: projectId }, { refresh: true });
      if (!project) throw projectNotFound(projectId);
      const labelConfig = backend.buildLabelConfig(this.labelSchemaOf(project));
      let result: Awaited<ReturnType<typeof backend.ensureProject>>;
      try {
        // A 404 on the recorded id makes the backend fall back to title, then create (contract).
        result = await withTransientRetry(() =>
          backend.ensureProject({
            externalId: project.externalId ?? null,
            title: backendTitle(project.name, project.id),
            labelConfig,
          }),
        );
      } catch (error) {
        throw explainBackendError(error, project.backendInstanceId);
      }
      const recreated = project.externalId !== null && project.externalId !== result.project.externalId;
      project.externalId = result.project.externalId;
      project.labelConfig = labelConfig;
      project.taskCount = result.project.taskCount;
      if (project.status === 'pending' || project.status === 'failed') project.status = 'ready';
      project.lastError = null;
      // Inside the lock, so concurrent ensures never register the webhook twice; a new backend project
      // (first ensure, or the recorded one was deleted) needs its own webhook.
      if (!project.webhookId || result.created || recreated)
        project.webhookId = await this.registerWebhook(backend, project.id, result.project.externalId);
      if (result.created) {
        await app.audit.record({
          em: tem,
          actor,
          action: 'annotation_project.backend_created',
          targetType: 'annotation_project',
          targetId: project.id,
          organizationId,
          details: { external_id: result.project.externalId },
        });
      }
      return { status: project.status, result };
    });
    this.invalidate(projectId);
    const { status, result } = outcome;
    return {
      project_id: projectId,
      external_id: result.project.externalId,
      created: result.created,
      adopted: result.adopted,
      status,
      task_count: result.project.taskCount,
      message: result.created ? 'Project created successfully' : 'Project exists',
    };
  }

  /**
   * Best effort: a project works without webhooks (pull and the periodic reconcile catch up), so a
   * backend that refuses them only leaves a warning and a null webhook id (retried on the next ensure).
   */
  private async registerWebhook(
    backend: AnnotationBackendInstance,
    projectId: string,
    externalId: string,
  ): Promise<string | null> {
    const app = this.app();
    try {
      const { webhookId } = await backend.registerWebhook({
        url: webhookUrl(app, projectId),
        headers: { [WEBHOOK_SECRET_HEADER]: webhookSecret(app, projectId) },
        events: [...WEBHOOK_EVENTS],
        projectExternalId: externalId,
      });
      return webhookId;
    } catch (error) {
      app.logger.warn(
        { project_id: projectId, err: isLabelerError(error) ? error.message : String(error) },
        'could not register the annotation webhook; relying on pull and reconcile',
      );
      return null;
    }
  }

  /** exists/accessible/counters, cached for a minute; invalidated by every change made through Labeler. */
  async validate(projectId: string, principal: Principal | null): Promise<ValidateOutput> {
    // Checked before the cache: the cache is per project, not per caller.
    const project = await this.getVisibleRecord(projectId, principal);
    const cached = this.#validations.get(projectId);
    if (cached) return { ...cached, cached: true };
    const app = this.app();
    const checkedAt = new Date().toISOString();
    let value: Omit<ValidateOutput, 'cached'>;
    if (!project.externalId) {
      value = {
        project_id: project.id,
        external_id: null,
        exists: false,
        accessible: false,
        task_count: 0,
        annotation_count: 0,
        status: 'pending',
        message: 'The backend project was never created: call ensure first.',
        checked_at: checkedAt,
      };
    } else {
      const backend = await backendFor(app, project.backendInstanceId);
      const v = await withTransientRetry(() => backend.validateProject(project.externalId!), { attempts: 2 });
      value = {
        project_id: project.id,
        external_id: project.externalId,
        exists: v.exists,
        accessible: v.accessible,
        task_count: v.taskCount,
        annotation_count: v.annotationCount,
        status: v.status,
        message:
          v.status === 'forbidden'
            ? explainForbidden(v.message, project.backendInstanceId)
            : (v.message ?? null),
        checked_at: checkedAt,
      };
    }
    // Unreachable answers are not cached: the next call should try again.
    if (value.status !== 'unreachable') this.#validations.set(projectId, value);
    return { ...value, cached: false };
  }

  invalidate(projectId: string): void {
    this.#validations.delete(projectId);
  }

  // ---- jobs --------------------------------------------------------------------------------------------

  async startImport(
    projectId: string,
    options: { batchSize?: number | undefined; actor: Principal | null; sync?: boolean },
  ): Promise<StartJobOutcome> {
    await this.#writableRecord(projectId, options.actor);
    const payload = {
      project_id: projectId,
      ...(options.batchSize ? { batch_size: options.batchSize } : {}),
    };
    const { job, deduplicated } = await this.app().jobs.startJob(IMPORT_JOB, payload, {
      createdBy: options.actor?.id ?? null,
      sync: options.sync ?? false,
    });
    return { project_id: projectId, job, deduplicated };
  }

  async startPull(
    projectId: string,
    options: { actor: Principal | null; sync?: boolean },
  ): Promise<StartJobOutcome> {
    await this.#writableRecord(projectId, options.actor);
    const { job, deduplicated } = await this.app().jobs.startJob(
      PULL_JOB,
      { project_id: projectId },
      { createdBy: options.actor?.id ?? null, sync: options.sync ?? false },
    );
    return { project_id: projectId, job, deduplicated };
  }

  async startSyncTask(
    projectId: string,
    taskId: string,
    source: 'webhook' | 'sync-one',
  ): Promise<StartJobOutcome> {
    const { job, deduplicated } = await this.app().jobs.startJob(
      SYNC_TASK_JOB,
      { project_id: projectId, task_id: taskId, source },
      { createdBy: null },
    );
    return { project_id: projectId, job, deduplicated };
  }

  /** Job body of annotation.import. */
  async runImport(
    projectId: string,
    options: {
      batchSize?: number | undefined;
      signal: AbortSignal;
      progress: (done: number, total: number | null, message: string) => Promise<void>;
    },
  ): Promise<ImportSummary> {
    try {
      return await importProject(this, this.app(), projectId, options);
    } finally {
      this.invalidate(projectId);
    }
  }

  /** Job body of annotation.pull. */
  async runPull(
    projectId: string,
    options: {
      signal: AbortSignal;
      progress: (done: number, total: number | null, message: string) => Promise<void>;
    },
  ): Promise<PullSummary> {
    try {
      const summary = await pullProject(this, this.app(), projectId, options);
      // Pulled labels are dataset content: record them as a new immutable dataset version.
      if (summary.applied > 0) {
        const project = await this.getRecord(projectId);
        const version = await this.app().datasets.createVersion(
          project.datasetId,
          null,
          `annotations pulled from project ${projectId}`,
        );
        return { ...summary, dataset_version: version.version };
      }
      return summary;
    } finally {
      this.invalidate(projectId);
    }
  }

  /**
   * Pulls one task's annotations now (POST …/tasks/{tid}/annotations, and webhook jobs). It writes the
   * dataset's samples, so an `actor` (a caller, not a job) must be allowed to write the project.
   */
  async syncOne(
    projectId: string,
    taskId: string,
    source: 'webhook' | 'sync-one' = 'sync-one',
    actor: Principal | null = null,
  ): Promise<SyncOneOutput> {
    if (actor) await this.#writableRecord(projectId, actor);
    try {
      return await syncTask(this, this.app(), projectId, taskId, source);
    } finally {
      this.invalidate(projectId);
    }
  }

  /** Marks a failed import/pull on the project (job onFailure). */
  async markFailed(
    projectId: string,
    what: 'import' | 'pull',
    error: { code: string; message: string },
  ): Promise<void> {
    const em = this.app().orm.em.fork();
    const patch =
      what === 'import'
        ? { status: 'failed' as const, lastError: `${error.code}: ${error.message}` }
        : { syncStatus: 'failed' as const, lastError: `${error.code}: ${error.message}` };
    await em.nativeUpdate(AnnotationProject, { id: projectId }, patch);
    this.invalidate(projectId);
  }

  async progress(projectId: string, principal: Principal | null) {
    const project = await this.getVisibleRecord(projectId, principal);
    return {
      project_id: project.id,
      status: project.status,
      sync_status: project.syncStatus,
      task_count: project.taskCount,
      annotation_count: project.annotationCount,
      percent: progressPercent(project.annotationCount, project.taskCount),
      last_sync_at: project.lastSyncAt?.toISOString() ?? null,
    };
  }

  // ---- launch links -------------------------------------------------------------------------------------

  async authUrl(projectId: string, principal: Principal, locale: 'en' | 'ko' | 'zh' | undefined) {
    const app = this.app();
    let project = await this.getVisibleRecord(projectId, principal);
    if (!project.externalId) {
      await this.ensure(projectId, principal);
      project = await this.getRecord(projectId);
    }
    // Label Studio has no language parameter (README "Known differences"): the preference is kept for
    // Labeler's own UI only.
    if (locale && principal.kind === 'admin_user') await app.adminUsers.setLocale(principal.id, locale);
    const storedLocale = principal.kind === 'admin_user' ? await this.localeOf(principal.id) : null;
    const backend = await backendFor(app, project.backendInstanceId);
    const link = mintLaunchLink(app, project.id, principal);
    return {
      url: link.url,
      expires_at: link.expiresAt,
      project_id: project.id,
      external_id: project.externalId!,
      backend_url: backend.projectUrl(project.externalId!),
      locale: locale ?? storedLocale,
    };
  }

  async resolveLaunch(token: string, session: Principal | null): Promise<LaunchResult> {
    return resolveLaunch(this.app(), token, session);
  }

  private async localeOf(userId: string): Promise<string | null> {
    const user = await this.app().orm.em.fork().findOne(AdminUser, { id: userId });
    return user?.locale ?? null;
  }

  // ---- periodic reconcile -------------------------------------------------------------------------------

  /**
   * Label Studio webhooks are fire-and-forget (1 s timeout, no retry), so events get lost. Every
   * `intervalMs` a deduplicated pull is queued for each ready project; a pull already queued or running
   * for a project absorbs the new one.
   */
  startReconciler(intervalMs: number): void {
    if (this.#reconcileTimer) return;
    this.#reconcileTimer = setInterval(() => {
      void this.reconcileOnce().catch((error: unknown) => {
        this.app().logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'annotation reconcile failed',
        );
      });
    }, intervalMs);
    this.#reconcileTimer.unref();
  }

  stopReconciler(): void {
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    this.#reconcileTimer = null;
  }

  async reconcileOnce(): Promise<number> {
    const app = this.app();
    // The server may have been stopped without telling us (shutdown does not know this timer).
    if (!(await app.orm.isConnected())) {
      this.stopReconciler();
      return 0;
    }
    const projects = await app.orm.em
      .fork()
      .find(
        AnnotationProject,
        { externalId: { $ne: null }, status: { $in: ['ready', 'importing'] } },
        { fields: ['id'] },
      );
    for (const project of projects) await this.startPull(project.id, { actor: null });
    return projects.length;
  }
}

function explainForbidden(message: string | undefined, instanceId: string): string {
  return `The annotation backend "${instanceId}" refused Labeler's credentials: update its API token in the console (Plugins). ${message ?? ''}`.trim();
}

/** A project's mount is in the backend's own shape: the backend validates and normalises it. */
function mountOf(
  backend: AnnotationBackendInstance,
  mount: Record<string, unknown>,
): Record<string, unknown> {
  if (!backend.parseMediaMount)
    throw new LabelerError(
      'VALIDATION_ERROR',
      'This annotation backend cannot serve files from a shared-disk mount: leave media.mount out.',
    );
  return backend.parseMediaMount(mount);
}
