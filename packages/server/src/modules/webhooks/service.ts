import { randomBytes } from 'node:crypto';
import { LabelerError, type Principal } from '@labeler/core';
import { Webhook } from 'standardwebhooks';
import type { AppServices } from '../../app/services.js';
import type { Em } from '../../db/orm.js';
import { decryptJson, encryptJson } from '../../lib/crypto.js';
import { WebhookAttempt, WebhookDelivery, WebhookSubscription } from './entities.js';
import type { WebhookEventInput, WebhookEvents, WebhookEventType } from './events.js';
import { WebhookSender } from './sender.js';
import { jittered, type WebhookSettings } from './settings.js';
import { assertDeliverableUrl } from './url-guard.js';

export const DELIVER_JOB = 'webhook.deliver';

const CLAIM = `with claimed as (
  update "webhook_delivery" set "attempts" = ?, "next_attempt_at" = null, "updated_at" = now()
  where "id" = ? and "attempts" = ? and "state" = 'pending'
  returning "payload", "subscription_id")
select c."payload", c."subscription_id", s."url", s."enabled", s."secret_encrypted"
from claimed c left join "webhook_subscription" s on s."id" = c."subscription_id"`;

const SUCCEEDED = `with logged as (
  insert into "webhook_attempt" ("id", "delivery_id", "attempt", "manual", "status_code", "duration_ms", "error", "response_excerpt", "at")
  values (?, ?, ?, ?, ?, ?, ?, ?, now())),
delivered as (
  update "webhook_delivery" set "state" = 'succeeded', "last_status" = ?, "last_error" = null, "updated_at" = now()
  where "id" = ?)
update "webhook_subscription" set "consecutive_failures" = 0 where "id" = ? and "consecutive_failures" <> 0`;

const hexId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface SubscriptionView {
  id: string;
  organization_id: string | null;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
}

