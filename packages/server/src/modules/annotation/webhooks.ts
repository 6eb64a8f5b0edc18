/**
 * Label Studio webhooks are unsigned, sent once with a 1 s timeout and never retried (reference §10).
 * Each project's webhook carries a shared secret in a custom header (derived from the server key and the
 * project id, so nothing secret is stored); the receiver compares it in constant time, answers 200 at
 * once and does the work in a deduplicated job. Missed events are caught by the periodic reconcile.
 */
import { isLabelerError, LabelerError, projectIdSchema, toLabelerError } from '@labeler/core';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../../app/services.js';
import { sendError } from '../../http/envelope.js';
import { safeEqual } from '../../lib/crypto.js';
import { AnnotationProject } from './entities.js';
import { type WebhookBody, webhookBodySchema } from './schemas.js';
import { derivedSecret } from './signing.js';

export const WEBHOOK_PATH = '/webhooks/annotation';
/** Header names Label Studio accepts: ^[a-zA-Z0-9-_]+$. */
export const WEBHOOK_SECRET_HEADER = 'X-Labeler-Webhook-Secret';
export const WEBHOOK_EVENTS = [
  'ANNOTATION_CREATED',
  'ANNOTATIONS_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATIONS_DELETED',
  'TASKS_DELETED',
] as const;
/** Events about one annotation of one task: a single-task sync is enough. */
const SINGLE_TASK = new Set(['ANNOTATION_CREATED', 'ANNOTATION_UPDATED']);

export function webhookSecret(app: AppServices, projectId: string): string {
  return derivedSecret(app.keys.signing, 'annotation-webhook', projectId);
}

export function webhookUrl(app: AppServices, projectId: string): string {
  return `${app.config.publicUrl}${WEBHOOK_PATH}/${encodeURIComponent(projectId)}`;
}

const unauthenticated = () =>
  new LabelerError('UNAUTHENTICATED', `Missing or wrong ${WEBHOOK_SECRET_HEADER} header.`);

/** What a delivery asks for: one task's sync, a full pull, or nothing. */
export function planFor(
  body: WebhookBody,
): { kind: 'task'; taskId: string } | { kind: 'pull' } | { kind: 'none' } {
  if (SINGLE_TASK.has(body.action)) {
    const taskId = body.task?.id ?? body.annotation?.task;
    return taskId ? { kind: 'task', taskId } : { kind: 'pull' };
  }
  if (body.action.startsWith('ANNOTATION') || body.action.startsWith('TASKS')) return { kind: 'pull' };
  return { kind: 'none' };
}

async function dispatch(app: AppServices, projectId: string, body: WebhookBody): Promise<void> {
  const project = await app.orm.em.fork().findOne(AnnotationProject, { id: projectId });
  if (!project?.externalId) return;
  if (body.project && body.project.id !== project.externalId) {
    app.logger.warn(
      { project_id: projectId, sent_for: body.project.id },
      'webhook for another backend project ignored',
    );
    return;
  }
  app.annotation.invalidate(projectId);
  const plan = planFor(body);
  if (plan.kind === 'task') await app.annotation.startSyncTask(projectId, plan.taskId, 'webhook');
  else if (plan.kind === 'pull') await app.annotation.startPull(projectId, { actor: null });
}

export function webhookRouter(app: AppServices): Router {
  const router = express.Router();
  const verify = (req: Request, _res: Response, next: NextFunction) => {
    const projectId = String(req.params.projectId ?? '');
    const sent = req.header(WEBHOOK_SECRET_HEADER) ?? '';
    // The secret is derived, so an unknown project id simply never matches.
    if (!projectIdSchema.safeParse(projectId).success || !safeEqual(sent, webhookSecret(app, projectId)))
      return next(unauthenticated());
    next();
  };
  router.post('/:projectId', verify, express.json({ limit: '5mb', type: () => true }), (req, res) => {
    const projectId = req.params.projectId as string;
    const parsed = webhookBodySchema.safeParse(req.body);
    if (!parsed.success) {
      sendError(
        res,
        new LabelerError('VALIDATION_ERROR', 'The webhook body is not a Label Studio webhook payload.', {
          details: {
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        }),
        String(req.id),
      );
      return;
    }
    // Acknowledge first: Label Studio waits at most 1 s and never retries.
    res.status(200).json({ received: true, action: parsed.data.action });
    void dispatch(app, projectId, parsed.data).catch((error: unknown) => {
      app.logger.warn(
        {
          project_id: projectId,
          action: parsed.data.action,
          err: isLabelerError(error) ? error.message : String(error),
        },
        'webhook follow-up failed; the reconcile will catch up',
      );
    });
  });
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string };
    const error = isLabelerError(err)
      ? err
      : e?.type === 'entity.parse.failed'
        ? new LabelerError('VALIDATION_ERROR', 'The webhook body is not valid JSON.')
        : e?.type === 'entity.too.large'
          ? new LabelerError('PAYLOAD_TOO_LARGE', 'The webhook body is too large.')
          : toLabelerError(err);
    sendError(res, error, String(req.id));
  });
  return router;
}
