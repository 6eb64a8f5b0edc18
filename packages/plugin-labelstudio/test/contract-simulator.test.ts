/**
 * The Label Studio contract suite against the simulator: once as Label Studio 1.7.3 (what the real server
 * in test/contract-real.test.ts is) and once as a modern version (Personal Access Tokens, title filter).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '../src/simulator/index.js';
import { runLabelStudioContract } from './contract/label-studio.js';
import type { ContractTarget } from './contract/target.js';

for (const version of ['1.7.3', '1.19.0']) {
  describe(`simulator as Label Studio ${version}`, () => {
    let sim: LabelStudioSimulator;
    beforeAll(async () => {
      sim = await startLabelStudioSimulator({ version, localFiles: { servingEnabled: true } });
    });
    afterAll(async () => {
      await sim.stop();
    });
    runLabelStudioContract(
      (): ContractTarget => ({
        name: `simulator ${version}`,
        url: sim.url,
        token: sim.legacyToken,
        version,
        documentRoot: sim.documentRoot,
        login: sim.login,
        personalAccessToken: sim.personalAccessToken,
      }),
    );
  });
}
