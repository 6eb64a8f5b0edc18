import { definePlugin, type PluginDefinition, type StorageCapabilities } from '@labeler/core';
import { type R2Config, r2ConfigSchema, resolveR2Config } from './config.js';
import type { R2StorageInstance } from './storage.js';

export const r2Capabilities = {
  presignGet: true,
  presignPut: true,
  multipart: true,
} as const satisfies StorageCapabilities;

/** Capabilities as a type alias (not the StorageCapabilities interface) so core's generic helpers accept it. */
export type R2Capabilities = typeof r2Capabilities;

/**
 * The definition is light: the config schema is here, while the AWS SDK (several MB of code and heap) is
 * imported on the first create(), so a server without an R2 instance never loads it. Import it from
 * `@labeler/plugin-r2/plugin` to keep that property (the package root also exports the implementation).
 */
export const r2StoragePlugin: PluginDefinition<'storage', R2Config, R2StorageInstance, R2Capabilities> =
  definePlugin({
    id: 'r2',
    kind: 'storage',
    contractVersion: '1.0',
    displayName: 'Cloudflare R2 / S3',
    description:
      'Stores objects in a Cloudflare R2 bucket or any S3-compatible object store; downloads and uploads use presigned URLs.',
    configSchema: r2ConfigSchema,
    capabilities: r2Capabilities,
    async create(ctx, config): Promise<R2StorageInstance> {
      const resolved = resolveR2Config(config);
      const [{ createS3Client }, { R2Storage }] = await Promise.all([
        import('./client.js'),
        import('./storage.js'),
      ]);
      const logger = ctx.logger.child?.({ plugin: 'r2', instanceId: ctx.instanceId }) ?? ctx.logger;
      // Log where, never with what credentials.
      logger.debug(
        {
          endpoint: resolved.endpoint,
          bucket: resolved.bucket,
          prefix: resolved.prefix,
          forcePathStyle: resolved.forcePathStyle,
        },
        'R2 storage instance created',
      );
      return new R2Storage(createS3Client(resolved), resolved, logger);
    },
  });
