import { individualLabels, type LabelValue, type SampleDiff } from '@labeler/core';

/** JSON with sorted keys and undefined dropped, so equal labels compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

interface FlatLabel {
  id: string;
  cls: string;
  label: string;
  json: string;
  summary: string;
}

const round = (v: number) => Number(v.toFixed(4));

/** Every individual label of a field value (containers are opened up). */
export function flattenLabels(value: LabelValue | null | undefined): FlatLabel[] {
  return individualLabels(value).map((l) => {
    let geometry = '';
    if (l._cls === 'Detection')
      geometry = ` [${l.bounding_box.map(round).join(', ')}]${l.rotation ? ` rot ${l.rotation}` : ''}`;
    else if (l._cls === 'Polyline') geometry = ` ${l.points.reduce((n, s) => n + s.length, 0)} points`;
    else if (l._cls === 'Keypoint') geometry = ` ${l.points.length} points`;
    else if (l._cls === 'Segmentation') geometry = ` mask ${l.mask.size.join('×')}`;
    return {
      id: l.id,
      cls: l._cls,
      label: l.label,
      json: canonical(l),
      summary: `${l._cls} "${l.label}"${geometry}`,
    };
  });
}

/** Per-sample diff in the contract's shape: counts plus one human-readable line per change. */
export function diffLabels(
  sampleId: string,
  filepath: string,
  before: Record<string, LabelValue | null | undefined>,
  after: Record<string, LabelValue | null | undefined>,
): SampleDiff {
  const diff: SampleDiff = { sampleId, filepath, added: 0, updated: 0, removed: 0, lines: [] };
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const field of fields) {
    const old = new Map(flattenLabels(before[field]).map((l) => [l.id, l]));
    const now = new Map(flattenLabels(after[field]).map((l) => [l.id, l]));
    for (const [id, l] of now) {
      const prev = old.get(id);
      if (!prev) {
        diff.added++;
        diff.lines.push(`+ ${field}: ${l.summary} (${id})`);
      } else if (prev.json !== l.json) {
        diff.updated++;
        diff.lines.push(`~ ${field}: ${prev.summary} → ${l.summary} (${id})`);
      }
    }
    for (const [id, l] of old) {
      if (!now.has(id)) {
        diff.removed++;
        diff.lines.push(`- ${field}: ${l.summary} (${id})`);
      }
    }
  }
  return diff;
}
