/**
 * One core label can become several LS results (a multi-shape Polyline, a multi-point Keypoint). Each part
 * carries `<label id>::<index>` so the pull can regroup the parts under the original label id. A label
 * with one part keeps its plain id, so regions an annotator creates in LS (plain random ids) and
 * single-part labels look the same. Label ids must therefore not themselves end in `::<digits>`.
 */
const PART = /^(.*)::(\d+)$/;

export function partId(labelId: string, index: number): string {
  return `${labelId}::${index}`;
}

export function parsePartId(resultId: string): { labelId: string; index: number } | null {
  const m = PART.exec(resultId);
  return m ? { labelId: m[1]!, index: Number(m[2]) } : null;
}
