import { createServer, type Server } from 'node:net';
import { isLabelerError, type LabelerError } from '@labeler/core';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3TestServer } from '../src/testing/index.js';
import { createR2 } from './helpers.js';

const server = await startS3TestServer();
afterAll(() => server.close());

async function timedFailure(promise: Promise<unknown>): Promise<{ error: LabelerError; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    if (!isLabelerError(error)) throw error;
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail during the outage');
}

describe('r2 outage', () => {
  it('fails fast with R2_UNAVAILABLE while the server is down and recovers after restart without re-creating', {
    timeout: 60_000,
  }, async () => {
    const storage = await createR2(server.pluginConfig);
    await storage.put('outage/a.txt', 'before');
    expect((await storage.head('outage/a.txt'))?.size).toBe(6); // keep-alive sockets are now open

    await server.stop();
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => storage.get('outage/a.txt')],
      ['head', () => storage.head('outage/a.txt')],
      ['put', () => storage.put('outage/b.txt', 'during')],
      ['list', () => storage.list({ prefix: 'outage/' })],
      ['delete', () => storage.delete('outage/a.txt')],
    ];
    for (const [name, call] of calls) {
      const { error, ms } = await timedFailure(call());
      expect({ name, code: error.code, status: error.status, retryable: error.retryable }).toEqual({
        name,
        code: 'R2_UNAVAILABLE',
        status: 503,
        retryable: true,
      });
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(ms).toBeLessThan(5_000);
    }
    const report = await storage.health();
    expect(report.status).toBe('unhealthy');
    expect(report.details).toMatchObject({ code: 'R2_UNAVAILABLE' });

    await server.restart();
    const got = await storage.get('outage/a.txt');
    expect(Buffer.concat(await got.body.toArray()).toString()).toBe('before');
    await storage.put('outage/b.txt', 'after');
    expect((await storage.list({ prefix: 'outage/' })).items.map((i) => i.key)).toEqual([
      'outage/a.txt',
      'outage/b.txt',
    ]);
    expect((await storage.health()).status).toBe('healthy');
    await storage.dispose();
  });

  it('maps a server that accepts connections but never answers to R2_UNAVAILABLE after the request timeout', {
    timeout: 30_000,
  }, async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket); // hold the connection open, say nothing
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const storage = await createR2({
      ...server.pluginConfig,
      endpoint: `http://127.0.0.1:${port}`,
      requestTimeoutMs: 1_000,
      maxAttempts: 1,
    });
    const { error, ms } = await timedFailure(storage.head('x'));
    expect(error.code).toBe('R2_UNAVAILABLE');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5_000);
    await storage.dispose();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});
