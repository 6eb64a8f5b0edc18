import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  assertPluginCompatible,
  definePlugin,
  healthy,
  isLabelerError,
  LabelerError,
  parsePluginConfig,
  redactSecrets,
  secret,
  secretFieldPaths,
  toLabelerError,
} from '../src/index.js';

const configSchema = z.object({
  endpoint: z.string().url(),
  accessKeyId: z.string().min(1),
  secretAccessKey: secret(z.string().min(1)),
  nested: z
    .object({ token: secret(z.string()).optional(), region: z.string().default('auto') })
    .default({ region: 'auto' }),
});

const plugin = definePlugin({
  id: 'example-store',
  kind: 'storage',
  contractVersion: '1.0',
  displayName: 'Example',
  description: 'test plugin',
  configSchema,
  capabilities: { presignGet: false, presignPut: false, multipart: false },
  async create() {
    return { health: async () => healthy(), dispose: async () => {} } as never;
  },
});

describe('plugin registration checks', () => {
  it('accepts a compatible plugin', () => {
    expect(() => assertPluginCompatible(plugin)).not.toThrow();
  });

  it('refuses a newer minor or another major, naming the plugin and the field', () => {
    for (const contractVersion of ['1.1', '2.0', '0.9', 'one']) {
      try {
        assertPluginCompatible({ ...plugin, contractVersion });
        expect.unreachable();
      } catch (error) {
        expect(isLabelerError(error)).toBe(true);
        const e = error as LabelerError;
        expect(e.code).toBe('PLUGIN_INCOMPATIBLE');
        expect(e.message).toContain('"example-store"');
        expect(e.message).toContain('contractVersion');
      }
    }
  });

  it('refuses bad ids and kinds', () => {
    expect(() => assertPluginCompatible({ ...plugin, id: 'Bad Id' })).toThrow(/id must be kebab-case/);
    expect(() => assertPluginCompatible({ ...plugin, kind: 'queue' as never })).toThrow(
      /kind must be one of/,
    );
  });

  it('refuses invalid config naming the field', () => {
    try {
      parsePluginConfig(plugin, { endpoint: 'not a url', accessKeyId: 'a', secretAccessKey: 's' });
      expect.unreachable();
    } catch (error) {
      const e = error as LabelerError;
      expect(e.code).toBe('PLUGIN_CONFIG_INVALID');
      expect(e.message).toContain('"example-store"');
      expect(e.message).toContain('"endpoint"');
      expect(e.details.issues).toEqual([expect.objectContaining({ field: 'endpoint' })]);
    }
  });

  it('finds and redacts secret fields, including optional nested ones', () => {
    expect(secretFieldPaths(configSchema).sort()).toEqual(['nested.token', 'secretAccessKey']);
    const redacted = redactSecrets(plugin, {
      endpoint: 'https://x',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      nested: { token: 'T', region: 'auto' },
    });
    expect(redacted).toEqual({
      endpoint: 'https://x',
      accessKeyId: 'AK',
      secretAccessKey: '********',
      nested: { token: '********', region: 'auto' },
    });
  });
});

describe('error family', () => {
  it('is recognised by marker, not instanceof', () => {
    const foreign = { ...new LabelerError('DATASET_NOT_FOUND', 'x'), [Symbol.for('labeler.error')]: true };
    expect(isLabelerError(foreign)).toBe(true);
    expect(isLabelerError(new Error('x'))).toBe(false);
  });

  it('carries status and retryable from the catalogue', () => {
    const e = new LabelerError('R2_UNAVAILABLE', 'down');
    expect([e.status, e.retryable]).toEqual([503, true]);
    expect(new LabelerError('ACCESS_DENIED', 'no', { status: 404 }).status).toBe(404);
  });

  it('hides unknown errors behind INTERNAL_ERROR without leaking their message', () => {
    const e = toLabelerError(new Error('password=hunter2'));
    expect(e.code).toBe('INTERNAL_ERROR');
    expect(e.message).not.toContain('hunter2');
  });
});
