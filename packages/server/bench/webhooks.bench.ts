/**
 * Webhook delivery benchmark: BENCH_WEBHOOK_EVENTS events (default 2,000), each published in its own
 * transaction for one subscription, delivered by the job workers of one server process to a local receiver
 * (node:http answering 200). Reports deliveries/s from the first publish to the last 2xx, against a bare loop
 * of signed POSTs with the same HTTP client (WebhookSender) and the same concurrency as the workers' queue,
 * measured in this run.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import { createServices, shutdownServices } from '../src/app/create.js';
import { loadConfig } from '../src/config/env.js';
import { DEFAULT_TUNING } from '../src/jobs/settings.js';
import { createLogger } from '../src/lib/logger.js';
import { WebhookSender } from '../src/modules/webhooks/sender.js';
import { urlPolicyOf } from '../src/modules/webhooks/url-guard.js';
import { createTestDatabase } from '../src/testing/database.js';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
const SYSTEM = {
  kind: 'system' as const,
  id: 'bench',
  name: 'bench',
  organizationId: null,
  roles: [],
  scopes: ['admin' as const],
  authenticatedBy: 'bench',
};

async function main() {
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let onReceived: (() => void) | null = null;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      lastAt = performance.now();
      if (received === 1) firstAt = lastAt;
      res.writeHead(200).end('ok');
      onReceived?.();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const waitFor = (n: number) =>
    new Promise<void>((resolve) => {
      onReceived = () => received >= n && resolve();
      onReceived();
    });

  // Baseline: the same client, signing and POSTing back to back with the workers' concurrency.
  const concurrency = DEFAULT_TUNING.batchSize.default;
  const sender = new WebhookSender(urlPolicyOf('test', 'true'), 10_000);
  const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
  const body = JSON.stringify({ type: 'dataset.created', data: { dataset_id: 'ds_bench' } });
  let next = 0;
  const bareStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < EVENTS) {
        const id = `msg_${next++}`;
        const now = new Date();
        const r = await sender.send(
          url,
          {
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
            'webhook-signature': new Webhook(secret).sign(id, now, body),
          },
          body,
        );
        if (r.statusCode !== 200) throw new Error(`baseline POST answered ${r.statusCode ?? r.error}`);
      }
    }),
  );
  const bareRate = EVENTS / ((performance.now() - bareStart) / 1000);
  sender.close();

  const db = await createTestDatabase('labeler_bench_webhooks');
  const config = loadConfig({
    DATABASE_URL: db.url,
    LABELER_SECRET_KEY: 'bench-secret-key-with-at-least-32-characters',
    NODE_ENV: 'production',
    LABELER_WEBHOOK_ALLOW_PRIVATE: 'true',
    LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-bench-')),
    LOG_LEVEL: 'silent',
  });
  // Events are published with no worker running, then one process's workers drain them: the delivery
  // rate is not bounded by how fast this loop publishes.
  const app = await createServices(config, { workers: false, logger: createLogger('silent') });
  let deliverer: Awaited<ReturnType<typeof createServices>> | null = null;
  try {
    await app.webhooks.create({ url, events: ['dataset.created'] }, SYSTEM);
    received = 0;
    const publishStart = performance.now();
    for (let i = 0; i < EVENTS; i++)
      await app.orm.em.fork().transactional((tem) =>
        app.webhooks.publish(tem, {
          type: 'dataset.created',
          organizationId: null,
          actor: SYSTEM,
          data: { dataset_id: `ds_bench${i}` },
        }),
      );
    const publishRate = EVENTS / ((performance.now() - publishStart) / 1000);
    const start = performance.now();
    deliverer = await createServices(config, { workers: true, logger: createLogger('silent') });
    await waitFor(EVENTS);
    // From the first delivery to the last: the worker process's start-up is not counted.
    const rate = (EVENTS - 1) / ((lastAt - firstAt) / 1000);
    const withStartup = EVENTS / ((lastAt - start) / 1000);
    const rows: BenchRow[] = [
      {
        metric: 'webhook delivery rate (one worker process)',
        value: rate,
        unit: 'deliveries/s',
        baseline: bareRate,
        ratio: rate / bareRate,
      },
      {
        metric: 'webhook delivery rate incl. worker start-up',
        value: withStartup,
        unit: 'deliveries/s',
        baseline: bareRate,
        ratio: withStartup / bareRate,
      },
      {
        metric: 'event publish rate (one transaction each)',
        value: publishRate,
        unit: 'events/s',
        baseline: null,
        ratio: null,
      },
    ];
    writeBenchResult('webhooks', rows, { events: EVENTS, worker_concurrency: concurrency });
  } finally {
    if (deliverer) await shutdownServices(deliverer);
    await shutdownServices(app);
    await db.drop().catch(() => undefined);
    await new Promise<void>((r) => receiver.close(() => r()));
  }
}

await main();
