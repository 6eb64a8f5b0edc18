/**
 * `labeler serve` / `npm start`: starts HTTP, the console, embedded workers. Stops gracefully on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './app/create.js';
import type { AppConfig } from './config/env.js';

export async function serve(config: AppConfig): Promise<void> {
  const running = await startServer(config);
  const { services } = running;
  if ((await services.adminUsers.count()) === 0) {
    // First run without LABELER_ADMIN_EMAIL/PASSWORD: create an admin with a random password, shown once.
    const email = 'admin@labeler.local';
    const password = randomBytes(12).toString('base64url');
    await services.adminUsers.create({ email, password, name: 'Administrator' }, null);
    const file = join(config.dataDir, 'initial-admin-password.txt');
    writeFileSync(file, `${email}\n${password}\n`, { mode: 0o600 });
    console.log(
      `\n  First run: sign in to the console as ${email} with password ${password}\n  (also saved to ${file}; change it by creating another admin and removing this one)\n`,
    );
  }
  services.logger.info(
    {
      url: config.publicUrl,
      listen: running.url,
      database: config.DATABASE_URL ? 'postgresql' : 'pglite',
      data_dir: config.dataDir,
    },
    'Labeler is ready',
  );
  console.log(
    `  Labeler is running: console ${config.publicUrl}/  ·  API ${config.publicUrl}/api/v1  ·  docs ${config.publicUrl}/docs`,
  );
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    services.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    running
      .stop()
      .then(() => process.exit(0))
      .catch((error) => {
        services.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
