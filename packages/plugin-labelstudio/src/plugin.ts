/** The plugin definition the host registers. */
import { type AnnotationBackendPluginDefinition, definePlugin } from '@labeler/core';
import { createLabelStudioBackend } from './backend.js';
import { type LabelStudioConfig, labelStudioConfigSchema } from './config.js';
import { MAX_IMPORT_BATCH } from './tasks.js';

export const labelStudioPlugin: AnnotationBackendPluginDefinition<LabelStudioConfig> = definePlugin({
  id: 'label-studio',
  kind: 'annotation-backend',
  contractVersion: '1.0',
  displayName: 'Label Studio',
  description:
    'Creates Label Studio projects, imports tasks idempotently (sample id in task meta) and pulls annotations back.',
  configSchema:
    labelStudioConfigSchema as unknown as AnnotationBackendPluginDefinition<LabelStudioConfig>['configSchema'],
  capabilities: {
    storageTypes: ['local-files', 's3'],
    webhooks: true,
    maxImportBatch: MAX_IMPORT_BATCH,
    labelControls: ['rectangle', 'polygon', 'keypoint', 'brush', 'choices'],
  },
  async create(ctx, config) {
    return createLabelStudioBackend(config, {
      logger: ctx.logger.child?.({ plugin: 'label-studio', instance: ctx.instanceId }) ?? ctx.logger,
    });
  },
});
