import { randomUUID } from 'node:crypto';
import { ERROR_CODES, type ErrorCode, LabelerError } from '@labeler/core';
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import type { JobDefinition } from '../../jobs/types.js';
import type { Mapping } from './mapping.js';
import { type MigrateOptions, type MigrationReport, PlatformMigrationService } from './service.js';
import { openSource } from './sources.js';

export const PLATFORM_MIGRATE_JOB = 'platform.migrate';

/**
 * What a run needs that must not be stored in the job row (the source URL may carry a password) or
 * cannot be (callbacks): kept in this process, the job payload names it. The CLI runs the job in-process
 * (`sync`); a worker elsewhere finds no entry and fails the job without retrying.
 */
interface RunRequest {
  from: string;
  mapping: Mapping;
  options: Pick<MigrateOptions, 'onRow' | 'onProgress'>;
  report?: MigrationReport;
}
const requests = new Map<string, RunRequest>();

const payloadSchema = z.object({
  run_id: z.string().uuid(),
  /** The source with any password removed (for people reading the job list). */
  source: z.string().max(2000),
  batch_size: z.number().int().min(1).max(50_000),
  adopt_files: z.boolean(),
});
type Payload = z.infer<typeof payloadSchema>;

export function platformMigrationJobs(app: () => AppServices): JobDefinition[] {
  const migrate: JobDefinition<Payload> = {
    kind: PLATFORM_MIGRATE_JOB,
    queue: 'low',
    payloadSchema,
    // Hours for 100k+ datasets on slow disks; a retry resumes from the checkpoint.
    timeoutSeconds: 6 * 3600,
    maxAttempts: 2,
    dedupKey: () => PLATFORM_MIGRATE_JOB,
    async run(ctx) {
      const request = requests.get(ctx.payload.run_id);
      if (!request)
        throw new LabelerError(
          'PRECONDITION_FAILED',
          'A platform migration runs in the CLI process that started it.',
        );
      const source = await openSource(request.from, request.mapping);
      try {
        const report = await new PlatformMigrationService(app).migrate(source, {
          dryRun: false,
          batchSize: ctx.payload.batch_size,
          mapping: request.mapping,
          adoptFiles: ctx.payload.adopt_files,
          actor: {
            kind: 'system',
            id: `job:${ctx.jobId}`,
            name: 'platform migration',
            organizationId: null,
            roles: ['admin'],
            scopes: ['admin'],
            authenticatedBy: 'cli',
          },
          signal: ctx.signal,
          ...(request.options.onRow ? { onRow: request.options.onRow } : {}),
          async onProgress(done, total, message) {
            await ctx.progress(done, total, message);
            await request.options.onProgress?.(done, total, message);
          },
        });
        request.report = report;
        return {
          totals: report.totals,
          reconciliation: report.reconciliation,
          bad_rows: report.bad_rows.length,
          conflicts: report.conflicts.length,
        };
      } finally {
        await source.close();
      }
    },
  };
  return [migrate as JobDefinition];
}

export const redactSource = (from: string) => from.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Runs a real migration as a `platform.migrate` job in this process and returns its full report. */
export async function runMigrationJob(
  app: AppServices,
  input: {
    from: string;
    mapping: Mapping;
    batchSize: number;
    adoptFiles: boolean;
    createdBy: string | null;
  } & Pick<MigrateOptions, 'onRow' | 'onProgress'>,
): Promise<{ jobId: string; report: MigrationReport }> {
  const runId = randomUUID();
  const request: RunRequest = {
    from: input.from,
    mapping: input.mapping,
    options: {
      ...(input.onRow ? { onRow: input.onRow } : {}),
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    },
  };
  requests.set(runId, request);
  try {
    const { job } = await app.jobs.startJob(
      PLATFORM_MIGRATE_JOB,
      {
        run_id: runId,
        source: redactSource(input.from),
        batch_size: input.batchSize,
        adopt_files: input.adoptFiles,
      },
      { sync: true, createdBy: input.createdBy },
    );
    if (!request.report)
      throw new LabelerError(
        job.error && job.error.code in ERROR_CODES ? (job.error.code as ErrorCode) : 'INTERNAL_ERROR',
        job.error?.message ?? `Migration job ${job.id} ended ${job.state}.`,
        { details: { job_id: job.id } },
      );
    return { jobId: job.id, report: request.report };
  } finally {
    requests.delete(runId);
  }
}
