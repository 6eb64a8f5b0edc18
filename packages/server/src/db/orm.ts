import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM, Options } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/sql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';
import {
  DEFAULT_TIMEOUTS,
  type DatabaseTimeouts,
  discardBrokenConnections,
  pgTimeoutOptions,
} from './timeouts.js';

export interface DatabaseOptions {
  /** postgres:// URL; unset → embedded PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite data directory, or "memory://" for an in-memory database. */
  pgliteDataDir?: string;
  poolMax?: number;
  /** PostgreSQL only (PGlite runs in-process: nothing to time out). Default: DEFAULT_TIMEOUTS. */
  timeouts?: DatabaseTimeouts;
  debug?: boolean;
}

export type Orm = MikroORM<AbstractSqlDriver, SqlEntityManager>;
export type Em = SqlEntityManager;

function baseOptions(): Partial<Options> {
  return {
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // Serialization of dates as ISO strings, and no implicit transactions on read-only work.
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
    allowGlobalContext: false,
  };
}

/** Opens the database: PostgreSQL when a URL is given, else PGlite (embedded default). */
export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  if (options.databaseUrl) {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    return (await MikroORM.init({
      ...baseOptions(),
      clientUrl: options.databaseUrl,
      pool: { min: 0, max: options.poolMax ?? 10 },
      // Merged into pg's pool options by the driver.
      driverOptions: {
        ...pgTimeoutOptions(options.timeouts ?? DEFAULT_TIMEOUTS),
        onPoolCreated: discardBrokenConnections,
      },
      debug: options.debug ?? false,
    } as Options)) as unknown as Orm;
  }
  const dataDir = options.pgliteDataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const { MikroORM } = await import('@mikro-orm/pglite');
  return (await MikroORM.init({
    ...baseOptions(),
    dbName: dataDir,
    debug: options.debug ?? false,
  } as Options)) as unknown as Orm;
}

export function pgliteDirFor(dataDir: string): string {
  return join(dataDir, 'db');
}

/** Applies pending migrations; returns their names. */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
