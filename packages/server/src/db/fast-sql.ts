import { CompiledQuery } from 'kysely';
import pg from 'pg';
import type { Orm } from './orm.js';

/**
 * Parameterised SQL (`$1`, `$2`, …) for the request hot paths, beside MikroORM rather than through it.
 * MikroORM's `execute` interpolates parameters into the SQL text client-side, so PostgreSQL parses and
 * plans every request anew; here each distinct statement text is prepared once per connection (a named
 * statement) and then only bound and executed. Rows come back as the driver parses them.
 */
export interface FastSql {
  query<Row>(text: string, params: readonly unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** Named statements are per connection; beyond this many distinct texts, run them unnamed. */
const MAX_NAMED_STATEMENTS = 200;

class PostgresFastSql implements FastSql {
  readonly #pool: pg.Pool;
  readonly #names = new Map<string, string>();

  constructor(connectionString: string, max: number) {
    this.#pool = new pg.Pool({ connectionString, max });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.#pool.on('error', () => undefined);
  }

  #nameOf(text: string): string | undefined {
    let name = this.#names.get(text);
    if (!name && this.#names.size < MAX_NAMED_STATEMENTS) {
      name = `labeler_${this.#names.size}`;
      this.#names.set(text, name);
    }
    return name;
  }

  async query<Row>(text: string, params: readonly unknown[]): Promise<Row[]> {
    const name = this.#nameOf(text);
    const result = await this.#pool.query({
      text,
      values: params as unknown[],
      ...(name ? { name } : {}),
    });
    return result.rows as Row[];
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** Embedded PGlite has one session: statements go through MikroORM's own connection (its Kysely client). */
class EmbeddedFastSql implements FastSql {
  constructor(private readonly orm: Orm) {}

  async query<Row>(text: string, params: readonly unknown[]): Promise<Row[]> {
    const client = this.orm.em.getConnection().getClient();
    const result = await client.executeQuery(CompiledQuery.raw(text, params as unknown[]));
    return result.rows as Row[];
  }

  async close(): Promise<void> {}
}

export function createFastSql(orm: Orm, databaseUrl: string | undefined, poolMax: number): FastSql {
  return databaseUrl ? new PostgresFastSql(databaseUrl, poolMax) : new EmbeddedFastSql(orm);
}
