import { localDiskStoragePlugin } from '@labeler/core/local-disk';
import type { DatasetConnectorInstance, PluginDefinition } from '@labeler/core';
import { createFiftyOneConnector, fiftyOneConnectorPlugin } from '@labeler/plugin-fiftyone';
import { labelStudioPlugin } from '@labeler/plugin-labelstudio';
import { r2StoragePlugin } from '@labeler/plugin-r2/plugin';

/**
 * The plugins this server ships, as a typed list. Instances are configured in the database (console or
 * CLI). A team adds its own plugin by importing its definition here; registration checks its contract
 * version and refuses a mismatch with a message naming the plugin and field.
 *
 * Definitions stay light (id, config schema, capabilities): a plugin with a heavy implementation loads it
 * in create(), e.g. R2 imports the AWS SDK only when an R2 instance starts (`@labeler/plugin-r2/plugin`).
 */
export const BUILTIN_PLUGINS: readonly PluginDefinition[] = [
  localDiskStoragePlugin as unknown as PluginDefinition,
  r2StoragePlugin as unknown as PluginDefinition,
  labelStudioPlugin as unknown as PluginDefinition,
  fiftyOneConnectorPlugin as unknown as PluginDefinition,
];

/** The dataset connector `labeler dataset import` reads folders with (FiftyOne, COCO, YOLO, image folder). */
export function defaultDatasetConnector(): DatasetConnectorInstance {
  return createFiftyOneConnector({ default_label_field: 'ground_truth' });
}
