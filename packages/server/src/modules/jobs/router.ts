import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, JOB_STATES, jobIdSchema, jobSchema, LabelerError, type Principal } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, authedProcedure, hasScope, router } from '../../trpc/init.js';

const TAG = 'Jobs';
const byId = z.object({ job_id: jobIdSchema });
const FINAL: ReadonlySet<Job['state']> = new Set(['completed', 'failed', 'cancelled']);

/**
 * Jobs a `datasets:download` key may read although another principal started them: the download-url
 * route hands out the (deduplicated) archive build job of a version it already authorised.
 */
const DOWNLOAD_JOB_KINDS: ReadonlySet<string> = new Set(['dataset.archive']);

function canSee(principal: Principal, job: Job): boolean {
  if (hasScope(principal, 'admin')) return true;
  if (job.created_by !== null && job.created_by === principal.id) return true;
  return hasScope(principal, 'datasets:download') && DOWNLOAD_JOB_KINDS.has(job.kind);
}

export const listJobsInput = z.object({
  state: z.enum(JOB_STATES).optional(),
  kind: z.string().min(1).max(100).optional(),
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export const listJobsOutput = z.object({ jobs: z.array(jobSchema), next_cursor: z.string().nullable() });
const progressInput = z.object({ ids: z.array(jobIdSchema).min(1).max(100) });
const progressOutput = z.object({ jobs: z.array(jobSchema), all_final: z.boolean() });

export const jobsRouter = router({
  list: adminProcedure
    .input(listJobsInput)
    .output(listJobsOutput)
    .query(async ({ ctx, input }) => {
      const page = await ctx.app.jobs.list({
        limit: input.limit,
        ...(input.state ? { state: input.state } : {}),
        ...(input.kind ? { kind: input.kind } : {}),
        ...(input.cursor ? { cursor: input.cursor } : {}),
      });
      return { jobs: page.jobs, next_cursor: page.nextCursor };
    }),

  /** Also the REST status URL that 202 answers point at (`Location: /api/v1/jobs/{job_id}`). */
  get: authedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/jobs/{job_id}',
        tags: [TAG],
        summary: 'Status and progress of a background job',
        description:
          'Readable by admins, by the principal that started the job, and (for archive builds) by keys with datasets:download. Poll until state is completed, failed or cancelled.',
        errorResponses: [400, 401, 404],
      },
    })
    .input(byId)
    .output(jobSchema)
    .query(async ({ ctx, input }) => {
      const job = await ctx.app.jobs.get(input.job_id);
      // Hidden jobs answer like missing ones.
      if (!canSee(ctx.principal, job))
        throw new LabelerError('JOB_NOT_FOUND', `Job ${input.job_id} does not exist.`, {
          details: { job_id: input.job_id },
        });
      return job;
    }),

  cancel: adminProcedure
    .input(byId)
    .output(jobSchema)
    .mutation(({ ctx, input }) => ctx.app.jobs.cancel(input.job_id)),

  /** A failed or cancelled job runs again as a new job (same kind, payload, dedup key); returns it. */
  retry: adminProcedure
    .input(byId)
    .output(jobSchema)
    .mutation(({ ctx, input }) => ctx.app.jobs.retry(input.job_id)),

  /**
   * The console's live progress feed: current state of up to 100 jobs in one call, meant to be polled
   * (every second while `all_final` is false). Works over the plain HTTP batch link.
   */
  progress: adminProcedure
    .input(progressInput)
    .output(progressOutput)
    .query(async ({ ctx, input }) => {
      const { jobs } = await ctx.app.jobs.list({ ids: input.ids, limit: input.ids.length });
      return { jobs, all_final: jobs.every((j) => FINAL.has(j.state)) };
    }),

  /**
   * The same feed as a tRPC subscription (SSE, httpSubscriptionLink): yields the jobs whenever one of
   * them changed, and ends once all are final.
   */
  watch: adminProcedure.input(progressInput).subscription(async function* ({ ctx, input, signal }) {
    let last = '';
    while (!signal?.aborted) {
      const { jobs } = await ctx.app.jobs.list({ ids: input.ids, limit: input.ids.length });
      const snapshot = JSON.stringify(jobs);
      if (snapshot !== last) {
        last = snapshot;
        yield { jobs, all_final: jobs.every((j) => FINAL.has(j.state)) };
      }
      if (jobs.every((j) => FINAL.has(j.state))) return;
      await sleep(1000, undefined, signal ? { signal } : undefined).catch(() => undefined);
    }
  }),
});
