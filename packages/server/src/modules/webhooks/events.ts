import type { Principal } from '@labeler/core';
import type { Em } from '../../db/orm.js';

/** The event types a subscription can ask for; payloads are documented in the server README ("Webhooks"). */
export const WEBHOOK_EVENT_TYPES = [
  'dataset.created',
  'dataset.updated',
  'dataset.deleted',
  'dataset.version.created',
  'dataset.permission.changed',
  'membership.changed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEventInput {
  type: WebhookEventType;
  /** The organization the change belongs to (null: none); its subscriptions and platform-wide ones receive it. */
  organizationId: string | null;
  /** Also deliver to this organization's subscriptions (a dataset moved away from it). */
  alsoOrganizationId?: string | null;
  actor: Principal | null;
  data: Record<string, unknown>;
}

/**
 * What the datasets and organizations services are given (from the composition root): publishing inside
 * the caller's transaction, so an event exists exactly when its change commits.
 */
export interface WebhookEvents {
  publish(em: Em, event: WebhookEventInput): Promise<void>;
}

/** For services built without webhooks (tests constructing a service by hand). */
export const NO_WEBHOOK_EVENTS: WebhookEvents = { publish: async () => undefined };
