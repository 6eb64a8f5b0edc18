import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDelivery } from '../src/modules/webhooks/entities.js';
import { WEBHOOK_EVENT_TYPES } from '../src/modules/webhooks/events.js';
import { WebhookSender } from '../src/modules/webhooks/sender.js';
import { assertDeliverableUrl, urlPolicyOf } from '../src/modules/webhooks/url-guard.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import {
  createDataset,
  createOrganization,
  createOrgServiceAccount,
  expectEnvelope,
  SYSTEM_ACTOR,
} from './helpers.js';

interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
  /** Arrival (ms since the epoch). */
  at: number;
}

/** A local endpoint: `answer(id, nth)` decides the status of the nth request (1-based) carrying a webhook-id. */
class Receiver {
  readonly received: Received[] = [];
  server: Server | null = null;
  port = 0;
  constructor(public answer: (id: string, nth: number) => number = () => 200) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        const nth = this.received.filter((r) => r.id === id).length + 1;
        const status = this.answer(id, nth);
        this.received.push({
          id,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          answered: status,
          at: Date.now(),
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`answer ${status}? '$1' \\`);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  events(): Array<{ id: string; type: string; data: Record<string, unknown> }> {
    return this.received.map((r) => JSON.parse(r.body));
  }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface SubscriptionAnswer {
  id: string;
  secret: string;
  enabled: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
}
interface DeliveryAnswer {
  id: string;
  state: string;
  attempts: number;
  payload: { data: Record<string, unknown> };
  log: Array<{
    attempt: number;
    manual: boolean;
    status_code: number | null;
    error: string | null;
    response_excerpt: string | null;
  }>;
}

describe('outbound webhooks', () => {
  let server: TestServer;
  const receivers: Receiver[] = [];

  const receiver = async (answer?: (id: string, nth: number) => number) => {
    const r = await new Receiver(answer).start();
    receivers.push(r);
    return r;
  };

  const subscribe = async (url: string, events: readonly string[], extra: Record<string, unknown> = {}) => {
    const res = await server.request('/api/v1/webhooks', { method: 'POST', body: { url, events, ...extra } });
    expect(res.status, res.text).toBe(201);
    return res.body as SubscriptionAnswer;
  };

  const deliveries = async (subscriptionId: string) => {
    const res = await server.request(`/api/v1/webhooks/${subscriptionId}/deliveries`);
    expect(res.status, res.text).toBe(200);
    return (res.body as { deliveries: DeliveryAnswer[] }).deliveries;
  };

  const subscription = async (id: string) =>
    (await server.request(`/api/v1/webhooks/${id}`)).body as SubscriptionAnswer;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        LABELER_WEBHOOK_RETRY_SCHEDULE: '2,2,2,2',
        LABELER_WEBHOOK_DISABLE_AFTER_FAILURES: '3',
        LABELER_WEBHOOK_TIMEOUT_MS: '3000',
      },
    });
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await server?.stop();
  });

  it('delivers every event type, each verified with the standardwebhooks library', async () => {
    const r = await receiver();
    const sub = await subscribe(r.url, WEBHOOK_EVENT_TYPES);
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    // The secret is stored encrypted, never as given.
    const [row] = (await server.services.orm.em
      .fork()
      .execute(`select secret_encrypted from webhook_subscription where id = ?`, [sub.id])) as Array<{
      secret_encrypted: string;
    }>;
    expect(row?.secret_encrypted).not.toContain(sub.secret.slice(6));
    expect((await server.request(`/api/v1/webhooks/${sub.id}`)).text).not.toContain(sub.secret.slice(6));

    const org = await createOrganization(server, 'wh-org');
    const dataset = await createDataset(server, { name: 'wh-all', organization_id: org });
    const patched = await server.request(`/api/v1/datasets/${dataset.id}`, {
      method: 'PATCH',
      body: { name: 'wh-all-renamed', class_names: ['cat'] },
    });
    expect(patched.status, patched.text).toBe(200);
    await server.services.datasets.grant(dataset.id, 42, 'viewer', SYSTEM_ACTOR);
    await server.services.datasets.revokePermission(dataset.id, 42, SYSTEM_ACTOR);
    await server.services.organizations.setMember(org, 7, 'member', SYSTEM_ACTOR);
    await server.services.organizations.removeMember(org, 7, SYSTEM_ACTOR);
    expect(
      (await server.request(`/api/v1/datasets/${dataset.id}`, { method: 'DELETE' })).status,
    ).toBeLessThan(300);

    // created, version 1, updated, version 2, granted, revoked, member set, member removed, deleted
    await until('9 events', () => r.received.length >= 9 || undefined);
    const hook = new Webhook(sub.secret);
    for (const message of r.received) {
      expect(() => hook.verify(message.body, message.headers as Record<string, string>)).not.toThrow();
      expect(message.headers['webhook-id']).toMatch(/^msg_[a-f0-9]{16}$/);
    }
    // A tampered body does not verify: the check above can fail.
    const first = r.received[0];
    expect(() => hook.verify(`${first?.body} `, first?.headers as Record<string, string>)).toThrow();
    const events = r.events();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(WEBHOOK_EVENT_TYPES));
    const updated = events.find((e) => e.type === 'dataset.updated');
    expect(updated?.data).toMatchObject({
      dataset_id: dataset.id,
      organization_id: org,
      changed_fields: ['name', 'class_names'],
      actor: { type: 'service_account' },
    });
    expect(
      events
        .filter((e) => e.type === 'dataset.permission.changed')
        .map((e) => e.data.change)
        .sort(),
    ).toEqual(['granted', 'revoked']);
    expect(events.filter((e) => e.type === 'membership.changed').map((e) => e.data.role)).toContain('member');
    expect(new Set(r.received.map((m) => m.id)).size).toBe(9);
  });

  it('an organization-scoped subscription receives only its organization’s events', async () => {
    const own = await createOrganization(server, 'wh-own');
    const other = await createOrganization(server, 'wh-other');
    const r = await receiver();
    const sub = await subscribe(r.url, ['membership.changed'], { organization_id: own });
    await server.services.organizations.setMember(other, 8, 'member', SYSTEM_ACTOR);
    await server.services.organizations.setMember(own, 9, 'admin', SYSTEM_ACTOR);
    const [only] = await until('own delivery', async () => {
      const d = await deliveries(sub.id);
      return d.length && d.every((x) => x.state === 'succeeded') ? d : undefined;
    });
    expect((await deliveries(sub.id)).length).toBe(1);
    expect(only?.payload.data).toMatchObject({ organization_id: own, user_id: 9 });
    expect(r.events().map((e) => e.data.user_id)).toEqual([9]);
  });

  it('receiver answering 503, or closed, then back: delivered after backoff exactly once, every attempt logged', async () => {
    const flaky = await receiver((_id, nth) => (nth <= 2 ? 503 : 200));
    const closed = await receiver();
    const closedPort = closed.port;
    await closed.close();
    const subFlaky = await subscribe(flaky.url, ['dataset.deleted']);
    const subClosed = await subscribe(`http://127.0.0.1:${closedPort}/hook`, ['dataset.deleted']);
    const dataset = await createDataset(server, { name: 'wh-backoff' });
    expect(
      (await server.request(`/api/v1/datasets/${dataset.id}`, { method: 'DELETE' })).status,
    ).toBeLessThan(300);

    // The closed receiver refuses the first attempt; it comes back on the same port.
    await until(
      'a refused attempt',
      async () => (await deliveries(subClosed.id))[0]?.log.length || undefined,
    );
    await closed.start(closedPort);

    const done = async (id: string) => {
      const [d] = await deliveries(id);
      return d?.state === 'succeeded' ? d : undefined;
    };
    const flakyDelivery = await until('flaky delivery', () => done(subFlaky.id));
    const closedDelivery = await until('closed delivery', () => done(subClosed.id));

    expect(flakyDelivery.log.map((a) => a.status_code)).toEqual([503, 503, 200]);
    expect(flakyDelivery.log.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(flakyDelivery.log[0]?.error).toBe('HTTP 503');
    // The answer's first bytes are kept as they came (quotes, placeholders and backslashes too).
    expect(flakyDelivery.log.map((x) => x.response_excerpt)).toEqual([
      "answer 503? '$1' \\",
      "answer 503? '$1' \\",
      "answer 200? '$1' \\",
    ]);
    expect(closedDelivery.log.at(-1)?.status_code).toBe(200);
    expect(closedDelivery.log[0]?.status_code).toBeNull();
    expect(closedDelivery.log[0]?.error).toMatch(/ECONNREFUSED/);
    // Exactly once: one 2xx per webhook-id, every try carrying the same id.
    for (const r of [flaky, closed]) {
      const succeeded = r.received.filter((m) => m.answered === 200).map((m) => m.id);
      expect(succeeded).toHaveLength(1);
      expect(new Set(r.received.map((m) => m.id)).size).toBe(1);
    }
    expect(flaky.received).toHaveLength(3);
    // Each retry waited for its turn in the schedule (2 s, at least 1.6 s with jitter), a lower bound only.
    const arrivals = flaky.received.map((m) => m.at);
    for (let i = 1; i < arrivals.length; i++)
      expect((arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0)).toBeGreaterThanOrEqual(1500);
    expect((await subscription(subFlaky.id)).consecutive_failures).toBe(0);
  });

  it('disables after N failures in a row, is re-enabled, and a delivery is replayed by hand', async () => {
    let status = 500;
    const r = await receiver(() => status);
    const sub = await subscribe(r.url, ['dataset.created']);
    await createDataset(server, { name: 'wh-disable' });
    const disabled = await until('disabled', async () => {
      const s = await subscription(sub.id);
      return s.enabled ? undefined : s;
    });
    expect(disabled.disabled_reason).toMatch(/3 failed attempts in a row/);
    const [failed] = await until('failed delivery', async () => {
      const d = await deliveries(sub.id);
      return d[0]?.state === 'failed' ? d : undefined;
    });
    // The third failure disabled it: no fourth attempt was scheduled (the schedule allows five).
    expect(failed?.attempts).toBe(3);
    expect(failed?.log.map((a) => a.status_code)).toEqual([500, 500, 500]);
    expect(r.received).toHaveLength(3);

    const refused = await server.request(`/api/v1/webhooks/${sub.id}/deliveries/${failed?.id}/replay`, {
      method: 'POST',
    });
    expectEnvelope(refused.body, 'CONFLICT');

    const enabled = await server.request(`/api/v1/webhooks/${sub.id}`, {
      method: 'PATCH',
      body: { enabled: true },
    });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null, consecutive_failures: 0 });
    status = 200;
    const replay = await server.request(`/api/v1/webhooks/${sub.id}/deliveries/${failed?.id}/replay`, {
      method: 'POST',
    });
    expect(replay.status, replay.text).toBe(202);
    const replayed = await until('replayed', async () => {
      const [d] = await deliveries(sub.id);
      return d?.state === 'succeeded' ? d : undefined;
    });
    expect(replayed.log.map((a) => [a.attempt, a.manual, a.status_code])).toEqual([
      [1, false, 500],
      [2, false, 500],
      [3, false, 500],
      [4, true, 200],
    ]);
    expect(r.received.map((m) => m.id)).toEqual(Array(4).fill(failed?.id));
    const again = await server.request(`/api/v1/webhooks/${sub.id}/deliveries/${failed?.id}/replay`, {
      method: 'POST',
    });
    expect(again.status).toBe(202);
    await until('second replay', () => (r.received.length === 5 ? true : undefined));
  });

  it('410 Gone disables the subscription at once', async () => {
    const r = await receiver(() => 410);
    const sub = await subscribe(r.url, ['dataset.created']);
    await createDataset(server, { name: 'wh-gone' });
    const s = await until('disabled', async () => {
      const x = await subscription(sub.id);
      return x.enabled ? undefined : x;
    });
    expect(s.disabled_reason).toMatch(/410/);
    const [d] = await until('failed', async () => {
      const x = await deliveries(sub.id);
      return x[0]?.state === 'failed' ? x : undefined;
    });
    expect(d?.attempts).toBe(1);
    expect(r.received).toHaveLength(1);
  });

  it('an event is not sent when its transaction rolls back', async () => {
    const r = await receiver();
    const sub = await subscribe(r.url, ['dataset.version.created']);
    const dataset = await createDataset(server, { name: 'wh-rollback' });
    await expect(
      server.services.orm.em.fork().transactional(async (tem) => {
        await server.services.datasets.createVersion(dataset.id, SYSTEM_ACTOR, 'rolled back', tem);
        throw new Error('abort the change');
      }),
    ).rejects.toThrow('abort the change');
    await server.services.datasets.createVersion(dataset.id, SYSTEM_ACTOR, 'committed');
    await until('committed version event', () =>
      r.events().some((e) => e.data.note === 'committed') ? true : undefined,
    );
    const rows = await server.services.orm.em.fork().find(WebhookDelivery, { subscriptionId: sub.id });
    expect(rows.map((d) => (d.payload.data as { note: string | null }).note).sort()).toEqual([
      'committed',
      'initial version',
    ]);
    const jobs = (await server.services.orm.em
      .fork()
      .execute(
        `select count(*)::int as n from job where kind = 'webhook.deliver' and payload->>'delivery_id' in (?)`,
        [rows.map((d) => d.id)],
      )) as Array<{ n: number }>;
    expect(jobs[0]?.n).toBe(2);
    expect(
      r
        .events()
        .map((e) => e.data.note)
        .sort(),
    ).toEqual(['committed', 'initial version']);
  });

  it("an organization's admin sees and manages only its organization's subscriptions", async () => {
    const mine = await createOrganization(server, 'wh-tenant-a');
    const theirs = await createOrganization(server, 'wh-tenant-b');
    const admin = await createOrgServiceAccount(server, mine, ['admin'], 'wh-org-admin');
    const r = await receiver();
    const foreign = await subscribe(r.url, ['dataset.created'], { organization_id: theirs });
    const created = await server.request('/api/v1/webhooks', {
      method: 'POST',
      token: admin.api_key,
      body: { url: r.url, events: ['dataset.created'] },
    });
    expect(created.status, created.text).toBe(201);
    expect((created.body as { organization_id: string }).organization_id).toBe(mine);
    const listed = await server.request('/api/v1/webhooks', { token: admin.api_key });
    expect((listed.body as { subscriptions: Array<{ id: string }> }).subscriptions.map((s) => s.id)).toEqual([
      (created.body as { id: string }).id,
    ]);
    for (const [method, path] of [
      ['GET', `/api/v1/webhooks/${foreign.id}`],
      ['PATCH', `/api/v1/webhooks/${foreign.id}`],
      ['DELETE', `/api/v1/webhooks/${foreign.id}`],
      ['POST', `/api/v1/webhooks/${foreign.id}/rotate-secret`],
      ['GET', `/api/v1/webhooks/${foreign.id}/deliveries`],
    ] as const) {
      const res = await server.request(path, {
        method,
        token: admin.api_key,
        ...(method === 'PATCH' ? { body: { enabled: false } } : {}),
      });
      expectEnvelope(res.body, 'NOT_FOUND');
    }
    const other = await server.request('/api/v1/webhooks', {
      method: 'POST',
      token: admin.api_key,
      body: { url: r.url, events: ['dataset.created'], organization_id: theirs },
    });
    expectEnvelope(other.body, 'ACCESS_DENIED');
    expect((await subscription(foreign.id)).enabled).toBe(true);
  });

  it('a rotated secret signs the next deliveries and is replayed by Idempotency-Key only once', async () => {
    const r = await receiver();
    const sub = await subscribe(r.url, ['dataset.deleted']);
    const rotate = () =>
      server.request(`/api/v1/webhooks/${sub.id}/rotate-secret`, {
        method: 'POST',
        headers: { 'idempotency-key': `rotate-${sub.id}` },
      });
    const first = await rotate();
    expect(first.status, first.text).toBe(200);
    const secret = (first.body as { secret: string }).secret;
    expect(secret).not.toBe(sub.secret);
    expect(((await rotate()).body as { secret: string }).secret).toBe(secret);
    expectEnvelope((await rotate()).body, 'IDEMPOTENCY_RESPONSE_CONSUMED');

    const dataset = await createDataset(server, { name: 'wh-rotated' });
    await server.request(`/api/v1/datasets/${dataset.id}`, { method: 'DELETE' });
    await until('delivery', () => r.received[0]);
    const message = r.received[0] as Received;
    expect(() =>
      new Webhook(secret).verify(message.body, message.headers as Record<string, string>),
    ).not.toThrow();
    expect(() =>
      new Webhook(sub.secret).verify(message.body, message.headers as Record<string, string>),
    ).toThrow();
  });

  it('admin only; unknown ids and bad input are envelopes, never 500', async () => {
    expectEnvelope((await server.request('/api/v1/webhooks', { token: null })).body, 'UNAUTHENTICATED');
    expectEnvelope((await server.request('/api/v1/webhooks/wh_0000000000000000')).body, 'NOT_FOUND');
    expectEnvelope((await server.request('/api/v1/webhooks/nope')).body, 'VALIDATION_ERROR');
    const bad = await server.request('/api/v1/webhooks', {
      method: 'POST',
      body: { url: 'ftp://x', events: ['dataset.created'] },
    });
    expectEnvelope(bad.body, 'VALIDATION_ERROR');
    const badEvent = await server.request('/api/v1/webhooks', {
      method: 'POST',
      body: { url: 'http://x.test', events: ['nope'] },
    });
    expectEnvelope(badEvent.body, 'VALIDATION_ERROR');
  });
});

