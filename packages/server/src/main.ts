/** Process entry for `node dist/main.js` (npm start): loads the environment and serves. */
import { relaunchWithNodeFlags } from './node-flags.js';

// Before anything else is loaded: re-executes with the production Node flags when started without them.
relaunchWithNodeFlags();

const { ConfigError, loadConfig } = await import('./config/env.js');
const { serve } = await import('./serve.js');

try {
  await serve(loadConfig());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`Labeler failed to start: ${(error as Error).message}`);
  process.exit(1);
}
