/**
 * A tolerant reader for Authentication-Results values (RFC 8601 §2.2) and the
 * ARC-Authentication-Results variant with its leading `i=N;` (RFC 8617 §4.1.1). Used to read
 * what a trusted ARC sealer recorded; the value comes from a message, so nothing here throws
 * and the work is linear in the input.
 */

/** One `method=result` with its `ptype.property=value` pairs (keys lower-case). */
export interface AuthResultEntry {
  method: string;
  result: string;
  props: Record<string, string>;
}

/** A parsed value: the ARC instance (null for plain A-R), the authserv-id, and the results. */
export interface ParsedAuthResults {
  instance: number | null;
  authservId: string;
  entries: AuthResultEntry[];
}

/** Parses an (ARC-)Authentication-Results header value; unknown syntax is skipped, never thrown. */
export function parseAuthResults(value: string): ParsedAuthResults {
  const segments = splitOutsideQuotes(stripComments(value.replace(/\r?\n[ \t]/g, ' ')), ';').map((s) => s.trim());
  let instance: number | null = null;
  const first = /^i\s*=\s*(\d{1,2})$/i.exec(segments[0] ?? '');
  if (first) {
    instance = Number(first[1]);
    segments.shift();
  }
  const authservId = unquote(/^("(?:[^"\\]|\\.)*"|\S*)/.exec(segments.shift() ?? '')?.[1] ?? '');
  const entries: AuthResultEntry[] = [];
  for (const segment of segments) {
    const pairs = [...segment.matchAll(/([^\s=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/g)];
    const head = pairs.shift();
    if (!head) continue; // "none" (no results) or noise
    const [method] = head[1].toLowerCase().split('/');
    const props: Record<string, string> = {};
    for (const [, key, raw] of pairs) props[key.toLowerCase()] = unquote(raw);
    entries.push({ method, result: unquote(head[2]).toLowerCase(), props });
  }
  return { instance, authservId, entries };
}

/** Removes RFC 5322 comments (nested parentheses, quoted-pairs), leaving quoted strings intact. */
function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && ch === '"') quoted = !quoted;
    if (!quoted) {
      if (ch === '(') {
        depth++;
        continue;
      }
      if (ch === ')' && depth > 0) {
        depth--;
        if (depth === 0) out += ' ';
        continue;
      }
    }
    if (depth === 0) out += ch;
  }
  return out;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted) {
      current += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return text;
}
