import type { datasetSchema } from '@labeler/core';

/**
 * Dataset views written as JSON by PostgreSQL, for the Platform's list and batch responses (50 datasets
 * per request, thousands of requests a second). Going through toDatasetView allocates a Date per
 * timestamp, an array per array column and two objects per dataset, and JSON.stringify then walks them
 * all again; building the text in node still cost a string per column. Here the database writes each
 * row's JSON (row_to_json: compact, keys in the order asked, strings escaped as JSON.stringify escapes
 * them) and the server only splices the rows into the response, which keeps the single-threaded server
 * free for requests.
 *
 * The output is byte for byte JSON.stringify(toDatasetView(record)) restricted to the requested fields
 * (test/dataset-json.test.ts and the lane parity test hold the two together) for timestamps in years
 * 1 to 9999, which covers every time the server writes.
 */

/** A field of the spec's Dataset (core's datasetSchema), which is also the column it is read from. */
export type DatasetViewField = keyof typeof datasetSchema.shape;

type Column = (column: string) => string;

const asIs: Column = (column) => column;
/** Arrays are never null in a view. */
const array: Column = (column) => `coalesce(${column}, '{}'::text[])`;
/** As Date.toISOString() writes it: UTC, milliseconds truncated (to_char's MS truncates too). */
const timestamp: Column = (column) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** How each field's value is selected; the column type decides its JSON (text, number, boolean, array). */
const COLUMNS: Record<DatasetViewField, Column> = {
  id: asIs,
  name: asIs,
  description: asIs,
  format: asIs,
  labeled: asIs,
  storage_type: asIs,
  storage_path: asIs,
  annotation_path: asIs,
  num_classes: asIs,
  num_images: asIs,
  class_names: array,
  tags: array,
  visibility: asIs,
  owner_id: asIs,
  created_at: timestamp,
  updated_at: timestamp,
  version: asIs,
  content_hash: asIs,
};

/** A compiled writer for one list of fields (in the order they are written). */
export interface DatasetJsonWriter {
  /** The select list, from table `"dataset"`: its `id`, then the row's JSON as text. */
  readonly columns: string;
  /** The JSON of a row read with `columns`. */
  write(row: readonly unknown[]): string;
}

const writers = new Map<string, DatasetJsonWriter>();

export function datasetJsonWriter(fields: readonly DatasetViewField[]): DatasetJsonWriter {
  const cacheKey = fields.join(',');
  const cached = writers.get(cacheKey);
  if (cached) return cached;
  const selected = fields.map((field) => `${COLUMNS[field](`"dataset"."${field}"`)} as "${field}"`);
  const writer: DatasetJsonWriter = fields.length
    ? {
        columns: `"dataset"."id" as "@id", (select row_to_json("view")::text from (select ${selected.join(', ')}) as "view") as "@json"`,
        write: (row) => String(row[1]),
      }
    : { columns: '"dataset"."id" as "@id"', write: () => '{}' };
  if (writers.size < 1_000) writers.set(cacheKey, writer);
  return writer;
}
