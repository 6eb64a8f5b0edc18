/** Entity → API view. */
import { labelSchemaSchema } from '@labeler/core';
import type { AnnotationProject } from './entities.js';
import { mediaSettingsSchema, type ProjectView } from './schemas.js';

export function toProjectView(p: AnnotationProject): ProjectView {
  const media = p.media ? mediaSettingsSchema.safeParse(p.media) : null;
  return {
    id: p.id,
    dataset_id: p.datasetId,
    backend_instance_id: p.backendInstanceId,
    name: p.name,
    external_id: p.externalId ?? null,
    status: p.status,
    sync_status: p.syncStatus,
    task_count: p.taskCount,
    annotation_count: p.annotationCount,
    last_sync_at: p.lastSyncAt?.toISOString() ?? null,
    last_error: p.lastError ?? null,
    label_schema: labelSchemaSchema.parse(p.labelSchema),
    media: media?.success ? media.data : null,
    webhook_registered: Boolean(p.webhookId),
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

/** annotation/task × 100 with two decimals; 0 when there are no tasks (design §7.3). */
export function progressPercent(annotations: number, tasks: number): number {
  if (tasks <= 0) return 0;
  return Math.round(Math.min(1, annotations / tasks) * 10_000) / 100;
}