function toView(s: WebhookSubscription): SubscriptionView {
  return {
    id: s.id,
    organization_id: s.organizationId ?? null,
    url: s.url,
    events: s.events as WebhookEventType[],
    description: s.description ?? null,
    enabled: s.enabled,
    disabled_reason: s.disabledReason ?? null,
    consecutive_failures: s.consecutiveFailures,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

function actorOf(principal: Principal | null) {
  return principal ? { type: principal.kind, id: principal.id } : { type: 'system', id: null };
}

/**
 * Outbound webhooks: subscriptions (an organization's admin manages only its organization's), events
 * published inside the change's transaction as one delivery per matching subscription plus its job, and
 * the attempts those jobs make (signed with Standard Webhooks, retried on `retrySchedule`).
 */
export class WebhookService implements WebhookEvents {
  readonly #sender: WebhookSender;

  constructor(
    private readonly app: () => AppServices,
    private readonly settings: WebhookSettings,
  ) {
    this.#sender = new WebhookSender(settings.policy, settings.timeoutMs);
  }

  stop(): void {
    this.#sender.close();
  }

  // ---- events ----

  async publish(em: Em, event: WebhookEventInput): Promise<void> {
    // A delivery row and its job must commit together: never one without the other.
    if (!em.isInTransaction()) return em.transactional((tem) => this.publish(tem, event));
    const orgs = [event.organizationId, event.alsoOrganizationId].filter((o): o is string => Boolean(o));
    const subscriptions = await em.find(WebhookSubscription, {
      enabled: true,
      $or: [{ organizationId: null }, ...(orgs.length ? [{ organizationId: { $in: orgs } }] : [])],
    });
    const targets = subscriptions.filter((s) => s.events.includes(event.type));
    if (!targets.length) return;
    const eventId = hexId('evt');
    const payload = {
      id: eventId,
      type: event.type,
      timestamp: new Date().toISOString(),
      data: { organization_id: event.organizationId, ...event.data, actor: actorOf(event.actor) },
    };
    for (const subscription of targets) {
      const delivery = em.create(WebhookDelivery, {
        id: hexId('msg'),
        subscriptionId: subscription.id,
        eventId,
        eventType: event.type,
        payload,
        nextAttemptAt: new Date(),
      });
      await this.app().jobs.startJob(DELIVER_JOB, { delivery_id: delivery.id, attempt: 1 }, { em });
    }
  }

  // ---- subscriptions ----

  /** An organization's admin sees only its organization's subscriptions; others are NOT_FOUND. */
  async #visible(em: Em, actor: Principal, id: string): Promise<WebhookSubscription> {
    const subscription = await em.findOne(WebhookSubscription, { id });
    if (!subscription || (actor.organizationId && subscription.organizationId !== actor.organizationId))
      throw new LabelerError('NOT_FOUND', `Webhook subscription ${id} not found.`, {
        details: { subscription_id: id },
      });
    return subscription;
  }

  async list(actor: Principal): Promise<SubscriptionView[]> {
    const rows = await this.app()
      .orm.em.fork()
      .find(WebhookSubscription, actor.organizationId ? { organizationId: actor.organizationId } : {}, {
        orderBy: { createdAt: 'asc' },
      });
    return rows.map(toView);
  }

  async get(actor: Principal, id: string): Promise<SubscriptionView> {
    return toView(await this.#visible(this.app().orm.em.fork(), actor, id));
  }

  async create(
    input: {
      url: string;
      events: WebhookEventType[];
      description?: string | null | undefined;
      organization_id?: string | null | undefined;
    },
    actor: Principal,
  ): Promise<SubscriptionView & { secret: string }> {
    const app = this.app();
    if (
      actor.organizationId &&
      input.organization_id !== undefined &&
      input.organization_id !== actor.organizationId
    )
      throw new LabelerError(
        'ACCESS_DENIED',
        "An organization's admin subscribes only to its own organization.",
        {
          details: { organization_id: input.organization_id, reason: 'other_organization' },
        },
      );
    const organizationId = actor.organizationId ?? input.organization_id ?? null;
    if (organizationId) await app.organizations.requireExists(organizationId);
    await assertDeliverableUrl(input.url, this.settings.policy);
    const secret = newSecret();
    const em = app.orm.em.fork();
    const subscription = em.create(WebhookSubscription, {
      id: hexId('wh'),
      organizationId,
      url: input.url,
      events: [...new Set(input.events)],
      description: input.description ?? null,
      secretEncrypted: encryptJson(app.keys.encryption, secret),
      createdBy: actor.id,
    });
    await em.flush();
    await this.#audit(actor, 'webhook.created', subscription, {
      url: input.url,
      events: subscription.events,
    });
    return { ...toView(subscription), secret };
  }

  async update(
    actor: Principal,
    id: string,
    input: {
      url?: string | undefined;
      events?: WebhookEventType[] | undefined;
      description?: string | null | undefined;
      enabled?: boolean | undefined;
    },
  ): Promise<SubscriptionView> {
    const em = this.app().orm.em.fork();
    const subscription = await this.#visible(em, actor, id);
    if (input.url !== undefined) {
      await assertDeliverableUrl(input.url, this.settings.policy);
      subscription.url = input.url;
    }
    if (input.events !== undefined) subscription.events = [...new Set(input.events)];
    if (input.description !== undefined) subscription.description = input.description;
    if (input.enabled === true && !subscription.enabled) {
      subscription.enabled = true;
      subscription.disabledReason = null;
      subscription.consecutiveFailures = 0;
    } else if (input.enabled === false && subscription.enabled) {
      subscription.enabled = false;
      subscription.disabledReason = `disabled by ${actor.name}`;
    }
    await em.flush();
    await this.#audit(actor, 'webhook.updated', subscription, {
      fields: Object.keys(input).filter((k) => input[k as keyof typeof input] !== undefined),
    });
    return toView(subscription);
  }

  async remove(actor: Principal, id: string): Promise<{ deleted: boolean }> {
    const em = this.app().orm.em.fork();
    const subscription = await this.#visible(em, actor, id);
    await em.transactional(async (tem) => {
      await tem.nativeDelete(WebhookSubscription, { id });
      // Queued retries find no subscription and end the delivery as failed; the log stays for the audit.
      await tem.nativeUpdate(
        WebhookDelivery,
        { subscriptionId: id, state: 'pending' },
        { state: 'failed', lastError: 'subscription deleted' },
      );
    });
    await this.#audit(actor, 'webhook.deleted', subscription, {});
    return { deleted: true };
  }

  async rotateSecret(actor: Principal, id: string): Promise<{ id: string; secret: string }> {
    const app = this.app();
    const em = app.orm.em.fork();
    const subscription = await this.#visible(em, actor, id);
    const secret = newSecret();
    subscription.secretEncrypted = encryptJson(app.keys.encryption, secret);
    await em.flush();
    await this.#audit(actor, 'webhook.secret_rotated', subscription, {});
    return { id, secret };
  }

  async deliveries(actor: Principal, id: string, limit: number) {
    const em = this.app().orm.em.fork();
    await this.#visible(em, actor, id);
    const rows = await em.find(
      WebhookDelivery,
      { subscriptionId: id },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit },
    );
    const attempts = await em.find(
      WebhookAttempt,
      { deliveryId: { $in: rows.map((r) => r.id) } },
      { orderBy: { attempt: 'asc' } },
    );
    return rows.map((d) => ({
      id: d.id,
      event_id: d.eventId,
      event_type: d.eventType,
      state: d.state,
      attempts: d.attempts,
      next_attempt_at: d.state === 'pending' && d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
      last_status: d.lastStatus ?? null,
      last_error: d.lastError ?? null,
      payload: d.payload,
      created_at: d.createdAt.toISOString(),
      log: attempts
        .filter((a) => a.deliveryId === d.id)
        .map((a) => ({
          attempt: a.attempt,
          manual: a.manual,
          status_code: a.statusCode ?? null,
          duration_ms: a.durationMs,
          error: a.error ?? null,
          response_excerpt: a.responseExcerpt ?? null,
          at: a.at.toISOString(),
        })),
    }));
  }

  /** Sends a finished delivery again now, as the same message (same webhook-id), once. */
  async replay(actor: Principal, subscriptionId: string, deliveryId: string) {
    const app = this.app();
    const em = app.orm.em.fork();
    const subscription = await this.#visible(em, actor, subscriptionId);
    const delivery = await em.findOne(WebhookDelivery, { id: deliveryId, subscriptionId });
    if (!delivery)
      throw new LabelerError('NOT_FOUND', `Delivery ${deliveryId} not found.`, {
        details: { delivery_id: deliveryId },
      });
    if (!subscription.enabled)
      throw new LabelerError('CONFLICT', 'The subscription is disabled: enable it before replaying.', {
        details: { subscription_id: subscriptionId, reason: 'subscription_disabled' },
      });
    const attempt = delivery.attempts + 1;
    const job = await em.transactional(async (tem) => {
      const reopened = await tem.nativeUpdate(
        WebhookDelivery,
        { id: deliveryId, state: { $ne: 'pending' }, attempts: delivery.attempts },
        { state: 'pending', nextAttemptAt: new Date() },
      );
      if (!reopened)
        throw new LabelerError(
          'CONFLICT',
          'The delivery is still being attempted; replay it once it has ended.',
          {
            details: { delivery_id: deliveryId, reason: 'delivery_pending' },
          },
        );
      return app.jobs.startJob(
        DELIVER_JOB,
        { delivery_id: deliveryId, attempt, manual: true },
        { em: tem, createdBy: actor.id },
      );
    });
    await this.#audit(actor, 'webhook.delivery_replayed', subscription, { delivery_id: deliveryId });
    return { delivery_id: deliveryId, attempt, job_id: job.job.id };
  }

  // ---- delivery ----

  /** One attempt (the job's body). A duplicate run of the same attempt number sends nothing. */
  async attempt(deliveryId: string, attempt: number, manual: boolean): Promise<{ sent: boolean }> {
    const app = this.app();
    const em = app.orm.em.fork();
    // Claim this attempt's number and read what to send in one round trip (the success path is two).
    const [claimed] = (await em.execute(CLAIM, [attempt, deliveryId, attempt - 1])) as Array<{
      payload: Record<string, unknown>;
      subscription_id: string;
      url: string | null;
      enabled: boolean | null;
      secret_encrypted: string | null;
    }>;
    if (!claimed) return { sent: false };
    if (!claimed.enabled || !claimed.url || !claimed.secret_encrypted) {
      await em.nativeUpdate(
        WebhookDelivery,
        { id: deliveryId },
        { state: 'failed', lastError: claimed.url ? 'subscription disabled' : 'subscription deleted' },
      );
      return { sent: false };
    }
    const subscription = { id: claimed.subscription_id, url: claimed.url };
    const secret = decryptJson<string>(app.keys.encryption, claimed.secret_encrypted);
    const body = JSON.stringify(claimed.payload);
    const now = new Date();
    const result = await this.#sender.send(
      subscription.url,
      {
        'webhook-id': deliveryId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(deliveryId, now, body),
      },
      body,
    );
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const error = result.error ?? (ok ? null : `HTTP ${result.statusCode}`);
    const logged = [hexId('wha'), deliveryId, attempt, manual, result.statusCode, result.durationMs, error];
    if (ok) {
      // One statement: the log row, the delivery's state and the subscription's failure count, atomically.
      await em.execute(SUCCEEDED, [
        ...logged,
        result.responseExcerpt,
        result.statusCode,
        deliveryId,
        subscription.id,
      ]);
      return { sent: true };
    }
    await em.transactional(async (tem) => {
      tem.create(WebhookAttempt, {
        id: hexId('wha'),
        deliveryId,
        attempt,
        manual,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
        error,
        responseExcerpt: result.responseExcerpt,
      });
      const [counted] = (await tem.execute(
        `update "webhook_subscription" set "consecutive_failures" = "consecutive_failures" + 1 where "id" = ? returning "consecutive_failures" as n`,
        [subscription.id],
      )) as Array<{ n: number }>;
      const failures = counted?.n ?? 0;
      const reason =
        result.statusCode === 410
          ? 'the endpoint answered 410 Gone'
          : failures >= this.settings.disableAfterFailures
            ? `${failures} failed attempts in a row (last: ${error})`
            : null;
      if (reason)
        await tem.nativeUpdate(
          WebhookSubscription,
          { id: subscription.id, enabled: true },
          { enabled: false, disabledReason: reason },
        );
      const delay = !reason && !manual ? this.settings.retrySchedule[attempt - 1] : undefined;
      if (delay === undefined) {
        await tem.nativeUpdate(
          WebhookDelivery,
          { id: deliveryId },
          { state: 'failed', lastStatus: result.statusCode, lastError: error },
        );
        return;
      }
      const wait = jittered(delay);
      await tem.nativeUpdate(
        WebhookDelivery,
        { id: deliveryId },
        {
          lastStatus: result.statusCode,
          lastError: error,
          nextAttemptAt: new Date(Date.now() + wait * 1000),
        },
      );
      await app.jobs.startJob(
        DELIVER_JOB,
        { delivery_id: deliveryId, attempt: attempt + 1 },
        { em: tem, startAfterSeconds: wait },
      );
    });
    return { sent: true };
  }

  async #audit(actor: Principal, action: string, s: WebhookSubscription, details: Record<string, unknown>) {
    await this.app().audit.record({
      actor,
      action,
      targetType: 'webhook_subscription',
      targetId: s.id,
      organizationId: s.organizationId ?? null,
      details,
    });
  }
}
