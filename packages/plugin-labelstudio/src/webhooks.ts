/** Webhooks, idempotent by URL within the project; headers/events are brought up to date on reuse. */
import { LabelerError, type WebhookSetup } from '@labeler/core';
import { findOrCreate } from './find-or-create.js';
import type { LabelStudioClient } from './http.js';
import { webhookSchema } from './schemas.js';
import { lsPath } from './routes.js';

const sameHeaders = (a: Record<string, unknown>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

export async function registerWebhook(
  client: LabelStudioClient,
  setup: WebhookSetup,
): Promise<{ webhookId: string; created: boolean }> {
  // Current Community requires a project on every webhook (404 "Project not found." otherwise).
  if (!setup.projectExternalId || !/^\d+$/.test(setup.projectExternalId)) {
    throw new LabelerError(
      'BACKEND_REJECTED',
      'Label Studio webhooks belong to a project: pass projectExternalId.',
      { details: { url: setup.url } },
    );
  }
  const project = setup.projectExternalId;
  const desired = {
    headers: setup.headers,
    actions: setup.events,
    send_for_all_actions: setup.events.length === 0,
    send_payload: true,
    is_active: true,
  };
  const { value, created } = await findOrCreate({
    find: async () =>
      (await client.request('GET', lsPath('webhooks'), webhookSchema.array(), { query: { project } })).find(
        (w) => w.url === setup.url,
      ) ?? null,
    create: () =>
      client.request('POST', lsPath('webhooks'), webhookSchema, {
        body: { url: setup.url, project: Number(project), ...desired },
      }),
    pause: (attempt) => client.pause(attempt),
  });
  const current = value.actions ?? [];
  const upToDate =
    sameHeaders(value.headers ?? {}, setup.headers) &&
    current.length === setup.events.length &&
    setup.events.every((e) => current.includes(e)) &&
    value.is_active !== false;
  if (!created && !upToDate)
    await client.request('PATCH', lsPath('webhook', { id: value.id }), webhookSchema, { body: desired });
  return { webhookId: String(value.id), created };
}
