/**
 * Content-Type parsing as postal-mime does it (RFC 2045 §5.1, RFC 2231): the guard must find
 * exactly the boundaries the parser will, or a crafted header could hide parts from the limits.
 */

/**
 * Media type and boundary of a Content-Type value (RFC 2045 §5.1), with comments removed,
 * quoted strings unescaped, the first occurrence of a parameter winning, and RFC 2231
 * continuations (`boundary*0`, `boundary*1*`, `boundary*=utf-8''…`) joined.
 */
export function parseContentType(value: string): { type: string; boundary: string | null } {
  const params: Array<{ name: string; value: string }> = [];
  let type = '';
  let token = '';
  // Whether `token` holds anything but blanks, and whether it ends in one: kept as flags so
  // that each character costs O(1) however long the value is.
  let tokenHasText = false;
  let tokenEndsBlank = false;
  let name: string | null = null;
  let inQuote = false;
  let quoted = false;
  let commentDepth = 0;
  let sawType = false;

  const append = (c: string): void => {
    token += c;
    const blank = c === ' ' || c === '\t';
    tokenEndsBlank = blank;
    if (!blank) tokenHasText = true;
  };
  const reset = (): void => {
    token = '';
    tokenHasText = false;
    tokenEndsBlank = false;
  };
  const finish = (): void => {
    if (!sawType) {
      type = token.trim().toLowerCase();
      sawType = true;
    } else if (name !== null) {
      params.push({ name, value: quoted ? token : token.trim() });
    }
    reset();
    name = null;
    quoted = false;
  };

  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuote) {
      if (c === '\\' && i + 1 < value.length) {
        token += value[++i];
      } else if (c === '"') {
        inQuote = false;
      } else {
        token += c;
      }
      continue;
    }
    if (commentDepth > 0) {
      if (c === '\\') i++;
      else if (c === '(') commentDepth++;
      else if (c === ')') commentDepth--;
      continue;
    }
    // A parenthesis inside an unquoted token value is content (`name=a(1).pdf`); elsewhere it opens a comment.
    if (c === '(' && (name === null || !tokenHasText || tokenEndsBlank)) {
      commentDepth = 1;
      continue;
    }
    if (c === '"' && name !== null && !tokenHasText) {
      inQuote = true;
      quoted = true;
      reset();
      continue;
    }
    if (c === ';') {
      finish();
      continue;
    }
    if (c === '=' && sawType && name === null) {
      name = token.trim().toLowerCase();
      reset();
      continue;
    }
    // Anything after a closed quoted string is junk (RFC 2045: a value is a token or a quoted string).
    if (!quoted) append(c);
  }
  finish();
  return { type, boundary: boundaryParam(params) };
}

/** The boundary parameter, plain or assembled from RFC 2231 §3/§4 sections. */
function boundaryParam(params: Array<{ name: string; value: string }>): string | null {
  let plain: string | null = null;
  const sections: Array<{ n: number; value: string; encoded: boolean }> = [];
  let charsetSeen = false;
  for (const p of params) {
    if (p.name === 'boundary') {
      if (plain === null) plain = p.value;
      continue;
    }
    const m = /^boundary\*(?:(\d{1,3})(\*)?)?$/.exec(p.name);
    if (m === null) continue;
    const n = m[1] === undefined ? 0 : Number(m[1]);
    const encoded = m[1] === undefined || m[2] === '*';
    let v = p.value;
    if (n === 0 && encoded && !charsetSeen) {
      const parts = /^([^']*)'[^']*'(.*)$/.exec(v);
      if (parts !== null) v = parts[2];
      charsetSeen = true;
    }
    sections.push({ n, value: v, encoded });
  }
  // As in postal-mime, assembled sections take precedence over a plain parameter.
  if (sections.length === 0) return plain;
  sections.sort((a, b) => a.n - b.n);
  return sections.map((s) => (s.encoded ? percentDecode(s.value) : s.value)).join('');
}

/** RFC 2231 §4 percent-decoding to UTF-8; malformed escapes stay as written. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
