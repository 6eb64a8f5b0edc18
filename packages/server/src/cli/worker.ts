import { createServices, shutdownServices } from '../app/create.js';
import type { AppConfig } from '../config/env.js';
import { waitForDatabase } from '../db/wait.js';
import { createLogger, type Logger } from '../lib/logger.js';

export interface RunWorkerOptions {
  config: AppConfig;
  logger?: Logger;
  /** Stops the worker when it resolves (tests); SIGTERM and SIGINT always do. */
  until?: Promise<unknown>;
}

/**
 * `labeler worker`: the same services as the server, without HTTP, running job workers only. Several
 * of them (and servers) on one PostgreSQL database share the queues; each job attempt runs once.
 * On SIGTERM/SIGINT it stops fetching, lets running jobs finish for a grace period, then requeues the rest.
 */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.LOG_LEVEL, { role: 'worker' });
  if (!config.DATABASE_URL) {
    throw new Error(
      'labeler worker needs DATABASE_URL (PostgreSQL): the embedded database belongs to one process, whose server already runs the job workers.',
    );
  }
  // Like a server replica: started before its database (or during a failover), it waits for it.
  await waitForDatabase(config.DATABASE_URL, {
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    maxWaitSeconds: config.DATABASE_STARTUP_WAIT_SECONDS,
    logger,
  });
  const services = await createServices(config, { workers: true, logger });
  logger.info({ pid: process.pid }, 'job worker started');
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  await new Promise<void>((resolve) => {
    onSignal = (signal) => {
      logger.info({ signal }, 'stopping job worker');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    options.until?.then(
      () => resolve(),
      () => resolve(),
    );
  });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await shutdownServices(services);
  logger.info('job worker stopped');
}
