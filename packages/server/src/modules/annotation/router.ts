/**
 * tRPC `annotation.*`, also served as REST under /api/v1/label-studio/… (the design's endpoints, §2.2.2/§6)
 * plus console procedures (list, get, create, delete). Admin only: console admins and admin-scoped keys.
 */
import { adminProcedure, router } from '../../trpc/init.js';
import {
  authUrlInput,
  authUrlOutput,
  byProject,
  createProjectInput,
  deleteInput,
  deleteOutput,
  ensureInput,
  ensureOutput,
  importInput,
  jobOutput,
  listInput,
  listOutput,
  progressOutput,
  projectView,
  pullInput,
  syncOneInput,
  syncOneOutput,
  validateOutput,
} from './schemas.js';
import { toProjectView } from './views.js';

const TAG = 'Annotation (Label Studio)';
const BASE = '/label-studio/projects';
const JOB_NOTE =
  'Answers 202 with the job; poll GET /api/v1/jobs/{job_id} (Location header). A job already queued or running for this project is returned instead of a second one.';

export const annotationRouter = router({
  list: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: BASE,
        tags: [TAG],
        summary: 'List annotation projects with their counters',
        errorResponses: [400, 401, 403],
      },
    })
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => ctx.app.annotation.list(input, ctx.principal)),

  get: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${BASE}/{project_id}`,
        tags: [TAG],
        summary: 'Get one annotation project',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byProject)
    .output(projectView)
    .query(({ ctx, input }) => ctx.app.annotation.get(input.project_id, ctx.principal)),

  create: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: BASE,
        tags: [TAG],
        summary: 'Record an annotation project for a dataset (no backend call; status pending)',
        description:
          'Idempotent by (dataset, backend instance, name): repeating it returns the same project with 200 instead of 201.',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(createProjectInput)
    .output(projectView)
    .mutation(async ({ ctx, input }) => {
      const { project, created } = await ctx.app.annotation.create(input, ctx.principal);
      if (created) ctx.response.status = 201;
      return toProjectView(project);
    }),

  delete: adminProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${BASE}/{project_id}`,
        tags: [TAG],
        summary: 'Delete an annotation project (optionally its backend project too)',
        errorResponses: [400, 401, 403, 404, 502, 503],
      },
    })
    .input(deleteInput)
    .output(deleteOutput)
    .mutation(async ({ ctx, input }) => {
      const { backendDeleted } = await ctx.app.annotation.delete(
        input.project_id,
        input.delete_in_backend,
        ctx.principal,
      );
      return { project_id: input.project_id, deleted: true as const, backend_deleted: backendDeleted };
    }),

  ensure: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${BASE}/ensure`,
        tags: [TAG],
        summary: 'Ensure the backend project exists (create, or adopt by recorded id or title)',
        description:
          'Body `{project_id}` for a recorded project, or `{dataset_id, backend_instance_id, name, label_schema}` to record one first. Idempotent and safe to call concurrently: one backend project per Labeler project. A backend that rejects the token answers BACKEND_AUTH_FAILED with how to fix it.',
        errorResponses: [400, 401, 403, 404, 502, 503, 504],
      },
    })
    .input(ensureInput)
    .output(ensureOutput)
    .mutation(({ ctx, input }) => ctx.app.annotation.ensureFrom(input, ctx.principal)),

  validate: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${BASE}/{project_id}/validate`,
        tags: [TAG],
        summary: 'Does the backend project exist and is it accessible (cached 1 minute)',
        description:
          'Always 200 for a known project: a project deleted in the backend answers `exists: false, status: "not_found"` (the error envelope is reserved for failures).',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byProject)
    .output(validateOutput)
    .query(({ ctx, input }) => ctx.app.annotation.validate(input.project_id, ctx.principal)),

  importTasks: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${BASE}/{project_id}/import-tasks`,
        tags: [TAG],
        summary: 'Import the dataset samples as tasks (job; idempotent, resumable)',
        description: JOB_NOTE,
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(importInput)
    .output(jobOutput)
    .mutation(async ({ ctx, input }) => {
      const result = await ctx.app.annotation.startImport(input.project_id, {
        batchSize: input.batch_size,
        actor: ctx.principal,
      });
      ctx.response.status = 202;
      ctx.response.headers.Location = `/api/v1/jobs/${result.job.id}`;
      return result;
    }),

  pull: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${BASE}/{project_id}/pull`,
        tags: [TAG],
        summary: 'Pull submitted annotations into the dataset (job)',
        description: JOB_NOTE,
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(pullInput)
    .output(jobOutput)
    .mutation(async ({ ctx, input }) => {
      const result = await ctx.app.annotation.startPull(input.project_id, { actor: ctx.principal });
      ctx.response.status = 202;
      ctx.response.headers.Location = `/api/v1/jobs/${result.job.id}`;
      return result;
    }),

  syncTask: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${BASE}/{project_id}/tasks/{task_id}/annotations`,
        tags: [TAG],
        summary: "Pull one task's annotations now",
        description:
          'Applies the pick rule (cancelled never count; ground truth first; else the latest) to one backend task and updates the sample.',
        errorResponses: [400, 401, 403, 404, 409, 502, 503],
      },
    })
    .input(syncOneInput)
    .output(syncOneOutput)
    .mutation(({ ctx, input }) =>
      ctx.app.annotation.syncOne(input.project_id, input.task_id, 'sync-one', ctx.principal),
    ),

  authUrl: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${BASE}/{project_id}/auth-url`,
        tags: [TAG],
        summary: 'A 1-hour launch link that opens the backend project in a new window',
        description:
          "Label Studio has no log-in-by-token URL and no language parameter: the link is Labeler's own signed link, which checks access and redirects to the Label Studio project page (the person signs in to Label Studio once). `locale` stores the caller's language preference for Labeler's UI.",
        errorResponses: [400, 401, 403, 404, 502, 503],
      },
    })
    .input(authUrlInput)
    .output(authUrlOutput)
    .query(({ ctx, input }) => ctx.app.annotation.authUrl(input.project_id, ctx.principal, input.locale)),

  progress: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${BASE}/{project_id}/progress`,
        tags: [TAG],
        summary: 'Annotation progress from the last sync (no backend call)',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byProject)
    .output(progressOutput)
    .query(({ ctx, input }) => ctx.app.annotation.progress(input.project_id, ctx.principal)),
});

export type AnnotationRouter = typeof annotationRouter;
