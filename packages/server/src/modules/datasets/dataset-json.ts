import type { datasetSchema } from '@labeler/core';

/**
 * Dataset views written as JSON by PostgreSQL, for the Platform's list and batch responses (50 datasets
 * per request, thousands of requests a second). Going through toDatasetView allocates a Date per
 * timestamp, an array per array column and two objects per dataset, and JSON.stringify then walks them
 * all again; building the text in node still cost a string per column. Here the database writes each
 * row's JSON text and the server only splices the rows into the response, which keeps the
 * single-threaded server free for requests.
 *
 * The text is concatenated from each value's JSON (to_json escapes strings as JSON.stringify does), in
 * the order asked and without spaces: row_to_json would do the same with a subquery per row, which cost
 * the database a fifth more.
 *
 * The output is byte for byte JSON.stringify(toDatasetView(record)) restricted to the requested fields
 * (test/dataset-json.test.ts and the lane parity test hold the two together) for timestamps in years
 * 1 to 9999, which covers every time the server writes.
 */

/** A field of the spec's Dataset (core's datasetSchema), which is also the column it is read from. */
export type DatasetViewField = keyof typeof datasetSchema.shape;

/** SQL for a column's value as JSON text; never SQL null, so the concatenation never turns null. */
type JsonText = (column: string) => string;

const string: JsonText = (column) => `coalesce(to_json(${column})::text, 'null')`;
/** Integers and booleans: their text is their JSON. */
const literal: JsonText = (column) => `coalesce(${column}::text, 'null')`;
/** Arrays are never null in a view. */
const array: JsonText = (column) => `coalesce(array_to_json(${column})::text, '[]')`;
/** As Date.toISOString() writes it: UTC, milliseconds truncated (to_char's MS truncates too). */
const timestamp: JsonText = (column) =>
  `coalesce('"' || to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;

const JSON_TEXT: Record<DatasetViewField, JsonText> = {
  id: string,
  name: string,
  description: string,
  format: string,
  labeled: literal,
  storage_type: string,
  storage_path: string,
  annotation_path: string,
  num_classes: literal,
  num_images: literal,
  class_names: array,
  tags: array,
  visibility: string,
  owner_id: literal,
  created_at: timestamp,
  updated_at: timestamp,
  version: literal,
  content_hash: string,
};

/** A row read with `datasetJsonColumns`: the dataset's id and its JSON. */
export interface DatasetJsonRow {
  '@id': string;
  '@json': string;
}

const selectLists = new Map<string, string>();

/** The select list, from table `"dataset"`, of a DatasetJsonRow with `fields` (in the order they are written). */
export function datasetJsonColumns(fields: readonly DatasetViewField[]): string {
  const cacheKey = fields.join(',');
  const cached = selectLists.get(cacheKey);
  if (cached) return cached;
  const json = fields.length
    ? `${fields
        .map(
          (field, i) => `'${i === 0 ? '{' : ','}"${field}":' || ${JSON_TEXT[field](`"dataset"."${field}"`)}`,
        )
        .join(' || ')} || '}'`
    : `'{}'`;
  const columns = `"dataset"."id" as "@id", ${json} as "@json"`;
  if (selectLists.size < 1_000) selectLists.set(cacheKey, columns);
  return columns;
}
