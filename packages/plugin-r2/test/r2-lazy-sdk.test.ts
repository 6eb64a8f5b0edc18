import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `@labeler/plugin-r2/plugin` is what the server's plugin catalog imports: registering the definition and
 * validating configs must not load the AWS SDK; the first create() does.
 */
describe('r2 plugin definition', () => {
  it('loads the AWS SDK only when an instance is created', { timeout: 30_000 }, () => {
    const plugin = fileURLToPath(new URL('../src/plugin.ts', import.meta.url));
    const script = `
      import { createRequire } from 'node:module';
      import { parsePluginConfig } from '@labeler/core';
      const sdkLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('@aws-sdk'));
      const { r2StoragePlugin } = await import(${JSON.stringify(plugin)});
      const config = parsePluginConfig(r2StoragePlugin, { endpoint: 'http://127.0.0.1:9', bucket: 'b-1', accessKeyId: 'a', secretAccessKey: 's' });
      const before = sdkLoaded();
      const logger = { debug() {}, info() {}, warn() {}, error() {} };
      const storage = await r2StoragePlugin.create({ instanceId: 'pi_x', logger, publicBaseUrl: 'http://x', dataDir: '/tmp', signingKey: 'k' }, config);
      await storage.dispose();
      console.log(JSON.stringify({ before, after: sdkLoaded() }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--conditions=@labeler/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' },
    );
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ before: false, after: true });
  });
});
