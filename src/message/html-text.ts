/**
 * HTML to plain text for `body` conditions when a message has no text part. Deliberately
 * simple and safe: one forward scan, no regular expressions over the markup, no DOM, no
 * entity tables beyond the handful that matter for matching. Scripts, styles and comments
 * are dropped; block elements become line breaks.
 */

/** Elements whose content is never text a reader sees. */
const SKIP_CONTENT = new Set(['script', 'style', 'head', 'title', 'template', 'noscript']);

/** Elements that start or end a line. */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure',
  'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre',
  'section', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul',
]);

const NAMED_ENTITIES = new Map<string, string>([
  ['amp', '&'], ['lt', '<'], ['gt', '>'], ['quot', '"'], ['apos', "'"], ['nbsp', ' '], ['shy', ''], ['zwnj', ''], ['zwj', ''],
]);

/** Longest entity reference looked at (`&#x10FFFF;` is 10 characters). */
const MAX_ENTITY_LENGTH = 12;

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
}

/**
 * Converts HTML to text, stopping once `maxChars` characters are produced. Linear in the
 * input: every search moves forward and no position is scanned twice by the same search.
 */
export function htmlToText(html: string, maxChars: number): string {
  const out: string[] = [];
  let length = 0;
  let pendingSpace = false;
  let i = 0;

  const emit = (text: string): void => {
    if (pendingSpace && length > 0 && out[out.length - 1] !== '\n') {
      out.push(' ');
      length++;
    }
    pendingSpace = false;
    out.push(text);
    length += text.length;
  };
  const newline = (): void => {
    pendingSpace = false;
    // At most one empty line in a row.
    const n = out.length;
    if (length === 0 || (out[n - 1] === '\n' && out[n - 2] === '\n')) return;
    out.push('\n');
    length++;
  };

  while (i < html.length && length < maxChars) {
    const c = html[i];
    if (c === '<') {
      const next = html.charCodeAt(i + 1);
      if (html.startsWith('<!--', i)) {
        const end = html.indexOf('-->', i + 4);
        i = end < 0 ? html.length : end + 3;
        continue;
      }
      const closing = next === 0x2f; // '/'
      const nameStart = closing ? i + 2 : i + 1;
      if (isAsciiLetter(html.charCodeAt(nameStart)) || next === 0x21 || next === 0x3f) {
        let nameEnd = nameStart;
        while (nameEnd < html.length && /[A-Za-z0-9]/.test(html[nameEnd])) nameEnd++;
        const name = html.slice(nameStart, nameEnd).toLowerCase();
        const tagEnd = findTagEnd(html, nameEnd);
        if (tagEnd < 0) break; // an unterminated tag swallows the rest, as a browser would
        i = tagEnd + 1;
        if (BLOCK.has(name)) newline();
        if (!closing && SKIP_CONTENT.has(name) && html[tagEnd - 1] !== '/') i = skipElement(html, i, name);
        continue;
      }
    }
    if (c === '&') {
      const semi = html.indexOf(';', i + 1);
      if (semi > i + 1 && semi - i <= MAX_ENTITY_LENGTH) {
        const decoded = decodeEntity(html.slice(i + 1, semi));
        if (decoded !== null) {
          if (decoded === ' ') pendingSpace = true;
          else if (decoded !== '') emit(decoded);
          i = semi + 1;
          continue;
        }
      }
    }
    if (isBlank(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    // Copy the run of ordinary characters in one piece.
    let j = i + 1;
    while (j < html.length && html[j] !== '<' && html[j] !== '&' && !isBlank(html[j])) j++;
    emit(html.slice(i, j));
    i = j;
  }
  const text = out.join('').trim();
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}

/**
 * Index of the `>` ending a tag, skipping `>` inside attribute values quoted right after
 * `=` (as HTML tokenizes them); -1 if there is none.
 */
function findTagEnd(html: string, from: number): number {
  let quote = '';
  let afterEquals = false;
  for (let i = from; i < html.length; i++) {
    const c = html[i];
    if (quote !== '') {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '>') return i;
    if ((c === '"' || c === "'") && afterEquals) quote = c;
    if (c === '=') afterEquals = true;
    else if (!isBlank(c)) afterEquals = false;
  }
  return -1;
}

/** Position after the end tag `</name ...>` closing a skipped element, or the end of input. */
function skipElement(html: string, from: number, name: string): number {
  let i = from;
  for (;;) {
    const lt = html.indexOf('</', i);
    if (lt < 0) return html.length;
    const candidate = html.slice(lt + 2, lt + 2 + name.length).toLowerCase();
    const after = html.charCodeAt(lt + 2 + name.length);
    if (candidate === name && !isAsciiLetter(after) && !(after >= 0x30 && after <= 0x39)) {
      const gt = html.indexOf('>', lt);
      return gt < 0 ? html.length : gt + 1;
    }
    i = lt + 2;
  }
}

/** Decodes `amp`, `#39`, `#x27`; null when the reference is not one we know. */
function decodeEntity(ref: string): string | null {
  if (ref.startsWith('#')) {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1);
    if (digits === '' || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return null;
    const code = Number.parseInt(digits, hex ? 16 : 10);
    // Controls and surrogates are not text; U+00A0 and white-space controls read as a space.
    if (code === 0xa0 || code === 0x09 || code === 0x0a || code === 0x0d) return ' ';
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '';
    return String.fromCodePoint(code);
  }
  return NAMED_ENTITIES.get(ref.toLowerCase()) ?? null;
}
