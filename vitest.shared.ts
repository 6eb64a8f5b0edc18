import { defineConfig, type ViteUserConfig } from 'vitest/config';

type TestOptions = NonNullable<ViteUserConfig['test']>;

/** Server-side conditions without "module": the AWS SDK maps "module" to dist-es, which Node cannot load. */
const NODE_CONDITIONS = ['node', 'development|production'];

/**
 * Shared vitest settings. Workspace packages export their TypeScript sources under the
 * `@labeler/source` condition, so tests run against source without building dependencies first.
 */
export function labelerVitestConfig(overrides: TestOptions = {}): ViteUserConfig {
  const conditions = ['@labeler/source', ...NODE_CONDITIONS];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@labeler/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      ...overrides,
    },
  });
}
