import { z } from 'zod';
import { adminProcedure, router } from '../../trpc/init.js';
import { DELIVERY_STATES } from './entities.js';
import { WEBHOOK_EVENT_TYPES } from './events.js';

const TAG = 'Webhooks';
const subscriptionId = z.string().regex(/^wh_[a-f0-9]{16}$/, 'must look like wh_<16 hex>');
const deliveryId = z.string().regex(/^msg_[a-f0-9]{16}$/, 'must look like msg_<16 hex>');
const events = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
const url = z.string().trim().min(1).max(2000).describe('http(s) endpoint receiving signed POSTs');
const description = z.string().trim().max(500).nullable();

const subscriptionView = z.object({
  id: z.string(),
  organization_id: z
    .string()
    .nullable()
    .describe('null: platform-wide (receives every organization’s events)'),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  consecutive_failures: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});

const attemptView = z.object({
  attempt: z.number(),
  manual: z.boolean(),
  status_code: z.number().nullable(),
  duration_ms: z.number(),
  error: z.string().nullable(),
  response_excerpt: z.string().nullable(),
  at: z.string(),
});

const deliveryView = z.object({
  id: z.string().describe('the webhook-id header: the same on every attempt and on a replay'),
  event_id: z.string(),
  event_type: z.string(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number(),
  next_attempt_at: z.string().nullable(),
  last_status: z.number().nullable(),
  last_error: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  log: z.array(attemptView),
});

const byId = z.object({ subscription_id: subscriptionId });

/** Admin-only; an organization's admin sees and manages only its organization's subscriptions. */
export const webhooksRouter = router({
  list: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/webhooks',
        tags: [TAG],
        summary: 'List webhook subscriptions',
        errorResponses: [401, 403],
      },
    })
    .input(z.object({}).optional())
    .output(z.object({ subscriptions: z.array(subscriptionView) }))
    .query(async ({ ctx }) => ({ subscriptions: await ctx.app.webhooks.list(ctx.principal) })),

  create: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/webhooks',
        tags: [TAG],
        summary: 'Subscribe a URL to events; returns the signing secret once',
        description:
          "The secret (`whsec_…`, Standard Webhooks) is shown only here and on rotation; it is stored encrypted. An organization's admin subscribes its own organization; a platform-wide admin may name one (`organization_id`) or none (every organization's events). In production a URL resolving to a private address is refused (400) unless LABELER_WEBHOOK_ALLOW_PRIVATE permits it.",
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(
      z.object({
        url,
        events,
        description: description.optional(),
        organization_id: z.string().min(1).max(64).nullable().optional(),
      }),
    )
    .output(subscriptionView.extend({ secret: z.string().describe('Shown once: store it now.') }))
    .mutation(async ({ ctx, input }) => {
      ctx.response.status = 201;
      return ctx.app.webhooks.create(input, ctx.principal);
    }),

  get: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/webhooks/{subscription_id}',
        tags: [TAG],
        summary: 'One subscription',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(subscriptionView)
    .query(({ ctx, input }) => ctx.app.webhooks.get(ctx.principal, input.subscription_id)),

  update: adminProcedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/webhooks/{subscription_id}',
        tags: [TAG],
        summary: 'Change URL, events, description; enable (resets the failure count) or disable',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(
      byId.extend({
        url: url.optional(),
        events: events.optional(),
        description: description.optional(),
        enabled: z.boolean().optional(),
      }),
    )
    .output(subscriptionView)
    .mutation(({ ctx, input }) => {
      const { subscription_id, ...changes } = input;
      return ctx.app.webhooks.update(ctx.principal, subscription_id, changes);
    }),

  delete: adminProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/webhooks/{subscription_id}',
        tags: [TAG],
        summary: 'Delete a subscription',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(z.object({ deleted: z.boolean() }))
    .mutation(({ ctx, input }) => ctx.app.webhooks.remove(ctx.principal, input.subscription_id)),

  rotateSecret: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/webhooks/{subscription_id}/rotate-secret',
        tags: [TAG],
        summary: 'Replace the signing secret; returns the new one once',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId)
    .output(z.object({ id: z.string(), secret: z.string() }))
    .mutation(({ ctx, input }) => ctx.app.webhooks.rotateSecret(ctx.principal, input.subscription_id)),

  deliveries: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/webhooks/{subscription_id}/deliveries',
        tags: [TAG],
        summary: 'Recent deliveries, newest first, each with its attempt log',
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byId.extend({ limit: z.coerce.number().int().min(1).max(200).default(50) }))
    .output(z.object({ deliveries: z.array(deliveryView) }))
    .query(async ({ ctx, input }) => ({
      deliveries: await ctx.app.webhooks.deliveries(ctx.principal, input.subscription_id, input.limit),
    })),

  replay: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/webhooks/{subscription_id}/deliveries/{delivery_id}/replay',
        tags: [TAG],
        summary: 'Send a finished delivery again (same webhook-id), once',
        description:
          '409 CONFLICT while the delivery is still being retried, or when the subscription is disabled.',
        errorResponses: [400, 401, 403, 404, 409],
      },
    })
    .input(byId.extend({ delivery_id: deliveryId }))
    .output(z.object({ delivery_id: z.string(), attempt: z.number(), job_id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      ctx.response.status = 202;
      return ctx.app.webhooks.replay(ctx.principal, input.subscription_id, input.delivery_id);
    }),
});
