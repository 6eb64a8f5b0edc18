import {
  definePlugin,
  healthy,
  isLabelerError,
  type LabelerError,
  secret,
  type StorageInstance,
} from '@labeler/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { PluginRegistry } from '../src/plugins/registry.js';
import { BUILTIN_PLUGINS } from '../src/plugins/catalog.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

/** A storage plugin whose create() fails unless config.ok, with a secret field to check encryption. */
const flakyPlugin = definePlugin({
  id: 'flaky-store',
  kind: 'storage',
  contractVersion: '1.0',
  displayName: 'Flaky',
  description: 'test plugin',
  configSchema: z.object({ ok: z.boolean(), password: secret(z.string().min(1)) }),
  capabilities: { presignGet: false, presignPut: false, multipart: false },
  async create(_ctx, config) {
    if (!config.ok) throw new Error('cannot reach the flaky backend at 10.0.0.1');
    return { health: async () => healthy(), dispose: async () => {} } as unknown as StorageInstance;
  },
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ plugins: [...BUILTIN_PLUGINS, flakyPlugin as never] });
});
afterAll(async () => server?.stop());

describe('host endpoints', () => {
  it('/healthz and /readyz report the database and plugins', async () => {
    expect((await server.request('/healthz', { token: null })).body).toEqual({ status: 'ok' });
    const ready = await server.request('/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, database: { ok: true } });
    const plugins = (
      ready.body as { plugins: Array<{ plugin_id: string; status: string; is_default: boolean }> }
    ).plugins;
    expect(plugins).toContainEqual(
      expect.objectContaining({ plugin_id: 'local-disk', is_default: true, status: 'healthy' }),
    );
  });

  it('serves an OpenAPI 3.1 document that describes the error envelope and rate-limit headers', async () => {
    const res = await server.request('/api/v1/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<
              string,
              {
                content?: { 'application/json'?: { schema?: { $ref?: string } } };
                headers?: Record<string, unknown>;
              }
            >;
          }
        >
      >;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const path of [
      '/datasets/{dataset_id}',
      '/datasets',
      '/datasets/{dataset_id}/permissions/{user_id}',
      '/datasets/{dataset_id}/download-url',
      '/datasets/batch',
      '/auth/service-accounts',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const get = doc.paths['/datasets/{dataset_id}']!.get!;
    expect(get.responses['404']?.content?.['application/json']?.schema?.$ref).toBe(
      '#/components/schemas/ErrorEnvelope',
    );
    expect(get.responses['200']?.headers).toHaveProperty('X-RateLimit-Reset');
    expect(doc.components.schemas.ErrorEnvelope).toBeDefined();
  });

  it('serves interactive docs and Prometheus metrics', async () => {
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
    expect((await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    await server.request('/api/v1/datasets');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('labeler_http_requests_total');
    expect(metrics).toMatch(/labeler_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/datasets"/);
  });

  it('echoes a request id', async () => {
    const res = await server.request('/api/v1/datasets', { headers: { 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
  });
});

describe('configuration', () => {
  it('a wrong value stops start-up with a message naming the variable', () => {
    for (const [variable, value] of [
      ['PORT', 'eighty'],
      ['DATABASE_URL', 'mysql://x'],
      ['LABELER_ADMIN_TOKEN', 'short'],
      ['LOG_LEVEL', 'loud'],
    ] as const) {
      try {
        loadConfig({ [variable]: value });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(variable);
      }
    }
    expect(loadConfig({}).PORT).toBe(4000);
  });
});

describe('plugins', () => {
  it('the registry refuses an incompatible contract version and invalid definitions, naming plugin and field', () => {
    const registry = new PluginRegistry();
    expect(() => registry.register({ ...flakyPlugin, contractVersion: '2.0' } as never)).toThrow(
      /Plugin "flaky-store": contractVersion 2\.0 is not supported/,
    );
    expect(() => registry.register({ ...flakyPlugin, id: 'Flaky Store' } as never)).toThrow(
      /id must be kebab-case/,
    );
    registry.register(flakyPlugin as never);
    expect(() => registry.register(flakyPlugin as never)).toThrow(/already registered/);
  });

  it('invalid instance config is refused with the field name; the secret never comes back', async () => {
    const bad = await server.request('/trpc/plugins.create', {
      method: 'POST',
      body: { plugin_id: 'flaky-store', name: 'bad', config: { ok: 'yes', password: 'x' } },
    });
    expect(bad.status).toBe(400);
    const error = (bad.body as { error: { message: string; data: { labeler: { code: string } } } }).error;
    expect(error.data.labeler.code).toBe('PLUGIN_CONFIG_INVALID');
    expect(error.message).toContain('"ok"');
  });

  it('an instance that fails to start is unhealthy and does not stop the server; secrets are encrypted at rest', async () => {
    const created = await server.services.plugins.create({
      pluginId: 'flaky-store',
      name: 'flaky',
      config: { ok: false, password: 'hunter2-secret' },
    });
    expect(created.health.status).toBe('unhealthy');
    expect(created.health.message).toContain('cannot reach');
    expect(created.secrets_set).toEqual({ password: true });
    expect(JSON.stringify(created)).not.toContain('hunter2-secret');
    const rows = (await server.services.orm.em
      .getConnection()
      .execute(`select * from plugin_instance where name = 'flaky'`)) as Array<Record<string, unknown>>;
    expect(JSON.stringify(rows)).not.toContain('hunter2-secret');
    expect(String(rows[0]!.secret_config)).toMatch(/^v1\./);
    try {
      await server.services.plugins.get(created.id, 'storage');
      expect.unreachable();
    } catch (error) {
      expect(isLabelerError(error)).toBe(true);
      expect((error as LabelerError).message).toContain('cannot reach');
    }
    expect((await server.request('/healthz', { token: null })).status).toBe(200);
    const ready = (await server.request('/readyz', { token: null })).body as {
      ready: boolean;
      status: string;
    };
    expect(ready).toMatchObject({ ready: true, status: 'degraded' });
    // Editing without re-sending the secret keeps it and restarts the instance.
    const fixed = await server.services.plugins.update(created.id, { config: { ok: true } });
    expect(fixed.health.status).toBe('healthy');
    expect(fixed.secrets_set).toEqual({ password: true });
  });
});
