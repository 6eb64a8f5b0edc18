import { defineEntity, p } from '@mikro-orm/core';

export const DELIVERY_STATES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * Where the Platform wants events. `organizationId` null: platform-wide (every organization's events).
 * The signing secret is kept only encrypted (lib/crypto.ts encryptJson with the server's encryption key).
 */
export const WebhookSubscriptionSchema = defineEntity({
  name: 'WebhookSubscription',
  tableName: 'webhook_subscription',
  indexes: [{ properties: ['organizationId'] }],
  properties: {
    id: p.string().primary(),
    organizationId: p.string().nullable(),
    url: p.text(),
    events: p.json<string[]>(),
    description: p.text().nullable(),
    secretEncrypted: p.text(),
    enabled: p.boolean().default(true),
    disabledReason: p.text().nullable(),
    consecutiveFailures: p.integer().default(0),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class WebhookSubscription extends WebhookSubscriptionSchema.class {}
WebhookSubscriptionSchema.setClass(WebhookSubscription);

/**
 * One event for one subscription: a Standard Webhooks message. Its id is the `webhook-id` header, the same
 * on every attempt and on a manual replay, so receivers can deduplicate.
 */
export const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_delivery',
  indexes: [{ properties: ['subscriptionId', 'createdAt'] }, { properties: ['eventId'] }],
  properties: {
    id: p.string().primary(),
    subscriptionId: p.string(),
    eventId: p.string(),
    eventType: p.string(),
    payload: p.json<Record<string, unknown>>(),
    state: p.enum(DELIVERY_STATES).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().nullable(),
    lastStatus: p.integer().nullable(),
    lastError: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class WebhookDelivery extends WebhookDeliverySchema.class {}
WebhookDeliverySchema.setClass(WebhookDelivery);

/** The delivery log: one row per HTTP attempt (never request headers or the secret). */
export const WebhookAttemptSchema = defineEntity({
  name: 'WebhookAttempt',
  tableName: 'webhook_attempt',
  uniques: [{ properties: ['deliveryId', 'attempt'] }],
  properties: {
    id: p.string().primary(),
    deliveryId: p.string(),
    attempt: p.integer(),
    manual: p.boolean().default(false),
    statusCode: p.integer().nullable(),
    durationMs: p.integer(),
    error: p.text().nullable(),
    responseExcerpt: p.text().nullable(),
    at: p.datetime().onCreate(() => new Date()),
  },
});
export class WebhookAttempt extends WebhookAttemptSchema.class {}
WebhookAttemptSchema.setClass(WebhookAttempt);
