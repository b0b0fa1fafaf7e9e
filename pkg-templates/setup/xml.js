// The few fields the setup command reads from IAM's and STS's XML answers. A small, strict reader
// rather than an XML dependency: the package has no dependencies (its tarball installs offline),
// and these answers are small documents of elements, attributes and text with the five named
// entities and character references. Anything else (comments, CDATA, a DOCTYPE, unbalanced tags)
// is refused, never guessed at.
import { kinesisError } from '../errors.js';

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function invalid(why) {
  return kinesisError('InvalidResponse', `the service answered with XML that could not be read: ${why}`);
}

function unescape(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, name) => {
    if (name === undefined) throw invalid('a bare "&"');
    if (name[0] !== '#') {
      if (!(name in ENTITIES)) throw invalid(`unknown entity &${name};`);
      return ENTITIES[name];
    }
    const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (!(code <= 0x10ffff)) throw invalid(`a character reference out of range, &${name};`);
    return String.fromCodePoint(code);
  });
}

/** The document's root element as `{ name, children: [element], text }` (namespaces ignored). */
export function parseXml(source) {
  const text = source.replace(/^\uFEFF?\s*(<\?xml[^?]*\?>)?/, '');
  const tag = /<(\/?)([A-Za-z_][\w.-]*(?::[\w.-]+)?)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  const root = { name: '', children: [], text: '' };
  const open = [root];
  let at = 0;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const chunk = text.slice(at, lt === -1 ? text.length : lt);
    const parent = open.at(-1);
    if (parent === root ? chunk.trim() !== '' : false) throw invalid('text outside the root element');
    parent.text += unescape(chunk);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(text);
    if (!m) throw invalid(`unexpected markup at offset ${lt}`);
    const [, closing, qualified, , selfClosing] = m;
    const name = qualified.split(':').at(-1);
    if (closing) {
      if (selfClosing || open.length === 1 || open.at(-1).name !== name) throw invalid(`unbalanced </${qualified}>`);
      open.pop();
    } else {
      const element = { name, children: [], text: '' };
      if (parent === root && root.children.length > 0) throw invalid('more than one root element');
      parent.children.push(element);
      if (!selfClosing) open.push(element);
    }
    at = tag.lastIndex;
  }
  if (open.length !== 1 || root.children.length !== 1) throw invalid('the document is incomplete');
  return root.children[0];
}

/** The element at `path` (names of nested children, each of which must occur once) or undefined. */
export function xmlElement(element, ...path) {
  let here = element;
  for (const name of path) {
    const found = here.children.filter((c) => c.name === name);
    if (found.length > 1) throw invalid(`<${name}> occurs ${found.length} times`);
    if (found.length === 0) return undefined;
    [here] = found;
  }
  return here;
}

/** The text of the element at `path`; missing: a typed error naming the field. */
export function xmlText(element, ...path) {
  const found = xmlElement(element, ...path);
  if (!found || found.children.length > 0) throw invalid(`no text at ${[element.name, ...path].join('/')}`);
  return found.text;
}

/** The first element named `name` in document order, at any depth (AWS error answers nest
 * their `<Error>` differently from service to service). */
export function xmlFind(element, name) {
  if (element.name === name) return element;
  for (const child of element.children) {
    const found = xmlFind(child, name);
    if (found) return found;
  }
  return undefined;
}
