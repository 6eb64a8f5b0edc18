import type { LabelControl } from '@labeler/core';

/**
 * A minimal reader for Label Studio label-config XML: which controls exist, what they point at and which
 * classes they offer. Preflight needs only that, so a full XML parser (and a dependency) is not worth it.
 */
export interface ConfigControl {
  tag: string;
  name: string;
  toName: string | null;
  values: Set<string>;
}

export const CONTROL_TAGS: Record<LabelControl['type'], string> = {
  rectangle: 'RectangleLabels',
  polygon: 'PolygonLabels',
  keypoint: 'KeyPointLabels',
  brush: 'BrushLabels',
  choices: 'Choices',
};

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)),
      );
    return ENTITIES[e.toLowerCase()] ?? _m;
  });

function attr(attrs: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(attrs);
  return m ? decode(m[1] ?? m[2] ?? '') : null;
}

export function parseLabelConfig(xml: string): Map<string, ConfigControl> {
  const out = new Map<string, ConfigControl>();
  const tags = Object.values(CONTROL_TAGS).join('|');
  const re = new RegExp(`<(${tags})\\b([^>]*?)(/>|>([\\s\\S]*?)</\\1\\s*>)`, 'gi');
  for (const m of xml.matchAll(re)) {
    const name = attr(m[2]!, 'name');
    if (!name) continue;
    const values = new Set<string>();
    for (const v of (m[4] ?? '').matchAll(/<(?:Label|Choice)\b([^>]*?)\/?>/gi)) {
      const value = attr(v[1]!, 'value');
      if (value !== null) values.add(value);
    }
    out.set(name, { tag: m[1]!, name, toName: attr(m[2]!, 'toName'), values });
  }
  return out;
}
