import type { Principal } from '@labeler/core';
import { createServices, shutdownServices } from '../app/create.js';
import type { AppServices } from '../app/services.js';
import { loadConfig } from '../config/env.js';
import { createLogger } from '../lib/logger.js';
import type { CliConfig } from './config.js';

/** The CLI acts in-process with full rights; its actions are audited as the "cli" principal. */
export const CLI_PRINCIPAL: Principal = {
  kind: 'system',
  id: 'cli',
  name: 'labeler CLI',
  organizationId: null,
  roles: ['admin'],
  scopes: ['admin'],
  authenticatedBy: 'cli',
};

/** Opens the same services the server uses (same configuration, same database), without HTTP or workers. */
export async function withServices<T>(config: CliConfig, fn: (app: AppServices) => Promise<T>): Promise<T> {
  const serverConfig = loadConfig({
    ...process.env,
    ...config.server,
    LOG_LEVEL: config.server.LOG_LEVEL ?? 'warn',
  });
  const app = await createServices(serverConfig, {
    workers: false,
    logger: createLogger(serverConfig.LOG_LEVEL),
  });
  try {
    return await fn(app);
  } finally {
    await shutdownServices(app);
  }
}
