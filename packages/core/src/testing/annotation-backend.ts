/**
 * Conformance kit for the annotation-backend contract. `checkAnnotationBackendConformance` runs every
 * check and returns results (usable anywhere); `runAnnotationBackendConformance` registers one vitest
 * test per check. Each check creates its own uniquely titled projects and deletes them afterwards.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import type { AnnotationBackendInstance, StorageSetup, TaskInput } from '../contracts/annotation-backend.js';
import { isLabelerError } from '../errors.js';
import { individualLabels, type LabelSchema } from '../schemas/labels.js';

export interface AnnotationBackendConformanceOptions {
  name: string;
  create: () => Promise<AnnotationBackendInstance>;
  /** Adds an annotation as a person would (e.g. through the backend's UI/API). Annotation checks are skipped without it. */
  annotate?: (projectExternalId: string, externalTaskId: string, result: unknown[]) => Promise<void>;
  /** A storage the backend can create (e.g. a directory inside its document root). The storage check is skipped without it. */
  storage?: StorageSetup;
  /** Webhook target used by the webhook check (nothing needs to listen). */
  webhookUrl?: string;
  /**
   * A shared-disk mount in the backend's own shape and two absolute host paths, one under it and one
   * outside it, for the media check (contract 1.x `parseMediaMount`/`mediaUrl`). Skipped without it.
   */
  media?: { mount: Record<string, unknown>; inside: string; outside: string };
  /** Called once after all checks (e.g. to dispose the instance). */
  cleanup?: (instance: AnnotationBackendInstance) => Promise<void>;
}

export interface ConformanceContext {
  backend: AnnotationBackendInstance;
  options: AnnotationBackendConformanceOptions;
  /** Creates a fresh project (deleted after the check) and returns its external id. */
  newProject(): Promise<string>;
  labelConfig: string;
}

export interface AnnotationBackendCheck {
  id: string;
  title: string;
  /** Resolves 'skipped' when the check cannot run with the given options. */
  run(ctx: ConformanceContext): Promise<unknown>;
}

export interface ConformanceResult {
  id: string;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  error?: string;
  durationMs: number;
}

export const CONFORMANCE_LABEL_SCHEMA: LabelSchema = {
  controls: [
    { type: 'rectangle', name: 'detections', labels: ['cat', 'dog'] },
    { type: 'choices', name: 'quality', labels: ['good', 'bad'] },
  ],
};

/** A region in Label Studio's result format for the conformance schema. */
export const CONFORMANCE_RESULT: unknown[] = [
  {
    id: 'r1',
    from_name: 'detections',
    to_name: 'image',
    type: 'rectanglelabels',
    original_width: 640,
    original_height: 480,
    value: { x: 10, y: 10, width: 20, height: 20, rotation: 0, rectanglelabels: ['cat'] },
  },
];

class ConformanceFailure extends Error {}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

async function expectCode(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert(
      isLabelerError(error) && error.code === code,
      `${what}: expected ${code}, got ${isLabelerError(error) ? error.code : String(error)}`,
    );
    return;
  }
  throw new ConformanceFailure(`${what}: expected ${code}, but it succeeded`);
}