describe('SSRF guard', () => {
  const production = urlPolicyOf('production', 'false');

  it('refuses loopback, private and link-local URLs in production, unless allowed', async () => {
    for (const url of [
      'http://127.0.0.1:8080/x',
      'http://localhost/x',
      'http://[::1]/x',
      'http://10.1.2.3/x',
      'http://192.168.1.1/x',
      'http://172.20.0.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:127.0.0.1]/x',
      'http://[fe80::1]/x',
    ])
      await expect(assertDeliverableUrl(url, production), url).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
      });
    await expect(assertDeliverableUrl('http://93.184.216.34/x', production)).resolves.toBeInstanceOf(URL);
    await expect(
      assertDeliverableUrl('http://127.0.0.1/x', urlPolicyOf('production', 'true')),
    ).resolves.toBeInstanceOf(URL);
    await expect(
      assertDeliverableUrl('http://localhost/x', urlPolicyOf('production', 'localhost,hooks.internal')),
    ).resolves.toBeInstanceOf(URL);
    await expect(
      assertDeliverableUrl('http://127.0.0.1/x', urlPolicyOf('test', 'false')),
    ).resolves.toBeInstanceOf(URL);
  });

  it('checks again at delivery time: a name resolving to a private address gets no request', async () => {
    const r = await new Receiver().start();
    try {
      const sender = new WebhookSender(production, 2000);
      const viaName = await sender.send(`http://localhost:${r.port}/hook`, {}, '{}');
      const viaLiteral = await sender.send(`http://127.0.0.1:${r.port}/hook`, {}, '{}');
      expect(viaName.statusCode).toBeNull();
      expect(viaName.error).toMatch(/refused: localhost resolves to private address/);
      expect(viaLiteral.error).toMatch(/refused: 127\.0\.0\.1/);
      expect(r.received).toHaveLength(0);
      const allowed = await new WebhookSender(urlPolicyOf('production', 'localhost'), 2000).send(
        `http://localhost:${r.port}/hook`,
        {},
        '{}',
      );
      expect(allowed.statusCode).toBe(200);
      expect(r.received).toHaveLength(1);
      sender.close();
    } finally {
      await r.close();
    }
  });

  it('a production server refuses a private subscription URL with a 400 envelope', async () => {
    const server = await startTestServer({ env: { NODE_ENV: 'production' } });
    try {
      const res = await server.request('/api/v1/webhooks', {
        method: 'POST',
        body: { url: 'http://127.0.0.1:9/hook', events: ['dataset.created'] },
      });
      expect(res.status).toBe(400);
      expect(expectEnvelope(res.body, 'VALIDATION_ERROR').error.details).toMatchObject({
        reason: 'private_address',
      });
    } finally {
      await server.stop();
    }
  });
});
