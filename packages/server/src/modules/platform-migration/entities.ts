import { defineEntity, p } from '@mikro-orm/core';

/**
 * Where a real `labeler platform migrate` run stands per source: written in each batch's transaction,
 * so a killed run re-run continues after the last committed batch; deleted when a run completes.
 */
export const PlatformMigrationCheckpointSchema = defineEntity({
  name: 'PlatformMigrationCheckpoint',
  tableName: 'platform_migration_checkpoint',
  properties: {
    sourceKey: p.string().primary(),
    phase: p.string(),
    cursor: p.text(),
    updatedAt: p.datetime(),
  },
});
export class PlatformMigrationCheckpoint extends PlatformMigrationCheckpointSchema.class {}
PlatformMigrationCheckpointSchema.setClass(PlatformMigrationCheckpoint);
