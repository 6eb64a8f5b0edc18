import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import type { JobDefinition } from '../../jobs/types.js';
import { DELIVER_JOB } from './service.js';

const payloadSchema = z.object({
  delivery_id: z.string().max(64),
  attempt: z.number().int().min(1),
  manual: z.boolean().optional(),
});

/**
 * One job per attempt: the retry schedule is the webhook's own (up to hours apart), not the job runtime's
 * backoff, so the next attempt is a new job enqueued, with its delay, in the transaction that logs this one.
 */
export function webhookJobs(app: () => AppServices): JobDefinition[] {
  const deliver: JobDefinition<z.infer<typeof payloadSchema>, { sent: boolean }> = {
    kind: DELIVER_JOB,
    queue: 'default',
    payloadSchema,
    timeoutSeconds: Math.ceil(app().config.LABELER_WEBHOOK_TIMEOUT_MS / 1000) + 30,
    dedupKey: (p) => `webhook:${p.delivery_id}:${p.attempt}`,
    run: ({ payload }) =>
      app().webhooks.attempt(payload.delivery_id, payload.attempt, payload.manual ?? false),
  };
  return [deliver as unknown as JobDefinition];
}
