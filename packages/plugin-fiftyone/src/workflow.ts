import {
  type AnnotationBackendInstance,
  type BackendAnnotation,
  type BackendTask,
  type DatasetConnectorInstance,
  type DatasetSource,
  type LabelSchema,
  type LabelValue,
  LabelerError,
  type Sample,
  type SampleLabelsUpdate,
  type TaskInput,
  type WriteLabelsReport,
} from '@labeler/core';
import { labelsToLsResults } from './conversions/to-ls.js';
import { lsResultsToLabels } from './conversions/from-ls.js';
import { canonical } from './diff.js';
import { OBJECT_ID, stableId } from './ids.js';
import { readImageSize } from './image-size.js';
import { type MountConfig, toLocalFilesUrl } from './path-mapping.js';

/**
 * Push / pull / sync, written only against the core contracts (never the Label Studio plugin), following
 * the lessons in fiftyone-formats.md §5–7: the sample id travels in every task's meta; batches of explicit
 * task JSON; existing labels go up as predictions whose result ids are the label ids; pulls take only
 * submitted, non-cancelled annotations and map them by sample id, never by order.
 */

export type UploadStrategy = 'sdk_batched' | 'annotate_batched';

export interface PushProgress {
  done: number;
  total: number;
  created: number;
  skipped: number;
  failed: number;
}

export interface PushOptions {
  backend: AnnotationBackendInstance;
  /** Project to fill. With `annotate_batched` it may be omitted: the project is found (or made) by `projectTitle`. */
  projectExternalId?: string | null;
  /** `annotate_batched`: one project per run, reused by this title instead of a `_timestamp` duplicate. */
  projectTitle?: string;
  samples: Iterable<Sample> | AsyncIterable<Sample>;
  schema: LabelSchema;
  mount: MountConfig;
  strategy?: UploadStrategy;
  /** Tasks per import call (default 50; keep at or below the backend's maxImportBatch). */
  batchSize?: number;
  /** Send existing labels as predictions (default true). */
  withPredictions?: boolean;
  modelVersion?: string;
  onProgress?: (progress: PushProgress) => void;
  signal?: AbortSignal;
}

export interface PushReport {
  projectExternalId: string;
  projectCreated: boolean;
  created: number;
  /** Samples that already had a task (idempotent re-runs). */
  skipped: number;
  failed: Array<{ sampleId: string; message: string }>;
  batches: number;
  taskIds: string[];
  aborted: boolean;
  /** Labels that could not be expressed as predictions. */
  warnings: string[];
}

async function resolveProject(o: PushOptions): Promise<{ id: string; created: boolean }> {
  if ((o.strategy ?? 'sdk_batched') === 'annotate_batched') {
    if (!o.projectTitle && !o.projectExternalId)
      throw new LabelerError(
        'VALIDATION_ERROR',
        'annotate_batched needs projectTitle (or a recorded projectExternalId) to reuse one project per run.',
      );
    const r = await o.backend.ensureProject({
      externalId: o.projectExternalId ?? null,
      title: o.projectTitle ?? `Labeler ${o.projectExternalId}`,
      labelConfig: o.backend.buildLabelConfig(o.schema),
    });
    return { id: r.project.externalId, created: r.created };
  }
  if (!o.projectExternalId)
    throw new LabelerError(
      'VALIDATION_ERROR',
      'sdk_batched needs projectExternalId: create or adopt the project first.',
    );
  return { id: o.projectExternalId, created: false };
}

async function dimsOf(sample: Sample): Promise<{ width: number; height: number } | null> {
  if (sample.metadata.width && sample.metadata.height)
    return { width: sample.metadata.width, height: sample.metadata.height };
  const size = await readImageSize(sample.filepath).catch(() => null);
  return size ? { width: size.width, height: size.height } : null;
}

/** Builds one task: image URL, `meta.fiftyone_id`, and the sample's labels as a prediction. */
export async function buildTask(
  sample: Sample,
  schema: LabelSchema,
  mount: MountConfig,
  options: { withPredictions?: boolean; modelVersion?: string; onSkip?: (m: string) => void } = {},
): Promise<TaskInput> {
  const task: TaskInput = {
    sampleId: sample.id,
    data: { image: toLocalFilesUrl(sample.filepath, mount) },
    meta: { fiftyone_id: sample.id },
  };
  if (options.withPredictions === false) return task;
  const hasLabels = schema.controls.some((c) => sample.labels[c.name]);
  if (!hasLabels) return task;
  const dims = await dimsOf(sample);
  if (!dims)
    throw new LabelerError(
      'VALIDATION_ERROR',
      `width/height of ${sample.filepath} are unknown and its header cannot be read; existing labels need them`,
    );
  const result = labelsToLsResults(
    sample.labels,
    schema,
    dims,
    options.onSkip ? { onSkip: options.onSkip } : {},
  );
  if (result.length > 0)
    task.predictions = [{ result, modelVersion: options.modelVersion ?? 'labeler_export' }];
  return task;
}

