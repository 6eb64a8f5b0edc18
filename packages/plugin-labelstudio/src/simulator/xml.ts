/**
 * A small, strict XML reader for label configs. Label Studio parses configs with lxml; this reader
 * rejects the same classes of malformed input (unbalanced tags, bad attributes, stray `<`, bad entities)
 * with lxml-style messages, which is all the simulator needs.
 */
export interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

export class XmlSyntaxError extends Error {}

const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const ATTR = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const BAD_ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

function lineCol(text: string, index: number): string {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return `line ${line}, column ${index - before.lastIndexOf('\n')}`;
}

function decode(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

export function parseXml(text: string): XmlNode {
  const stack: XmlNode[] = [];
  let root: XmlNode | null = null;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (BAD_ENTITY.test(chunk)) throw new XmlSyntaxError(`xmlParseEntityRef: no name, ${lineCol(text, i)}`);
    if (chunk.trim() && stack.length === 0)
      throw new XmlSyntaxError(`Start tag expected, '<' not found, ${lineCol(text, i)}`);
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) throw new XmlSyntaxError(`Comment not terminated, ${lineCol(text, lt)}`);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end === -1) throw new XmlSyntaxError(`ParsePI: PI xml never end ..., ${lineCol(text, lt)}`);
      i = end + 2;
      continue;
    }
    TAG.lastIndex = lt;
    const m = TAG.exec(text);
    if (!m) throw new XmlSyntaxError(`StartTag: invalid element name, ${lineCol(text, lt)}`);
    const [whole, closing, tag, rawAttrs, selfClosing] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (closing) {
      const open = stack.pop();
      if (!open) throw new XmlSyntaxError(`Extra content at the end of the document, ${lineCol(text, lt)}`);
      if (open.tag !== tag)
        throw new XmlSyntaxError(
          `Opening and ending tag mismatch: ${open.tag} and ${tag}, ${lineCol(text, lt)}`,
        );
    } else {
      if (root && stack.length === 0)
        throw new XmlSyntaxError(`Extra content at the end of the document, ${lineCol(text, lt)}`);
      const attrs: Record<string, string> = {};
      for (const a of rawAttrs.matchAll(ATTR)) {
        const name = a[1]!;
        const value = a[2] ?? a[3] ?? '';
        if (name in attrs) throw new XmlSyntaxError(`Attribute ${name} redefined, ${lineCol(text, lt)}`);
        if (BAD_ENTITY.test(value))
          throw new XmlSyntaxError(`xmlParseEntityRef: no name, ${lineCol(text, lt)}`);
        attrs[name] = decode(value);
      }
      const node: XmlNode = { tag, attrs, children: [] };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(node);
      else root = node;
      if (!selfClosing) stack.push(node);
    }
    i = lt + whole.length;
  }
  if (stack.length > 0)
    throw new XmlSyntaxError(
      `Premature end of data in tag ${stack[stack.length - 1]!.tag}, ${lineCol(text, text.length)}`,
    );
  if (!root) throw new XmlSyntaxError('Document is empty, line 1, column 1');
  return root;
}

export function* walk(node: XmlNode): Generator<XmlNode> {
  yield node;
  for (const child of node.children) yield* walk(child);
}
