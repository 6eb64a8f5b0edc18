import path from 'node:path';
import { z } from 'zod';
import type { StorageCapabilities } from '../contracts/storage.js';
import { definePlugin, type PluginDefinition } from '../plugin.js';
import { LocalDiskStorage, type LocalDiskStorageInstance } from './storage.js';

export const localDiskConfigSchema = z.object({
  /** Folder holding the objects. A relative path is resolved against the instance's data directory. */
  root: z
    .string()
    .min(1, 'must name a folder')
    .describe(
      'Folder that holds the objects; relative paths are resolved against the instance data directory.',
    ),
});

export type LocalDiskConfig = z.infer<typeof localDiskConfigSchema>;

export const localDiskCapabilities = {
  presignGet: true,
  presignPut: true,
  multipart: true,
} as const satisfies StorageCapabilities;

/** Capabilities as a type alias (not the StorageCapabilities interface) so core's generic helpers accept it. */
export type LocalDiskCapabilities = typeof localDiskCapabilities;

export const localDiskStoragePlugin: PluginDefinition<
  'storage',
  LocalDiskConfig,
  LocalDiskStorageInstance,
  LocalDiskCapabilities
> = definePlugin({
  id: 'local-disk',
  kind: 'storage',
  contractVersion: '1.0',
  displayName: 'Local disk',
  description:
    'Stores objects as files in a folder on the server; presigned links are served by the Labeler server itself.',
  configSchema: localDiskConfigSchema,
  capabilities: localDiskCapabilities,
  async create(ctx, config): Promise<LocalDiskStorageInstance> {
    const root = path.resolve(ctx.dataDir, config.root);
    const storage = new LocalDiskStorage(root, ctx);
    await storage.init();
    return storage;
  },
});
