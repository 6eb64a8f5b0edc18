import { defineEntity, p } from '@mikro-orm/core';
import { PROJECT_STATUSES, SYNC_STATUSES } from '@labeler/core';

export const AnnotationProjectSchema = defineEntity({
  name: 'AnnotationProject',
  tableName: 'annotation_project',
  indexes: [{ properties: ['datasetId'] }],
  properties: {
    id: p.string().primary(),
    datasetId: p.string(),
    backendInstanceId: p.string(),
    name: p.string(),
    externalId: p.string().nullable(),
    labelSchema: p.json<Record<string, unknown>>(),
    labelConfig: p.text().nullable(),
    /**
     * How task images are addressed (see media.ts): null → Labeler's signed media link; a mount mapping
     * → Label Studio local-files URLs (the backend reads the files from a shared disk).
     */
    media: p.json<Record<string, unknown>>().nullable(),
    status: p.enum(PROJECT_STATUSES).default('pending'),
    syncStatus: p.enum(SYNC_STATUSES).default('pending'),
    taskCount: p.integer().default(0),
    annotationCount: p.integer().default(0),
    lastSyncAt: p.datetime().nullable(),
    lastError: p.text().nullable(),
    webhookId: p.string().nullable(),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class AnnotationProject extends AnnotationProjectSchema.class {}
AnnotationProjectSchema.setClass(AnnotationProject);

export const AnnotationTaskLinkSchema = defineEntity({
  name: 'AnnotationTaskLink',
  tableName: 'annotation_task_link',
  uniques: [{ properties: ['projectId', 'sampleId'] }],
  indexes: [{ properties: ['projectId', 'externalTaskId'] }],
  properties: {
    id: p.string().primary(),
    projectId: p.string(),
    sampleId: p.string(),
    externalTaskId: p.string(),
    batch: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class AnnotationTaskLink extends AnnotationTaskLinkSchema.class {}
AnnotationTaskLinkSchema.setClass(AnnotationTaskLink);

/** The annotation chosen for a sample in a project (see the pick rule), raw and converted. */
export const AnnotationSchema = defineEntity({
  name: 'Annotation',
  tableName: 'annotation',
  uniques: [{ properties: ['projectId', 'sampleId'] }],
  properties: {
    id: p.string().primary(),
    projectId: p.string(),
    datasetId: p.string(),
    sampleId: p.string(),
    externalTaskId: p.string(),
    externalAnnotationId: p.string(),
    result: p.json<unknown[]>(),
    labels: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    annotator: p.string().nullable(),
    groundTruth: p.boolean().default(false),
    source: p.enum(['pull', 'webhook', 'sync-one'] as const),
    backendUpdatedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class Annotation extends AnnotationSchema.class {}
AnnotationSchema.setClass(Annotation);
