import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LabelerError } from '@labeler/core';
import { parse as parseCsv } from 'csv-parse/sync';
import pg from 'pg';
import type { Kind, Mapping } from './mapping.js';

/** One legacy record: its fields under Labeler's names (the mapping applied), and where it came from. */
export interface SourceRecord {
  /** 1-based line of a JSONL/CSV file; null for a database row. */
  line: number | null;
  raw: Record<string, unknown>;
}

export interface SourceBatch {
  records: SourceRecord[];
  /** Resume after this batch with `batches(kind, size, cursor)`. */
  cursor: string;
}

/** A record that could not even be read (bad JSON, unknown type): reported, never migrated. */
export interface UnreadableRecord {
  line: number;
  reason: string;
}

export interface LegacySource {
  /** Identifies the source for checkpoints (no credentials). */
  readonly key: string;
  readonly unreadable: UnreadableRecord[];
  count(kind: Kind): Promise<number>;
  /** Records of one kind in a stable order, `size` at a time, after `cursor` (null: from the start). */
  batches(kind: Kind, size: number, cursor: string | null): AsyncGenerator<SourceBatch>;
  close(): Promise<void>;
}

/** Blocks (8 KiB) per ctid range read from a PostgreSQL source. */
const RANGE_BLOCKS = 128;

const TYPES: Record<string, Kind> = {
  dataset: 'datasets',
  permission: 'permissions',
  invitation: 'invitations',
  membership: 'memberships',
};

/** Renames a file record's fields (the mapping's column names) to Labeler's field names. */
function renamer(mapping: Mapping, kind: Kind): (record: Record<string, unknown>) => Record<string, unknown> {
  const columns = Object.entries(mapping[kind].columns) as Array<[string, string]>;
  return (record) => Object.fromEntries(columns.map(([field, column]) => [field, record[column]]));
}

/**
 * A JSONL or CSV file: one record per line (CSV: a header row), each with a `type` column of
 * dataset | permission | invitation | membership. The whole file is read at once (legacy exports are
 * small next to memory); the cursor is the index within the kind.
 */
export async function openFileSource(path: string, mapping: Mapping): Promise<LegacySource> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new LabelerError('VALIDATION_ERROR', `Cannot read ${path}: ${error.message}`);
  });
  const byKind = new Map<Kind, SourceRecord[]>();
  const unreadable: UnreadableRecord[] = [];
  const add = (line: number, record: unknown) => {
    if (!record || typeof record !== 'object' || Array.isArray(record)) {
      unreadable.push({ line, reason: 'not an object' });
      return;
    }
    const type = String((record as Record<string, unknown>).type ?? '');
    const kind = TYPES[type];
    if (!kind) {
      unreadable.push({
        line,
        reason: `type: must be one of ${Object.keys(TYPES).join(', ')} (got "${type.slice(0, 40)}")`,
      });
      return;
    }
    const list = byKind.get(kind) ?? [];
    list.push({ line, raw: renamer(mapping, kind)(record as Record<string, unknown>) });
    byKind.set(kind, list);
  };
  if (/\.csv$/i.test(path)) {
    let rows: Array<{ record: Record<string, string>; info: { lines: number } }>;
    try {
      rows = parseCsv(text, {
        columns: true,
        skip_empty_lines: true,
        info: true,
        bom: true,
        relax_column_count: false,
      });
    } catch (error) {
      throw new LabelerError('VALIDATION_ERROR', `${path} is not valid CSV: ${(error as Error).message}`);
    }
    for (const { record, info } of rows) add(info.lines, record);
  } else {
    text.split('\n').forEach((content, i) => {
      if (!content.trim()) return;
      try {
        add(i + 1, JSON.parse(content));
      } catch {
        unreadable.push({ line: i + 1, reason: 'not valid JSON' });
      }
    });
  }
  return {
    key: `file:${createHash('sha256').update(text).digest('hex').slice(0, 32)}`,
    unreadable,
    async count(kind) {
      return byKind.get(kind)?.length ?? 0;
    },
    async *batches(kind, size, cursor) {
      const list = byKind.get(kind) ?? [];
      for (let start = cursor === null ? 0 : Number(cursor); start < list.length; start += size) {
        const end = Math.min(list.length, start + size);
        yield { records: list.slice(start, end), cursor: String(end) };
      }
    },
    async close() {},
  };
}

