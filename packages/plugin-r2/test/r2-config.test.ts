import {
  assertPluginCompatible,
  isLabelerError,
  parsePluginConfig,
  redactSecrets,
  secretFieldPaths,
  type StoragePluginDefinition,
} from '@labeler/core';
import { describe, expect, it } from 'vitest';
import { createS3Client, type R2Config, r2StoragePlugin, resolveR2Config } from '../src/index.js';

const base = {
  bucket: 'datasets',
  accessKeyId: 'AKID',
  secretAccessKey: 'super-secret-value',
  accountId: '0123456789abcdef0123456789abcdef',
};

function fieldOf(raw: unknown): string {
  try {
    parsePluginConfig(r2StoragePlugin, raw);
    return 'valid';
  } catch (error) {
    if (!isLabelerError(error) || error.code !== 'PLUGIN_CONFIG_INVALID') throw error;
    const issues = error.details.issues as { field: string }[];
    expect(error.message).toContain(`config field "${issues[0]!.field}"`);
    return issues.map((issue) => issue.field).join(',');
  }
}

describe('r2 plugin definition', () => {
  it('is a compatible storage plugin with id r2 that fits the storage definition type', () => {
    const asStorage: StoragePluginDefinition<R2Config> = r2StoragePlugin;
    expect(() => assertPluginCompatible(r2StoragePlugin)).not.toThrow();
    expect(asStorage.id).toBe('r2');
    expect(asStorage.capabilities).toEqual({ presignGet: true, presignPut: true, multipart: true });
  });

  it('marks the secret access key as secret and redacts it', () => {
    expect(secretFieldPaths(r2StoragePlugin.configSchema)).toEqual(['secretAccessKey']);
    expect(redactSecrets(r2StoragePlugin, { ...base })).toMatchObject({
      secretAccessKey: '********',
      accessKeyId: 'AKID',
    });
  });
});

describe('r2 config validation names the field', () => {
  it.each([
    ['bucket missing', { ...base, bucket: undefined }, 'bucket'],
    ['bucket malformed', { ...base, bucket: 'Bad_Bucket' }, 'bucket'],
    ['no accountId and no endpoint', { ...base, accountId: undefined }, 'accountId'],
    ['both accountId and endpoint', { ...base, endpoint: 'https://s3.example.com' }, 'endpoint'],
    ['accountId malformed', { ...base, accountId: 'nope' }, 'accountId'],
    ['endpoint not a URL', { ...base, accountId: undefined, endpoint: 'not a url' }, 'endpoint'],
    ['endpoint not http(s)', { ...base, accountId: undefined, endpoint: 'ftp://x.example.com' }, 'endpoint'],
    ['secret empty', { ...base, secretAccessKey: '' }, 'secretAccessKey'],
    ['access key missing', { ...base, accessKeyId: undefined }, 'accessKeyId'],
    ['maxAttempts zero', { ...base, maxAttempts: 0 }, 'maxAttempts'],
    ['connection timeout too small', { ...base, connectionTimeoutMs: 5 }, 'connectionTimeoutMs'],
    ['prefix escaping', { ...base, prefix: '../up' }, 'prefix'],
    ['prefix absolute', { ...base, prefix: '/abs' }, 'prefix'],
  ])('%s', (_label, raw, field) => {
    expect(fieldOf(raw)).toBe(field);
  });

  it('never echoes the secret in validation errors', () => {
    // Caught outside any assertion, so a config that wrongly parses fails here instead of being swallowed.
    let error: unknown;
    try {
      parsePluginConfig(r2StoragePlugin, { ...base, bucket: 'x' });
    } catch (caught) {
      error = caught;
    }
    if (!isLabelerError(error)) return expect.unreachable(`bucket "x" is too short: ${String(error)}`);
    expect(error.code).toBe('PLUGIN_CONFIG_INVALID');
    expect((error.details.issues as { field: string }[]).map((issue) => issue.field)).toEqual(['bucket']);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(base.secretAccessKey);
    expect(String(error)).not.toContain(base.secretAccessKey);
  });
});

describe('r2 config defaults', () => {
  it('derives the R2 endpoint from accountId, region auto, virtual-hosted style', () => {
    const resolved = resolveR2Config(parsePluginConfig(r2StoragePlugin, base));
    expect(resolved.endpoint).toBe('https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com');
    expect(resolved.region).toBe('auto');
    expect(resolved.forcePathStyle).toBe(false);
    expect(resolved.prefix).toBe('');
    expect(resolved).toMatchObject({
      connectionTimeoutMs: 3_000,
      maxAttempts: 3,
      bucketPathWithoutTrailingSlash: false,
    });
  });

  it.each([
    ['http://127.0.0.1:9000', true],
    ['http://localhost:9000', true],
    ['http://[::1]:9000', true],
    ['https://minio.internal.example.com', false],
  ])('forcePathStyle defaults for %s → %s', (endpoint, expected) => {
    const resolved = resolveR2Config(
      parsePluginConfig(r2StoragePlugin, { ...base, accountId: undefined, endpoint }),
    );
    expect(resolved.forcePathStyle).toBe(expected);
  });

  it('normalizes the prefix to end with one slash', () => {
    expect(resolveR2Config(parsePluginConfig(r2StoragePlugin, { ...base, prefix: 'tenant/a' })).prefix).toBe(
      'tenant/a/',
    );
    expect(resolveR2Config(parsePluginConfig(r2StoragePlugin, { ...base, prefix: 'tenant/' })).prefix).toBe(
      'tenant/',
    );
  });

  it('configures the S3 client for R2: checksums only when required, bounded retries', async () => {
    const client = createS3Client(
      resolveR2Config(parsePluginConfig(r2StoragePlugin, { ...base, maxAttempts: 4 })),
    );
    try {
      expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
      expect(await client.config.maxAttempts()).toBe(4);
      expect(await client.config.region()).toBe('auto');
    } finally {
      client.destroy();
    }
  });
});
