import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, JOB_STATES, jobIdSchema, jobSchema, LabelerError, type Principal } from '@labeler/core';
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import { adminProcedure, authedProcedure, hasScope, router } from '../../trpc/init.js';
import { isVisibleTo } from '../datasets/service.js';
import type { DatasetAccessFacts } from '../datasets/view-cache.js';
import { JobRecord } from './entities.js';

const TAG = 'Jobs';
const byId = z.object({ job_id: jobIdSchema });
const FINAL: ReadonlySet<Job['state']> = new Set(['completed', 'failed', 'cancelled']);

/**
 * Jobs a `datasets:download` key may read although another principal started them: the download-url
 * route hands out the (deduplicated) archive build job of a version it already authorised.
 */
const DOWNLOAD_JOB_KINDS: ReadonlySet<string> = new Set(['dataset.archive']);

/**
 * Who may read a job. Platform-wide: admins, the principal that started it, and `datasets:download` keys
 * for archive builds. An organization's principal additionally needs the job's dataset (`facts`; undefined
 * when the job concerns no dataset, null when that dataset is gone) to be visible to it, and an
 * organization's admin reads only jobs of its own organization's datasets: another organization's jobs
 * answer like missing ones.
 */
function canSee(principal: Principal, job: Job, facts: DatasetAccessFacts | null | undefined): boolean {
  if (job.created_by !== null && job.created_by === principal.id) return true;
  const downloadable = hasScope(principal, 'datasets:download') && DOWNLOAD_JOB_KINDS.has(job.kind);
  if (!principal.organizationId) return hasScope(principal, 'admin') || downloadable;
  if (!facts || !isVisibleTo(principal, facts)) return false;
  if (hasScope(principal, 'admin') && facts.organizationId === principal.organizationId) return true;
  return downloadable;
}

/**
 * The dataset a job works on: its payload's `dataset_id`, or its annotation project's dataset (null when
 * that project is gone); undefined for jobs that concern no dataset.
 */
async function datasetOfJob(app: AppServices, jobId: string): Promise<string | null | undefined> {
  const record = await app.orm.em.fork().findOne(JobRecord, { id: jobId }, { fields: ['payload'] });
  const payload = (record?.payload ?? {}) as Record<string, unknown>;
  if (typeof payload.dataset_id === 'string') return payload.dataset_id;
  if (typeof payload.project_id !== 'string') return undefined;
  return (await app.annotation.getRecord(payload.project_id).catch(() => null))?.datasetId ?? null;
}

/** `jobs` without those the principal may not see (platform-wide principals' answers are unchanged). */
async function visibleJobs(app: AppServices, principal: Principal, jobs: Job[]): Promise<Job[]> {
  if (!principal.organizationId) return jobs.filter((job) => canSee(principal, job, undefined));
  const seen = await Promise.all(
    jobs.map(async (job) => {
      const datasetId = await datasetOfJob(app, job.id);
      const facts = typeof datasetId === 'string' ? await app.datasets.accessFacts(datasetId) : datasetId;
      return canSee(principal, job, facts);
    }),
  );
  return jobs.filter((_, i) => seen[i]);
}

/** The job, when the principal may see it; hidden jobs answer like missing ones (404 JOB_NOT_FOUND). */
async function visibleJob(app: AppServices, principal: Principal, id: string): Promise<Job> {
  const [job] = await visibleJobs(app, principal, [await app.jobs.get(id)]);
  if (!job) throw new LabelerError('JOB_NOT_FOUND', `Job ${id} does not exist.`, { details: { job_id: id } });
  return job;
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
      // An organization's admin sees its organization's jobs only (a page may come back shorter).
      return { jobs: await visibleJobs(ctx.app, ctx.principal, page.jobs), next_cursor: page.nextCursor };
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
          "Readable by admins, by the principal that started the job, and (for archive builds) by keys with datasets:download. An organization's key reads only jobs of datasets it can see, and an organization's admin only its organization's. Poll until state is completed, failed or cancelled.",
        errorResponses: [400, 401, 404],
      },
    })
    .input(byId)
    .output(jobSchema)
    .query(({ ctx, input }) => visibleJob(ctx.app, ctx.principal, input.job_id)),

  cancel: adminProcedure
    .input(byId)
    .output(jobSchema)
    .mutation(async ({ ctx, input }) => {
      await visibleJob(ctx.app, ctx.principal, input.job_id);
      return ctx.app.jobs.cancel(input.job_id);
    }),

  /** A failed or cancelled job runs again as a new job (same kind, payload, dedup key); returns it. */
  retry: adminProcedure
    .input(byId)
    .output(jobSchema)
    .mutation(async ({ ctx, input }) => {
      await visibleJob(ctx.app, ctx.principal, input.job_id);
      return ctx.app.jobs.retry(input.job_id);
    }),

  /**
   * The console's live progress feed: current state of up to 100 jobs in one call, meant to be polled
   * (every second while `all_final` is false). Works over the plain HTTP batch link.
   */
  progress: adminProcedure
    .input(progressInput)
    .output(progressOutput)
    .query(async ({ ctx, input }) => {
      const listed = await ctx.app.jobs.list({ ids: input.ids, limit: input.ids.length });
      const jobs = await visibleJobs(ctx.app, ctx.principal, listed.jobs);
      return { jobs, all_final: jobs.every((j) => FINAL.has(j.state)) };
    }),

  /**
   * The same feed as a tRPC subscription (SSE, httpSubscriptionLink): yields the jobs whenever one of
   * them changed, and ends once all are final.
   */
  watch: adminProcedure.input(progressInput).subscription(async function* ({ ctx, input, signal }) {
    let last = '';
    while (!signal?.aborted) {
      const listed = await ctx.app.jobs.list({ ids: input.ids, limit: input.ids.length });
      const jobs = await visibleJobs(ctx.app, ctx.principal, listed.jobs);
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
