import type { datasetSchema } from '@labeler/core';
import pg from 'pg';

/**
 * Dataset views written as JSON text straight from database rows, for the Platform's list and batch
 * responses (50 datasets per request, thousands of requests a second). Going through toDatasetView
 * allocates a Date per timestamp, an array per array column and two objects per dataset, and then
 * JSON.stringify walks them all again; here each column is read as the server's text and appended once.
 *
 * The output is byte for byte JSON.stringify(toDatasetView(record)) restricted to the requested fields
 * (test/dataset-json.test.ts and the lane parity test hold the two together).
 *
 * Rows may come as PostgreSQL text (FastSql.queryText on a server) or as parsed values (embedded
 * PGlite); every writer accepts both.
 */

/** A field of the spec's Dataset (core's datasetSchema), which is also the column it is read from. */
export type DatasetViewField = keyof typeof datasetSchema.shape;

type Writer = (value: unknown) => string;

const string: Writer = (value) => JSON.stringify(String(value));
const nullableString: Writer = (value) => (value === null || value === undefined ? 'null' : string(value));
const boolean: Writer = (value) => (value === true || value === 't' ? 'true' : 'false');
const INTEGER = /^-?\d{1,15}$/;
const integer: Writer = (value) => {
  if (typeof value === 'string' && INTEGER.test(value)) return value;
  return JSON.stringify(Number(value));
};
/** Columns selected through array_to_json(…)::text: already JSON; PGlite may hand back the parsed array. */
const jsonArray: Writer = (value) =>
  typeof value === 'string' ? value : JSON.stringify(Array.isArray(value) ? value : []);

const UTC_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?\+00$/;
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

/**
 * A timestamptz as Date.toISOString() writes it (milliseconds, truncated as a Date truncates them).
 * PostgreSQL's ISO text in UTC (`2026-11-21 09:53:25.443123+00`, fraction optional) is sliced without a
 * Date; anything else (another session time zone, years past 9999, BC dates) goes through the driver's
 * own parser.
 */
export function isoTimestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  const text = String(value);
  if (UTC_TIMESTAMP.test(text)) {
    // `.ffffff` sits between index 19 and the "+00"; a Date keeps (truncates to) milliseconds.
    const fraction = text.length > 22 ? text.slice(20, -3) : '';
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.length >= 3 ? fraction.slice(0, 3) : fraction.padEnd(3, '0')}Z`;
  }
  return parseTimestamptz(text).toISOString();
}
const timestamp: Writer = (value) => `"${isoTimestamp(value)}"`;

/** How each field's value is written. */
const WRITERS: Record<DatasetViewField, Writer> = {
  id: string,
  name: string,
  description: nullableString,
  format: string,
  labeled: boolean,
  storage_type: string,
  storage_path: string,
  annotation_path: nullableString,
  num_classes: integer,
  num_images: integer,
  class_names: jsonArray,
  tags: jsonArray,
  visibility: string,
  owner_id: integer,
  created_at: timestamp,
  updated_at: timestamp,
  version: integer,
  content_hash: nullableString,
};

function selectColumn(field: DatasetViewField): string {
  const column = `"dataset"."${field}"`;
  return WRITERS[field] === jsonArray
    ? `coalesce(array_to_json(${column})::text, '[]') as "${field}"`
    : `${column} as "${field}"`;
}

/** A compiled writer for one list of fields (in the order they are written). */
export interface DatasetJsonWriter {
  /** The select list, from table `"dataset"`: its `id` first, then each field. */
  readonly columns: string;
  /** The JSON of a row read with `columns` (FastSql.queryText). */
  write(row: readonly unknown[]): string;
}

const writers = new Map<string, DatasetJsonWriter>();

export function datasetJsonWriter(fields: readonly DatasetViewField[]): DatasetJsonWriter {
  const cacheKey = fields.join(',');
  const cached = writers.get(cacheKey);
  if (cached) return cached;
  const columns = ['"dataset"."id" as "@id"', ...fields.map(selectColumn)].join(', ');
  const parts = fields.map((field, i) => ({
    column: i + 1,
    prefix: `${i === 0 ? '{' : ','}"${field}":`,
    write: WRITERS[field],
  }));
  const writer: DatasetJsonWriter = {
    columns,
    write(row) {
      if (!parts.length) return '{}';
      let out = '';
      for (const part of parts) out += part.prefix + part.write(row[part.column]);
      return `${out}}`;
    },
  };
  if (writers.size < 1_000) writers.set(cacheKey, writer);
  return writer;
}
