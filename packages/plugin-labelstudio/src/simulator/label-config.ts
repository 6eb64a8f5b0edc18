/**
 * Label-config validation as Label Studio applies it on project create/patch and `/validate`.
 * Malformed XML and semantic errors are reported differently (reference §3), so this returns which.
 */
import { parseXml, walk, XmlSyntaxError, type XmlNode } from './xml.js';

const OBJECT_TAGS = new Set([
  'Image',
  'Text',
  'HyperText',
  'Audio',
  'AudioPlus',
  'Video',
  'Paragraphs',
  'Table',
  'TimeSeries',
  'Pdf',
  'List',
]);
const CONTROL_TAGS = new Set([
  'RectangleLabels',
  'Rectangle',
  'PolygonLabels',
  'Polygon',
  'KeyPointLabels',
  'KeyPoint',
  'BrushLabels',
  'Brush',
  'EllipseLabels',
  'Ellipse',
  'Choices',
  'Labels',
  'TextArea',
  'Rating',
  'Number',
  'DateTime',
  'Taxonomy',
  'Relations',
  'Pairwise',
  'Ranker',
]);
const LABEL_CONTROLS = new Set([
  'RectangleLabels',
  'PolygonLabels',
  'KeyPointLabels',
  'BrushLabels',
  'EllipseLabels',
  'Labels',
]);
const VISUAL_TAGS = new Set([
  'View',
  'Header',
  'Style',
  'Filter',
  'Collapse',
  'Panel',
  'Shortcut',
  'Label',
  'Choice',
  'Relation',
  'Hypertext',
  'Repeater',
]);

export type LabelConfigCheck =
  | { ok: true; root: XmlNode; objectNames: string[]; controlNames: string[]; variables: string[] }
  | { ok: false; kind: 'syntax'; message: string }
  | { ok: false; kind: 'validation'; message: string };

const fail = (message: string): LabelConfigCheck => ({ ok: false, kind: 'validation', message });

export function checkLabelConfig(config: string): LabelConfigCheck {
  if (!config || config.trim() === '') return fail('Label config cannot be empty');
  let root: XmlNode;
  try {
    root = parseXml(config);
  } catch (error) {
    if (error instanceof XmlSyntaxError) return { ok: false, kind: 'syntax', message: error.message };
    throw error;
  }
  if (root.tag !== 'View') return fail(`Root tag must be <View>, got <${root.tag}>`);
  const names = new Set<string>();
  const objectNames: string[] = [];
  const controls: XmlNode[] = [];
  const variables: string[] = [];
  for (const node of walk(root)) {
    if (!OBJECT_TAGS.has(node.tag) && !CONTROL_TAGS.has(node.tag) && !VISUAL_TAGS.has(node.tag)) {
      return fail(`Tag <${node.tag}> is not supported: check the tag name (tag names are case-sensitive)`);
    }
    const name = node.attrs.name;
    if (OBJECT_TAGS.has(node.tag) || CONTROL_TAGS.has(node.tag)) {
      if (!name) return fail(`<${node.tag}> requires a "name" attribute`);
      if (names.has(name)) return fail(`Label config contains non-unique names: "${name}"`);
      names.add(name);
    }
    if (OBJECT_TAGS.has(node.tag)) {
      const value = node.attrs.value;
      if (!value)
        return fail(`<${node.tag} name="${name}"> requires a "value" attribute, e.g. value="$image"`);
      objectNames.push(name!);
      if (value.startsWith('$')) variables.push(value.slice(1));
    }
    if (CONTROL_TAGS.has(node.tag)) controls.push(node);
  }
  for (const control of controls) {
    const toName = control.attrs.toName;
    if (!toName) return fail(`<${control.tag} name="${control.attrs.name}"> requires a "toName" attribute`);
    for (const target of toName.split(',')) {
      if (!objectNames.includes(target)) {
        return fail(
          `toName="${target}" not found in names: [${objectNames.map((n) => `'${n}'`).join(', ')}]`,
        );
      }
    }
    if (LABEL_CONTROLS.has(control.tag) && !control.children.some((c) => c.tag === 'Label')) {
      return fail(`<${control.tag} name="${control.attrs.name}"> must contain at least one <Label>`);
    }
    if (control.tag === 'Choices' && !control.children.some((c) => c.tag === 'Choice')) {
      return fail(`<Choices name="${control.attrs.name}"> must contain at least one <Choice>`);
    }
  }
  return { ok: true, root, objectNames, controlNames: controls.map((c) => c.attrs.name!), variables };
}

/** Label values per control name, used to reject a PATCH that drops labels already used by annotations. */
export function labelsByControl(root: XmlNode): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const node of walk(root)) {
    if (!CONTROL_TAGS.has(node.tag)) continue;
    const values = new Set(
      node.children.filter((c) => c.tag === 'Label' || c.tag === 'Choice').map((c) => c.attrs.value ?? ''),
    );
    out.set(node.attrs.name!, values);
  }
  return out;
}
