import { CompiledQuery } from 'kysely';
import pg from 'pg';
import type { Orm } from './orm.js';
import {
  DEFAULT_TIMEOUTS,
  type DatabaseTimeouts,
  discardBrokenConnections,
  pgTimeoutOptions,
} from './timeouts.js';

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

/** How long an idle pooled connection is kept. */
const IDLE_CONNECTION_MS = 5 * 60_000;

/** Named statements are per connection; beyond this many distinct texts, run them unnamed. */
const MAX_NAMED_STATEMENTS = 200;

class PostgresFastSql implements FastSql {
  readonly #pool: pg.Pool;
  readonly #names = new Map<string, string>();

  constructor(connectionString: string, max: number, timeouts: DatabaseTimeouts) {
    // Connections are kept while idle for minutes, not pg's 10 s: a new backend must be forked and
    // authenticated and every statement prepared on it again, which showed up as a burst of slow
    // requests whenever traffic resumed after a lull.
    this.#pool = new pg.Pool({
      connectionString,
      max,
      idleTimeoutMillis: IDLE_CONNECTION_MS,
      ...pgTimeoutOptions(timeouts),
    });
    discardBrokenConnections(this.#pool as unknown as Parameters<typeof discardBrokenConnections>[0]);
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

/**
 * A write that may ride along with a request's first read instead of taking a round trip of its own (the
 * Platform's rate-limit charge: modules/rate-limits/platform-charge.ts). Each round trip is a socket
 * write and a wake-up on both sides, which cost more than these small statements themselves.
 */
export interface FoldableWrite {
  /** Still to be written (not yet folded into a read, nor run alone). */
  readonly pending: boolean;
  /**
   * A data-modifying statement with RETURNING, its parameters numbered from `$first`. With `after` (a
   * boolean SQL condition), the statement's source rows must be filtered by it: readFolding uses it to
   * make the write run after the read, so row locks are held only from the write to the commit.
   */
  statement(first: number, after?: string): { text: string; params: unknown[] };
  /** Takes the statement's returned rows; may throw (the read's rows are then not used). */
  settle(rows: Record<string, unknown>[]): void;
}

/**
 * Runs `text` (a read) with `write` folded into the same statement, when it is still pending: the write
 * becomes a data-modifying CTE whose rows reach `write.settle` before the read's rows are returned. A
 * read with no rows still returns the write's. Rows keep the read's order (each also carries two
 * internal columns, "@w" and "@n", which readers ignore).
 */
export async function readFolding<Row>(
  sql: FastSql,
  write: FoldableWrite | null | undefined,
  text: string,
  params: readonly unknown[],
): Promise<Row[]> {
  if (!write?.pending) return sql.query<Row>(text, params);
  // The read runs first (materialized) and the write only then: the write's row locks (a rate-limit
  // counter every request of an account updates) are held to the end of the statement, so they must
  // not be taken before the read's work. `count(*) >= 0` is never folded away by the planner.
  const folded = write.statement(params.length + 1, `(select count(*) from "read") >= 0`);
  const statement = `with "read" as materialized (select row_number() over () as "@n", "q".* from (${text}) "q"),
    "written" as (${folded.text})
    select "w"."rows" as "@w", "r".* from (select coalesce(json_agg("written"), '[]')::text as "rows" from "written") "w"
    left join "read" "r" on true
    order by "r"."@n"`;
  const rows = await sql.query<Record<string, unknown>>(statement, [...params, ...folded.params]);
  write.settle(JSON.parse(String(rows[0]?.['@w'] ?? '[]')) as Record<string, unknown>[]);
  // "@n" is null on the write's row when the read found nothing.
  return rows.filter((row) => row['@n'] !== null && row['@n'] !== undefined) as Row[];
}

// Array parameters as PostgreSQL array literals. The driver would build the same text, but escapes and
// quotes every element one character at a time; on a batch (three arrays of 51) that was a tenth of
// everything the process allocated. Plain elements (ids, bucket keys, numbers) need no quoting.
const PLAIN_ELEMENT = /^[A-Za-z0-9_:.-]+$/;

/** A text[] parameter: `{a,b,"needs \"quotes\""}`. */
export function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i) out += ',';
    out +=
      PLAIN_ELEMENT.test(value) && value.toUpperCase() !== 'NULL'
        ? value
        : `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** An int[]/bigint[] parameter. */
export function integerArrayLiteral(values: readonly number[]): string {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
  }
  return `{${values.join(',')}}`;
}

export function createFastSql(
  orm: Orm,
  databaseUrl: string | undefined,
  poolMax: number,
  timeouts: DatabaseTimeouts = DEFAULT_TIMEOUTS,
): FastSql {
  return databaseUrl ? new PostgresFastSql(databaseUrl, poolMax, timeouts) : new EmbeddedFastSql(orm);
}
