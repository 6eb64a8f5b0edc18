import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type LocalDiskStorageInstance,
  localDiskStoragePlugin,
  parseLocalStoragePath,
} from '../src/local-disk/index.js';
import type { PluginContext, PluginLogger } from '../src/plugin.js';

const silentLogger: PluginLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A stand-in for the Labeler server's HTTP layer: routes /storage/local/:instanceId/* to the instance's
 * servePresigned(), so presigned URLs are exercised over real HTTP.
 */
export interface LocalDiskHarness {
  baseUrl: string;
  dataDir: string;
  create(options?: {
    root?: string;
    instanceId?: string;
    signingKey?: string;
  }): Promise<LocalDiskStorageInstance>;
  close(): Promise<void>;
}

export async function startLocalDiskHarness(): Promise<LocalDiskHarness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'labeler-local-disk-'));
  const instances = new Map<string, LocalDiskStorageInstance>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = parseLocalStoragePath(url.pathname);
    const instance = route ? instances.get(route.instanceId) : undefined;
    if (!route || !instance) {
      res.writeHead(404).end();
      return;
    }
    const query: Record<string, string | undefined> = {};
    for (const [name, value] of url.searchParams) query[name] ??= value;
    instance
      .servePresigned({ method: req.method ?? 'GET', key: route.key, query, body: req })
      .then(async (answer) => {
        res.writeHead(answer.status, answer.headers);
        if (answer.body) await pipeline(answer.body, res);
        else res.end();
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  let counter = 0;
  return {
    baseUrl,
    dataDir,
    async create(options = {}) {
      const instanceId = options.instanceId ?? `pi_local_${++counter}`;
      const ctx: PluginContext = {
        instanceId,
        logger: silentLogger,
        publicBaseUrl: baseUrl,
        dataDir,
        signingKey: options.signingKey ?? 'test-signing-key-0123456789abcdef',
      };
      const instance = await localDiskStoragePlugin.create(ctx, { root: options.root ?? 'objects' });
      instances.set(instanceId, instance);
      return instance;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
