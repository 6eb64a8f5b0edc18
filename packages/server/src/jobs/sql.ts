import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import type { Em } from '../db/orm.js';

/** pg-boss's database interface: `$1` placeholders, rows back. Our own job SQL uses the same shape. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** The part of a Kysely instance or transaction used here (MikroORM's getKysely()). */
interface KyselyExecutor {
  executeQuery(query: CompiledQuery): Promise<{ rows: readonly Record<string, unknown>[] }>;
}

interface KyselyCapable {
  getKysely(): KyselyExecutor;
}

/**
 * Statements on the entity manager's connection: inside its transaction when it has one (MikroORM's
 * getKysely() returns the transaction), else on the pool. Also what pg-boss gets for a transactional send.
 */
export function sqlOf(em: Em): SqlExecutor {
  // Typed structurally: MikroORM's Kysely types are wider than the raw query used here.
  const capable = em as unknown as Partial<KyselyCapable>;
  if (typeof capable.getKysely !== 'function')
    throw new Error('The job runtime needs a SQL driver (PostgreSQL or PGlite).');
  const kysely = capable.getKysely();
  // A raw compiled query, as pg-boss's own fromKysely() adapter sends it (and db/fast-sql.ts on PGlite);
  // not that adapter itself, so processes which never start pg-boss (CLI, servers without embedded
  // workers) do not load it.
  return {
    async executeSql(text, values) {
      const result = await kysely.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: [...result.rows] };
    },
  };
}

/**
 * The pg-boss job id of one of our jobs: a UUID derived from our id, so cancel and lookups need no
 * extra column (each of our jobs maps to exactly one pg-boss job; a manual retry is a new job).
 */
export function bossIdOf(jobId: string): string {
  const h = createHash('sha256').update(`labeler-job:${jobId}`).digest('hex');
  const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
