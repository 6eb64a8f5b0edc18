import type { AppServices } from '../../app/services.js';
import { DEFAULT_MAPPING, type Mapping } from './mapping.js';
import { runMigrationJob } from './job.js';
import { type MigrateOptions, type MigrationReport, PlatformMigrationService } from './service.js';
import { assertSourceShape, openSource } from './sources.js';

export { DEFAULT_MAPPING, loadMappingFile, resolveMapping } from './mapping.js';
export type { MigrationReport, RowOutcome } from './service.js';

export interface PlatformMigrateInput extends Pick<MigrateOptions, 'onRow' | 'onProgress'> {
  from: string;
  mapping?: Mapping;
  dryRun?: boolean;
  batchSize?: number;
  adoptFiles?: boolean;
  createdBy?: string | null;
}

/**
 * The one entry point (CLI and tests): a dry run compares in-process and writes nothing, not even a job
 * row; a real run is a `platform.migrate` job run in this process.
 */
export async function platformMigrate(
  app: AppServices,
  input: PlatformMigrateInput,
): Promise<MigrationReport & { job_id: string | null }> {
  const mapping = input.mapping ?? DEFAULT_MAPPING;
  const batchSize = input.batchSize ?? 1000;
  const adoptFiles = input.adoptFiles ?? true;
  assertSourceShape(input.from);
  if (!input.dryRun) {
    const { jobId, report } = await runMigrationJob(app, {
      from: input.from,
      mapping,
      batchSize,
      adoptFiles,
      createdBy: input.createdBy ?? null,
      ...(input.onRow ? { onRow: input.onRow } : {}),
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    });
    return { ...report, job_id: jobId };
  }
  const source = await openSource(input.from, mapping);
  try {
    const report = await new PlatformMigrationService(() => app).migrate(source, {
      dryRun: true,
      batchSize,
      mapping,
      adoptFiles,
      actor: null,
      ...(input.onRow ? { onRow: input.onRow } : {}),
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    });
    return { ...report, job_id: null };
  } finally {
    await source.close();
  }
}