const tasks = (ids: string[]): TaskInput[] =>
  ids.map((sampleId) => ({ sampleId, data: { image: `https://example.com/${sampleId}.jpg` } }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export const annotationBackendChecks: AnnotationBackendCheck[] = [
  {
    id: 'diagnose-ok',
    title: 'diagnose() reports ok with a version and passing checks',
    async run({ backend }) {
      const d = await backend.diagnose();
      const failed = d.checks.filter((c) => !c.ok).map((c) => `${c.id}: ${c.message}`);
      assert(d.ok, `diagnose not ok: ${failed.join('; ')}`);
      assert(d.version !== null, 'diagnose reported no version');
      assert(d.checks.length > 0, 'diagnose reported no checks');
    },
  },
  {
    id: 'label-config-valid',
    title: 'buildLabelConfig() output passes validateLabelConfig()',
    async run({ backend, labelConfig }) {
      assert(labelConfig.length > 0, 'empty label config');
      await backend.validateLabelConfig(labelConfig);
    },
  },
  {
    id: 'label-config-invalid',
    title: 'invalid label configs are rejected with LABEL_CONFIG_INVALID',
    async run({ backend }) {
      const wrongTarget =
        '<View><Image name="image" value="$image"/><RectangleLabels name="d" toName="nope"><Label value="a"/></RectangleLabels></View>';
      await expectCode(
        backend.validateLabelConfig(wrongTarget),
        'LABEL_CONFIG_INVALID',
        'control pointing at a missing object',
      );
      await expectCode(
        backend.validateLabelConfig('<View><Image name="image" value="$image">'),
        'LABEL_CONFIG_INVALID',
        'malformed XML',
      );
    },
  },
  {
    id: 'ensure-project-idempotent',
    title: 'ensureProject() creates, then adopts by title and by recorded id',
    async run(ctx) {
      const title = `conf-${randomBytes(6).toString('hex')}`;
      const first = await ctx.backend.ensureProject({ title, labelConfig: ctx.labelConfig });
      try {
        assert(first.created && !first.adopted, 'first ensure should create');
        const byTitle = await ctx.backend.ensureProject({ title, labelConfig: ctx.labelConfig });
        assert(!byTitle.created && byTitle.adopted, 'second ensure should adopt');
        assert(
          byTitle.project.externalId === first.project.externalId,
          'adopted a different project by title',
        );
        const byId = await ctx.backend.ensureProject({
          externalId: first.project.externalId,
          title,
          labelConfig: ctx.labelConfig,
        });
        assert(
          !byId.created && byId.project.externalId === first.project.externalId,
          'did not adopt by recorded id',
        );
        const read = await ctx.backend.getProject(first.project.externalId);
        assert(read?.title === title, 'getProject returned another title');
        assert(ctx.backend.projectUrl(first.project.externalId).length > 0, 'empty projectUrl');
      } finally {
        await ctx.backend.deleteProject(first.project.externalId);
      }
    },
  },
  {
    id: 'validate-missing-project',
    title: 'validateProject() of a deleted project reports exists=false',
    async run(ctx) {
      const id = await ctx.newProject();
      await ctx.backend.deleteProject(id);
      const v = await ctx.backend.validateProject(id);
      assert(!v.exists && v.status === 'not_found', `expected not_found, got ${v.status}`);
      assert((await ctx.backend.getProject(id)) === null, 'getProject of a deleted project is not null');
    },
  },
  {
    id: 'import-list-refs',
    title: 'importTasks() then listTaskRefs() returns each sample id once',
    async run(ctx) {
      const project = await ctx.newProject();
      const ids = ['s-0', 's-1', 's-2', 's-3', 's-4'];
      const result = await ctx.backend.importTasks(project, tasks(ids));
      assert(result.created === ids.length, `created ${result.created}, expected ${ids.length}`);
      const refs = await collect(ctx.backend.listTaskRefs(project));
      assert(refs.length === ids.length, `listed ${refs.length} refs, expected ${ids.length}`);
      assert(
        ids.every((id) => refs.filter((r) => r.sampleId === id).length === 1),
        'a sample id is missing or repeated',
      );
      const validation = await ctx.backend.validateProject(project);
      assert(
        validation.exists && validation.taskCount === ids.length,
        `validateProject taskCount ${validation.taskCount}`,
      );
    },
  },
  {
    id: 'iterate-only-annotated',
    title: 'iterateTasks({onlyAnnotated}) yields only annotated tasks, with sample ids',
    async run(ctx) {
      if (!ctx.options.annotate) return 'skipped';
      const project = await ctx.newProject();
      await ctx.backend.importTasks(project, tasks(['a-0', 'a-1', 'a-2']));
      const refs = await collect(ctx.backend.listTaskRefs(project));
      const target = refs.find((r) => r.sampleId === 'a-1');
      assert(target, 'imported task a-1 not listed');
      await ctx.options.annotate(project, target.externalTaskId, CONFORMANCE_RESULT);
      const annotated = await collect(ctx.backend.iterateTasks(project, { onlyAnnotated: true }));
      assert(annotated.length === 1, `expected 1 annotated task, got ${annotated.length}`);
      assert(annotated[0]!.sampleId === 'a-1', `annotated task has sample id ${annotated[0]!.sampleId}`);
      assert(annotated[0]!.annotations.length >= 1, 'annotated task has no annotations');
      const all = await collect(ctx.backend.iterateTasks(project));
      assert(all.length === 3, `iterateTasks() without filter returned ${all.length}, expected 3`);
    },
  },
  {
    id: 'get-task',
    title: 'getTask() returns the task with its sample id, null when missing',
    async run(ctx) {
      const project = await ctx.newProject();
      await ctx.backend.importTasks(project, tasks(['g-0']));
      const [ref] = await collect(ctx.backend.listTaskRefs(project));
      assert(ref, 'no task listed');
      const task = await ctx.backend.getTask(project, ref.externalTaskId);
      assert(task?.sampleId === 'g-0', 'getTask lost the sample id');
      assert(
        (await ctx.backend.getTask(project, '987654321')) === null,
        'getTask of a missing task is not null',
      );
    },
  },
  {
    id: 'clear-tasks',
    title: 'clearTasks() deletes every task and reports how many',
    async run(ctx) {
      const project = await ctx.newProject();
      await ctx.backend.importTasks(project, tasks(['c-0', 'c-1', 'c-2']));
      const cleared = await ctx.backend.clearTasks(project);
      assert(cleared === 3, `clearTasks returned ${cleared}, expected 3`);
      assert(
        (await collect(ctx.backend.listTaskRefs(project))).length === 0,
        'tasks remain after clearTasks',
      );
    },
  },
  {
    id: 'storage-idempotent',
    title: 'setupStorage() twice creates one storage',
    async run(ctx) {
      if (!ctx.options.storage) return 'skipped';
      const project = await ctx.newProject();
      const first = await ctx.backend.setupStorage(project, ctx.options.storage);
      const second = await ctx.backend.setupStorage(project, ctx.options.storage);
      assert(first.created && !second.created, 'second setup should reuse the storage');
      assert(first.storageId === second.storageId, 'second setup returned another storage');
      const listed = await ctx.backend.listStorages(project);
      assert(
        listed.filter((s) => s.storageId === first.storageId).length === 1,
        'storage not listed exactly once',
      );
    },
  },
  {
    id: 'webhook-idempotent',
    title: 'registerWebhook() twice with one URL creates one webhook',
    async run(ctx) {
      const project = await ctx.newProject();
      const setup = {
        url: ctx.options.webhookUrl ?? 'http://127.0.0.1:9/labeler/webhook',
        headers: { 'X-Labeler-Secret': 'conformance' },
        events: ['ANNOTATION_CREATED', 'ANNOTATION_UPDATED'],
        projectExternalId: project,
      };
      const first = await ctx.backend.registerWebhook(setup);
      const second = await ctx.backend.registerWebhook(setup);
      assert(
        first.created && !second.created && first.webhookId === second.webhookId,
        'second registration did not reuse the webhook',
      );
    },
  },
  {
    id: 'import-samples-idempotent',
    title: 'importSamples() imports each sample once; a re-run imports only the new ones',
    async run(ctx) {
      if (!ctx.backend.importSamples) return 'skipped';
      const project = await ctx.newProject();
      const first = await ctx.backend.importSamples(project, tasks(['i-0', 'i-1', 'i-2', 'i-3', 'i-4']), {
        batchSize: 2,
      });
      assert(first.imported === 5 && first.skipped === 0, `first run: ${JSON.stringify(first)}`);
      assert(first.requests >= 3, `batchSize 2 sent 5 tasks in ${first.requests} requests`);
      const seen: number[] = [];
      const again = await ctx.backend.importSamples(
        project,
        tasks(['i-0', 'i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6', 'i-5']),
        { batchSize: 2, onProgress: (p) => seen.push(p.imported + p.skipped) },
      );
      assert(again.imported === 2 && again.skipped === 6, `re-run: ${JSON.stringify(again)}`);
      assert(seen.length > 0, 'importSamples never reported progress');
      const refs = await collect(ctx.backend.listTaskRefs(project));
      const ids = ['i-0', 'i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6'];
      assert(refs.length === ids.length, `listed ${refs.length} tasks, expected ${ids.length}`);
      assert(
        ids.every((id) => refs.filter((r) => r.sampleId === id).length === 1),
        'a sample id is missing or repeated',
      );
    },
  },
  {
    id: 'pick-annotation-labels',
    title: 'pickAnnotation() picks a submitted annotation and converts it to core labels; null without one',
    async run(ctx) {
      if (!ctx.backend.pickAnnotation || !ctx.options.annotate) return 'skipped';
      const project = await ctx.newProject();
      await ctx.backend.importTasks(project, tasks(['p-0', 'p-1']));
      const refs = await collect(ctx.backend.listTaskRefs(project));
      const target = refs.find((r) => r.sampleId === 'p-0');
      const bare = refs.find((r) => r.sampleId === 'p-1');
      assert(target && bare, 'imported tasks not listed');
      await ctx.options.annotate(project, target.externalTaskId, CONFORMANCE_RESULT);
      const task = await ctx.backend.getTask(project, target.externalTaskId);
      assert(task, 'annotated task not found');
      const picked = ctx.backend.pickAnnotation(task, CONFORMANCE_LABEL_SCHEMA);
      assert(picked, 'no annotation picked from an annotated task');
      assert(
        task.annotations.some((a) => a.externalId === picked.annotation.externalId),
        'picked an annotation the task does not have',
      );
      const detections = individualLabels(picked.labels.detections);
      assert(
        detections.length === 1 && detections[0]!.label === 'cat',
        `detections converted to ${JSON.stringify(picked.labels.detections)}`,
      );
      assert(picked.labels.quality === null, 'a field without results should be null');
      const untouched = await ctx.backend.getTask(project, bare.externalTaskId);
      assert(untouched, 'unannotated task not found');
      assert(
        ctx.backend.pickAnnotation(untouched, CONFORMANCE_LABEL_SCHEMA) === null,
        'picked an annotation from a task without any',
      );
    },
  },
  {
    id: 'media-url',
    title: 'parseMediaMount() refuses a wrong mount; mediaUrl() maps a file under it, refuses one outside',
    async run(ctx) {
      const { parseMediaMount, mediaUrl } = ctx.backend;
      if (!ctx.options.media || !parseMediaMount || !mediaUrl) return 'skipped';
      const { mount, inside, outside } = ctx.options.media;
      assert(
        (() => {
          try {
            parseMediaMount.call(ctx.backend, { wrong: true });
            return false;
          } catch (error) {
            return isLabelerError(error) && error.code === 'VALIDATION_ERROR';
          }
        })(),
        'parseMediaMount accepted a wrong mount (expected VALIDATION_ERROR)',
      );
      const parsed = parseMediaMount.call(ctx.backend, mount);
      const url = mediaUrl.call(ctx.backend, inside, parsed);
      assert(typeof url === 'string' && url.length > 0, `mediaUrl of ${inside} returned ${String(url)}`);
      assert(
        (() => {
          try {
            mediaUrl.call(ctx.backend, outside, parsed);
            return false;
          } catch (error) {
            return isLabelerError(error) && error.code === 'VALIDATION_ERROR';
          }
        })(),
        `mediaUrl of ${outside}, outside the mount, did not fail with VALIDATION_ERROR`,
      );
    },
  },
  {
    id: 'delete-project-idempotent',
    title: 'deleteProject() twice succeeds',
    async run(ctx) {
      const id = await ctx.newProject();
      await ctx.backend.deleteProject(id);
      await ctx.backend.deleteProject(id);
      assert((await ctx.backend.getProject(id)) === null, 'project still exists');
    },
  },
];

async function runCheck(
  check: AnnotationBackendCheck,
  backend: AnnotationBackendInstance,
  options: AnnotationBackendConformanceOptions,
): Promise<ConformanceResult> {
  const started = performance.now();
  const created: string[] = [];
  const labelConfig = backend.buildLabelConfig(CONFORMANCE_LABEL_SCHEMA);
  const ctx: ConformanceContext = {
    backend,
    options,
    labelConfig,
    async newProject() {
      const { project } = await backend.ensureProject({
        title: `conf-${randomBytes(6).toString('hex')}`,
        labelConfig,
      });
      created.push(project.externalId);
      return project.externalId;
    },
  };
  try {
    const outcome = await check.run(ctx);
    return {
      id: check.id,
      title: check.title,
      status: outcome === 'skipped' ? 'skipped' : 'passed',
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return {
      id: check.id,
      title: check.title,
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
      durationMs: performance.now() - started,
    };
  } finally {
    for (const id of created) await backend.deleteProject(id).catch(() => undefined);
  }
}

export async function checkAnnotationBackendConformance(
  options: AnnotationBackendConformanceOptions,
): Promise<ConformanceResult[]> {
  const backend = await options.create();
  try {
    const results: ConformanceResult[] = [];
    for (const check of annotationBackendChecks) results.push(await runCheck(check, backend, options));
    return results;
  } finally {
    await (options.cleanup ? options.cleanup(backend) : backend.dispose());
  }
}

/** Registers `describe(<name> conformance)` with one test per check (skipped checks are reported as skipped). */
export function runAnnotationBackendConformance(options: AnnotationBackendConformanceOptions): void {
  describe(`${options.name}: annotation-backend conformance`, () => {
    for (const check of annotationBackendChecks) {
      it(check.title, async (testCtx) => {
        const backend = await options.create();
        try {
          const result = await runCheck(check, backend, options);
          if (result.status === 'skipped') testCtx.skip();
          if (result.status === 'failed') throw new Error(`[${check.id}] ${result.error}`);
        } finally {
          await (options.cleanup ? options.cleanup(backend) : backend.dispose());
        }
      });
    }
  });
}