/**
 * Idempotent push: samples whose id already has a task (per `listTaskRefs`) are skipped, so an
 * interrupted run can simply be started again without duplicating tasks.
 */
export async function push(o: PushOptions): Promise<PushReport> {
  const project = await resolveProject(o);
  const batchSize = Math.max(1, o.batchSize ?? 50);
  const existing = new Set<string>();
  for await (const ref of o.backend.listTaskRefs(project.id, o.signal ? { signal: o.signal } : {}))
    if (ref.sampleId) existing.add(ref.sampleId);

  const samples: Sample[] = [];
  for await (const s of o.samples) samples.push(s);
  const report: PushReport = {
    projectExternalId: project.id,
    projectCreated: project.created,
    created: 0,
    skipped: 0,
    failed: [],
    batches: 0,
    taskIds: [],
    aborted: false,
    warnings: [],
  };
  const progress = (done: number) =>
    o.onProgress?.({
      done,
      total: samples.length,
      created: report.created,
      skipped: report.skipped,
      failed: report.failed.length,
    });

  let batch: TaskInput[] = [];
  let done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await o.backend.importTasks(project.id, batch);
    report.created += result.created;
    if (result.taskIds) report.taskIds.push(...result.taskIds);
    report.batches++;
    done += batch.length;
    batch = [];
    progress(done + report.skipped + report.failed.length);
  };
  for (const sample of samples) {
    if (o.signal?.aborted) {
      report.aborted = true;
      break;
    }
    if (existing.has(sample.id)) {
      report.skipped++;
      continue;
    }
    existing.add(sample.id); // the same sample twice in one run still yields one task
    try {
      batch.push(
        await buildTask(sample, o.schema, o.mount, {
          withPredictions: o.withPredictions ?? true,
          ...(o.modelVersion ? { modelVersion: o.modelVersion } : {}),
          onSkip: (m) => report.warnings.push(`${sample.id}: ${m}`),
        }),
      );
    } catch (error) {
      report.failed.push({
        sampleId: sample.id,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    if (batch.length >= batchSize) await flush();
  }
  if (!report.aborted) await flush();
  else batch = [];
  progress(done + report.skipped + report.failed.length);
  return report;
}

// ---- pull -----------------------------------------------------------------------------------------

export type AnnotatorPolicy = 'latest' | 'first' | 'ground_truth_first';

export interface PullOptions {
  backend: AnnotationBackendInstance;
  projectExternalId: string;
  schema: LabelSchema;
  /** Current samples, to match labels by id and keep the attributes LS does not carry. */
  samples: Iterable<Sample> | AsyncIterable<Sample>;
  /** Which annotation wins when a task has several (default: latest `updatedAt`). */
  annotatorPolicy?: AnnotatorPolicy;
  signal?: AbortSignal;
}

export interface PullReport {
  updates: SampleLabelsUpdate[];
  tasksSeen: number;
  /** Tasks whose annotations were all cancelled (skipped). */
  cancelled: number;
  /** Tasks without a submitted annotation (predictions alone never count). */
  unlabeled: number;
  /** Tasks whose sample id is missing or not among `samples`. */
  unmatched: Array<{ externalTaskId: string; sampleId: string | null }>;
  /** Samples whose labels in LS equal what they already have. */
  unchanged: number;
  warnings: string[];
}

/** The sample id a task carries: contract field, then `meta.fiftyone_id`, then DST's legacy `data.meta`. */
export function taskSampleId(task: BackendTask): string | null {
  if (task.sampleId) return task.sampleId;
  const fromMeta = task.meta?.fiftyone_id;
  if (typeof fromMeta === 'string') return fromMeta;
  const legacy = (task.data?.meta as Record<string, unknown> | undefined)?.fiftyone_id;
  return typeof legacy === 'string' ? legacy : null;
}

function pickAnnotation(list: BackendAnnotation[], policy: AnnotatorPolicy): BackendAnnotation | null {
  if (list.length === 0) return null;
  const byUpdated = [...list].sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
  if (policy === 'first')
    return [...list].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0]!;
  if (policy === 'ground_truth_first') return byUpdated.find((a) => a.groundTruth) ?? byUpdated[0]!;
  return byUpdated[0]!;
}

export async function pull(o: PullOptions): Promise<PullReport> {
  const byId = new Map<string, Sample>();
  for await (const s of o.samples) byId.set(s.id, s);
  const report: PullReport = {
    updates: [],
    tasksSeen: 0,
    cancelled: 0,
    unlabeled: 0,
    unmatched: [],
    unchanged: 0,
    warnings: [],
  };
  for await (const task of o.backend.iterateTasks(o.projectExternalId, {
    onlyAnnotated: true,
    ...(o.signal ? { signal: o.signal } : {}),
  })) {
    report.tasksSeen++;
    const submitted = task.annotations.filter((a) => !a.wasCancelled);
    if (submitted.length === 0) {
      if (task.annotations.length > 0) report.cancelled++;
      else report.unlabeled++;
      continue;
    }
    const sampleId = taskSampleId(task);
    const sample = sampleId ? byId.get(sampleId) : undefined;
    if (!sample || !sampleId) {
      report.unmatched.push({ externalTaskId: task.externalTaskId, sampleId });
      continue;
    }
    const annotation = pickAnnotation(submitted, o.annotatorPolicy ?? 'latest')!;
    const incoming = lsResultsToLabels(annotation.result, o.schema, {
      like: sample.labels,
      onSkip: (m) => report.warnings.push(`task ${task.externalTaskId}: ${m}`),
    });
    const labels: Record<string, LabelValue | null> = {};
    for (const control of o.schema.controls) {
      labels[control.name] = mergeField(
        sample.labels[control.name] ?? null,
        incoming[control.name] ?? null,
        task.externalTaskId,
      );
    }
    const before = Object.fromEntries(o.schema.controls.map((c) => [c.name, sample.labels[c.name] ?? null]));
    if (canonical(before) === canonical(labels)) report.unchanged++;
    else report.updates.push({ sampleId, labels });
  }
  return report;
}

type Item = {
  id: string;
  label: string;
  tags?: string[];
  attributes?: Record<string, unknown>;
  confidence?: number | null;
};

function itemsOf(v: LabelValue | null): Item[] {
  if (!v) return [];
  if (v._cls === 'Detections') return v.detections;
  if (v._cls === 'Polylines') return v.polylines;
  if (v._cls === 'Keypoints') return v.keypoints;
  if (v._cls === 'Classifications') return v.classifications;
  return [v];
}

/**
 * Applies LS's state of a field to the sample's: a region whose id matches an existing label updates that
 * label in place (keeping the tags and attributes LS cannot carry); a new region becomes a new label; an
 * existing label absent from LS is deleted (it is simply not in the result). Classifications the annotator
 * re-selected keep their ids by label. New LS region ids are turned into stable ObjectIds derived from
 * (task, region), so pulling twice gives the same ids and FiftyOne accepts them.
 */
export function mergeField(
  existing: LabelValue | null,
  incoming: LabelValue | null,
  taskId: string,
): LabelValue | null {
  const old = itemsOf(existing);
  // "No regions" and an empty container mean the same; keep the sample's shape so nothing is rewritten.
  if (!incoming) return existing && old.length === 0 ? existing : null;
  const byId = new Map(old.map((l) => [l.id, l]));
  const byLabel = new Map(old.map((l) => [l.label, l]));
  const fix = <T extends Item>(l: T): T => {
    let prev = byId.get(l.id);
    if (!prev && (l as { _cls?: string })._cls === 'Classification') prev = byLabel.get(l.label);
    if (prev) {
      const keep: Partial<Item> = {};
      if (prev.tags) keep.tags = prev.tags;
      if (prev.attributes) keep.attributes = prev.attributes;
      const merged = { ...l, ...keep, id: prev.id } as T;
      // Geometry-dependent extras survive only when the region did not move.
      const p = prev as unknown as Record<string, unknown>;
      const m = merged as unknown as Record<string, unknown>;
      if (p.iscrowd !== undefined && m.iscrowd === undefined) m.iscrowd = p.iscrowd;
      if (
        p.mask !== undefined &&
        m.mask === undefined &&
        canonical(p.bounding_box) === canonical(m.bounding_box)
      )
        m.mask = p.mask;
      return merged;
    }
    return OBJECT_ID.test(l.id) ? l : { ...l, id: stableId(`ls:${taskId}:${l.id}`) };
  };
  switch (incoming._cls) {
    case 'Detections':
      return { ...incoming, detections: incoming.detections.map(fix) };
    case 'Polylines':
      return { ...incoming, polylines: incoming.polylines.map(fix) };
    case 'Keypoints':
      return { ...incoming, keypoints: incoming.keypoints.map(fix) };
    case 'Classifications':
      return { ...incoming, classifications: incoming.classifications.map(fix) };
    default:
      return fix(incoming);
  }
}

// ---- sync to disk --------------------------------------------------------------------------------

/**
 * Writes pulled labels into the dataset's own files. `dryRun: true` only reports per-sample diffs and
 * changes nothing; otherwise files are replaced atomically with `.bak` backups that `undoSync` restores.
 */
export async function syncToDisk(
  connector: Pick<DatasetConnectorInstance, 'writeLabels'>,
  source: DatasetSource,
  updates: Iterable<SampleLabelsUpdate> | AsyncIterable<SampleLabelsUpdate>,
  options: { dryRun?: boolean; backup?: boolean } = {},
): Promise<WriteLabelsReport> {
  return connector.writeLabels(source, updates, {
    dryRun: options.dryRun ?? false,
    backup: options.backup ?? true,
  });
}

export { undoSync } from './label-writes.js';
