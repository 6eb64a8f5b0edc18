import { runStorageConformance } from '@labeler/core/testing';
import { afterAll } from 'vitest';
import { r2Capabilities } from '../src/index.js';
import { startS3TestServer } from '../src/testing/index.js';
import { createR2 } from './helpers.js';

const server = await startS3TestServer();
afterAll(() => server.close());

runStorageConformance({
  name: 'r2 on @20minutes/s3rver (SigV4-verifying)',
  create: () => createR2(server.pluginConfig),
  capabilities: r2Capabilities,
  keyPrefix: 'kit/',
  // Larger than one multipart part, so the streaming check also exercises multipart upload.
  largeObjectBytes: 9 * 1024 * 1024,
});

runStorageConformance({
  name: 'r2 with a configured key prefix',
  create: () => createR2({ ...server.pluginConfig, prefix: 'tenant-a' }),
  capabilities: r2Capabilities,
  largeObjectBytes: 2 * 1024 * 1024,
});
