import { labelerVitestConfig } from '../../vitest.shared.js';

/**
 * Browser tests: the real server (PostgreSQL), the Label Studio simulator and the S3 test server, driven
 * through Debian Chromium with playwright-core. Node environment, the workspace's source condition (shared
 * config); the console is built by the global setup when dist/ is missing or older than the sources.
 */
export default labelerVitestConfig({
  environment: 'node',
  include: ['e2e/**/*.e2e.test.ts'],
  globalSetup: ['e2e/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
  fileParallelism: false,
});
