/** Process entry for `node dist/main.js` (npm start): loads the environment and serves. */
import { ConfigError, loadConfig } from './config/env.js';
import { serve } from './serve.js';

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
