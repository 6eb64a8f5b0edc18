import { afterAll } from 'vitest';
import { localDiskCapabilities } from '../src/local-disk/index.js';
import { runStorageConformance } from '../src/testing/storage.js';
import { startLocalDiskHarness } from './local-disk-helpers.js';

const harness = await startLocalDiskHarness();
afterAll(() => harness.close());

runStorageConformance({
  name: 'local-disk',
  create: () => harness.create({ instanceId: 'pi_conformance' }),
  capabilities: localDiskCapabilities,
  keyPrefix: 'kit/',
});
