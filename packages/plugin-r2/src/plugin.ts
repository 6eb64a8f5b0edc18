import { definePlugin, type PluginDefinition, type StorageCapabilities } from '@labeler/core';
import { createS3Client } from './client.js';
import { type R2Config, r2ConfigSchema, resolveR2Config } from './config.js';
import { R2Storage, type R2StorageInstance } from './storage.js';

export const r2Capabilities = {
  presignGet: true,
  presignPut: true,
  multipart: true,
} as const satisfies StorageCapabilities;

/** Capabilities as a type alias (not the StorageCapabilities interface) so core's generic helpers accept it. */
export type R2Capabilities = typeof r2Capabilities;

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