/**
 * The Platform's own PostgreSQL database (read only). Rows are read in physical order (`ctid`, a TID
 * range scan), which needs no index and is stable while the legacy tables are not written; stop the
 * Platform's writes to them during a migration.
 */
export async function openPostgresSource(url: string, mapping: Mapping): Promise<LegacySource> {
  const client = new pg.Client({ connectionString: url, application_name: 'labeler platform migrate' });
  await client.connect().catch((error: Error) => {
    throw new LabelerError('SERVICE_UNAVAILABLE', `Cannot connect to the legacy database: ${error.message}`);
  });
  // Read-only: a mistake in a mapping can never write the Platform's tables.
  await client.query('set session characteristics as transaction read only');
  const parsed = new URL(url);
  const quote = (name: string) =>
    name
      .split('.')
      .map((p) => `"${p}"`)
      .join('.');
  /** The mapped columns the legacy table has (a missing optional one reads as absent, a required one fails its rows). */
  const selectList = async (kind: Kind) => {
    const { rows } = await query<{ name: string }>(
      `select attname as name from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped`,
      [quote(mapping[kind].table)],
    );
    const present = new Set(rows.map((r) => r.name));
    return (Object.entries(mapping[kind].columns) as Array<[string, string]>)
      .filter(([, column]) => present.has(column.split('.').pop() ?? column))
      .map(([field, column]) => `${quote(column)} as "${field}"`)
      .join(', ');
  };
  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    try {
      return await client.query<T>(sql, params);
    } catch (error) {
      throw new LabelerError(
        'VALIDATION_ERROR',
        `Legacy query failed (check the mapping): ${(error as Error).message}`,
        {
          details: { sql: sql.slice(0, 300) },
        },
      );
    }
  };
  return {
    key: `postgres:${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    unreadable: [],
    async count(kind) {
      const { rows } = await query<{ n: string }>(`select count(*) as n from ${quote(mapping[kind].table)}`);
      return Number(rows[0]?.n ?? 0);
    },
    async *batches(kind, size, cursor) {
      const table = quote(mapping[kind].table);
      const { rows: pages } = await query<{ n: number }>(
        `select (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int as n`,
        [table],
      );
      const blocks = pages[0]?.n ?? 0;
      const columns = await selectList(kind);
      // (block, 0) precedes every tuple of that block (offsets start at 1): an exclusive lower bound.
      let after = cursor ?? '(0,0)';
      for (;;) {
        const block = Number(after.slice(1).split(',')[0]);
        if (!(block < blocks)) return;
        // One range of blocks at a time, so the sort by ctid covers a few thousand rows, not the table.
        const end = `(${block + RANGE_BLOCKS},0)`;
        const { rows } = await query<Record<string, unknown> & { __ctid: string }>(
          `select ctid::text as "__ctid"${columns ? `, ${columns}` : ''} from ${table} where ctid > $1::tid and ctid < $2::tid order by ctid limit $3`,
          [after, end, size],
        );
        after = rows.length === size ? (rows[rows.length - 1]?.__ctid ?? end) : end;
        if (rows.length)
          yield { records: rows.map(({ __ctid, ...raw }) => ({ line: null, raw })), cursor: after };
      }
    },
    async close() {
      await client.end();
    },
  };
}

/** Refuses a --from that names no kind of source (before a job is started for it). */
export function assertSourceShape(from: string): void {
  if (/^postgres(ql)?:\/\//.test(from) || /\.(jsonl|ndjson|csv)$/i.test(from)) return;
  throw new LabelerError(
    'VALIDATION_ERROR',
    '--from must be a postgres:// URL, a .jsonl file or a .csv file',
    {
      details: { from: from.replace(/\/\/[^@/]*@/, '//***@') },
    },
  );
}

export async function openSource(from: string, mapping: Mapping): Promise<LegacySource> {
  assertSourceShape(from);
  return /^postgres(ql)?:\/\//.test(from) ? openPostgresSource(from, mapping) : openFileSource(from, mapping);
}
