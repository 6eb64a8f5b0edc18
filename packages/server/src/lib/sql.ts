/**
 * A PostgreSQL text[] literal for a `?::text[]` binding: array bindings are expanded into value lists by
 * the driver, so arrays travel as one escaped literal.
 */
export function pgTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}
