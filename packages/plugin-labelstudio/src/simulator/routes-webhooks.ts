/** Webhooks: CRUD plus delivery (unsigned, custom headers, 1 s timeout, no retry; reference §10). */
import type { SimContext } from './context.js';
import { notFound, route, validationError, type Route } from './http.js';
import type { SimWebhook, WebhookEmitter } from './state.js';

export const WEBHOOK_ACTIONS: Record<
  string,
  { name: string; description: string; 'organization-only': boolean }
> = {
  PROJECT_CREATED: { name: 'Project created', description: '', 'organization-only': true },
  PROJECT_UPDATED: { name: 'Project updated', description: '', 'organization-only': false },
  PROJECT_DELETED: { name: 'Project deleted', description: '', 'organization-only': true },
  TASKS_CREATED: { name: 'Task created', description: '', 'organization-only': false },
  TASKS_DELETED: { name: 'Task deleted', description: '', 'organization-only': false },
  ANNOTATION_CREATED: { name: 'Annotation created', description: '', 'organization-only': false },
  ANNOTATIONS_CREATED: { name: 'Annotations created', description: '', 'organization-only': false },
  ANNOTATION_UPDATED: { name: 'Annotation updated', description: '', 'organization-only': false },
  ANNOTATIONS_DELETED: { name: 'Annotation deleted', description: '', 'organization-only': false },
};

const HEADER_NAME = /^[a-zA-Z0-9-_]+$/;

function checkBody(body: Record<string, unknown>, partial: boolean): void {
  if (!partial || 'url' in body) {
    // Django's URLValidator: a port has 2–5 digits (http://127.0.0.1:9/ is "not a valid URL").
    if (typeof body.url !== 'string' || !/^https?:\/\/[^/:?#]+(:\d{2,5})?([/?#]|$)/.test(body.url))
      throw validationError({ url: ['Enter a valid URL.'] });
    if (body.url.length > 2048)
      throw validationError({ url: ['Ensure this field has no more than 2048 characters.'] });
  }
  if ('headers' in body) {
    const headers = body.headers;
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
      throw validationError({ headers: ['Headers must be a dict'] });
    const entries = Object.entries(headers);
    if (entries.length > 10)
      throw validationError({ headers: ['Number of headers must be less than or equal to 10'] });
    for (const [name, value] of entries) {
      if (!HEADER_NAME.test(name))
        throw validationError({ headers: [`Key ${name} must consist only of a-z, 0-9, - and _`] });
      if (typeof value !== 'string')
        throw validationError({ headers: [`Value of ${name} must be a string`] });
    }
  }
  if (
    'actions' in body &&
    (!Array.isArray(body.actions) ||
      body.actions.some((a) => typeof a !== 'string' || !(a in WEBHOOK_ACTIONS)))
  ) {
    throw validationError({ actions: ['Unknown action'] });
  }
}

function serialize(w: SimWebhook): Record<string, unknown> {
  return { ...w, organization: 1 };
}

/** Delivers synchronously (the caller awaits, as LS does in the request thread), swallowing failures. */
export function createWebhookEmitter(ctx: SimContext): WebhookEmitter {
  const { state } = ctx;
  return async (projectId, action, extra) => {
    const hooks = [...state.webhooks.values()].filter(
      (w) =>
        w.is_active &&
        (w.project === null || w.project === projectId) &&
        (w.send_for_all_actions || w.actions.includes(action)),
    );
    if (hooks.length === 0) return;
    const project = projectId === null ? undefined : state.projects.get(projectId);
    const full: Record<string, unknown> = {
      action,
      ...(project ? { project: state.serializeProject(project) } : {}),
      ...extra,
    };
    await Promise.all(
      hooks.map(async (hook) => {
        const payload = hook.send_payload ? full : { action };
        const headers = { 'content-type': 'application/json', ...hook.headers };
        const delivery = {
          webhookId: hook.id,
          url: hook.url,
          action,
          headers,
          payload,
          status: null as number | null,
          error: null as string | null,
        };
        try {
          const res = await fetch(hook.url, {
            method: 'POST',
            headers,
            body: JSON.stringify(payload),
            signal: AbortSignal.timeout(ctx.webhookTimeoutMs),
          });
          delivery.status = res.status;
          await res.arrayBuffer().catch(() => undefined);
        } catch (error) {
          delivery.error = error instanceof Error ? error.message : String(error);
        }
        state.webhookDeliveries.push(delivery);
      }),
    );
  };
}

export function webhookRoutes(ctx: SimContext): Route[] {
  const { state } = ctx;
  const find = (id: string | undefined): SimWebhook => {
    const hook = state.webhooks.get(Number(id));
    if (!hook) throw notFound();
    return hook;
  };
  return [
    route('GET', '/api/webhooks/info', 'none', (req) => {
      const orgOnly = req.query.get('organization-only');
      const entries = Object.entries(WEBHOOK_ACTIONS).filter(
        ([, v]) => orgOnly === null || String(v['organization-only']) === orgOnly,
      );
      return { status: 200, json: Object.fromEntries(entries.map(([key, v]) => [key, { ...v, key }])) };
    }),
    route('GET', '/api/webhooks', 'required', (req) => {
      const project = req.query.get('project');
      const list = [...state.webhooks.values()].filter(
        (w) => project === null || w.project === Number(project),
      );
      return { status: 200, json: list.map(serialize) };
    }),
    route('POST', '/api/webhooks', 'required', (req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      // `project` is required in current LSO; missing or foreign → 404.
      if (!state.projects.has(Number(body.project))) throw notFound('Project not found.');
      checkBody(body, false);
      const now = new Date().toISOString();
      const hook: SimWebhook = {
        id: state.nextId('webhook'),
        project: Number(body.project),
        url: String(body.url),
        send_payload: body.send_payload !== false,
        send_for_all_actions: body.send_for_all_actions !== false,
        headers: (body.headers as Record<string, string> | undefined) ?? {},
        is_active: body.is_active !== false,
        actions: (body.actions as string[] | undefined) ?? [],
        created_at: now,
        updated_at: now,
      };
      state.webhooks.set(hook.id, hook);
      return { status: 201, json: serialize(hook) };
    }),
    route('GET', '/api/webhooks/:id', 'required', (req) => ({
      status: 200,
      json: serialize(find(req.params.id)),
    })),
    route('PATCH', '/api/webhooks/:id', 'required', (req) => {
      const hook = find(req.params.id);
      const body = (req.body ?? {}) as Record<string, unknown>;
      checkBody(body, true);
      if (typeof body.url === 'string') hook.url = body.url;
      if (typeof body.send_payload === 'boolean') hook.send_payload = body.send_payload;
      if (typeof body.send_for_all_actions === 'boolean')
        hook.send_for_all_actions = body.send_for_all_actions;
      if (typeof body.is_active === 'boolean') hook.is_active = body.is_active;
      if (body.headers) hook.headers = body.headers as Record<string, string>;
      if (Array.isArray(body.actions)) hook.actions = body.actions as string[];
      hook.updated_at = new Date().toISOString();
      return { status: 200, json: serialize(hook) };
    }),
    route('DELETE', '/api/webhooks/:id', 'required', (req) => {
      find(req.params.id);
      state.webhooks.delete(Number(req.params.id));
      return { status: 204 };
    }),
  ];
}
