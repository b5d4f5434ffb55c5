/**
 * The structural guard: one linear, non-recursive pass over the raw bytes of a message,
 * run before any parser (postal-mime) or mailauth sees them. It refuses what no real mail
 * needs and what makes parsers slow or lets two parsers disagree about the message:
 * oversized or overlong header sections, deep or wide MIME trees, and bare CR / bare LF.
 *
 * MIME structure is followed the way postal-mime follows it (RFC 2046 §5.1.1): a multipart
 * Content-Type pushes its boundary on a stack; a delimiter line `--B` opens a new part of
 * the multipart that declared B (implicitly closing anything nested deeper), a close
 * delimiter `--B--` ends that multipart. The guard additionally descends into unencoded
 * message/rfc822 bodies (RFC 2046 §5.2.1), whose header section and parts count against the
 * same limits. Depth follows postal-mime: the message itself is depth 0, each part one
 * deeper than the multipart or message that contains it.
 *
 * Known blind spot: a message/rfc822 part sent with base64 or quoted-printable (which RFC 2046
 * §5.2.1 forbids, but parsers accept) is opaque here; postal-mime applies its own nesting and
 * header-size limits to it and LIMITS.MAX_RFC822_DEPTH bounds how far it recurses.
 */
import { LIMITS, type LimitName } from '../core/limits.ts';
import { fail, pass, type Verdict } from '../core/verdict.ts';

/** The limit a refused message broke; `bare_line_ending` is the RFC 5321 §2.3.8 rule. */
export interface GuardDetail {
  limit: LimitName | 'bare_line_ending';
}

export interface GuardOptions {
  /**
   * Accept LF alone as a line ending (messages read from files, e.g. `simulate`). SMTP input
   * must never set this: a bare LF in DATA is the SMTP smuggling vector (CVE-2023-51764).
   * A bare CR is refused either way.
   */
  allowBareLf?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

const CONTENT_TYPE = 'content-type';
const CONTENT_TRANSFER_ENCODING = 'content-transfer-encoding';

/** An open multipart: its boundary bytes, its depth, and its subtype (digest changes part defaults). */
interface OpenMultipart {
  boundary: Uint8Array;
  depth: number;
  subtype: string;
}

/** What the header section of the entity being read has said so far. */
interface EntityHeader {
  depth: number;
  topLevel: boolean;
  /** Subtype of the enclosing multipart, or '' (RFC 2046 §5.1.5: digest parts default to message/rfc822). */
  parentSubtype: string;
  contentType: Uint8Array[] | null;
  transferEncoding: Uint8Array[] | null;
  /** Which of the two fields the previous line belonged to, so folded lines join it. */
  collecting: Uint8Array[] | null;
  fields: number;
  lines: number;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Checks the raw message against the structural LIMITS and the CRLF rule in one pass,
 * stopping at the first violation. Linear in the message size; never throws.
 */
export function guardMessage(raw: Uint8Array, options: GuardOptions = {}): Verdict<GuardDetail> {
  const allowBareLf = options.allowBareLf === true;
  if (raw.length > LIMITS.MAX_MESSAGE_BYTES) {
    return refuse('MAX_MESSAGE_BYTES', `message larger than ${LIMITS.MAX_MESSAGE_BYTES} bytes`);
  }

  const stack: OpenMultipart[] = [];
  let entity: EntityHeader | null = newEntity(0, true, '');
  let headerBytes = 0;
  let parts = 0;
  let pos = 0;
  // Position of the next CR at or after `pos`, found once and reused, so that looking for
  // bare CRs stays linear however the lines are laid out.
  let nextCr = raw.indexOf(CR, 0);

  while (pos < raw.length) {
    let lf = raw.indexOf(LF, pos);
    const hasLf = lf >= 0;
    if (!hasLf) lf = raw.length;
    // The line's content ends before CRLF (or before a lone LF when those are allowed).
    let end = lf;
    if (hasLf) {
      if (lf > pos && raw[lf - 1] === CR) {
        end = lf - 1;
      } else if (!allowBareLf) {
        return refuse('bare_line_ending', `bare LF at byte ${lf}: lines must end in CRLF (RFC 5321 §2.3.8)`);
      }
    }
    if (nextCr >= 0 && nextCr < pos) nextCr = raw.indexOf(CR, pos);
    if (nextCr >= 0 && nextCr < end) {
      return refuse('bare_line_ending', `bare CR at byte ${nextCr}: CR is only allowed before LF (RFC 5321 §2.3.8)`);
    }
    const lineBytes = (hasLf ? lf + 1 : lf) - pos;
    const line = raw.subarray(pos, end);
    pos = hasLf ? lf + 1 : raw.length;

    // Boundaries are recognised in header and body alike, as postal-mime does.
    if (stack.length > 0 && line.length > 2 && line[0] === DASH && line[1] === DASH) {
      const hit = matchBoundary(stack, line);
      if (hit !== null) {
        const open = stack[hit.index];
        if (hit.close) {
          // The multipart ends; what follows is its epilogue, read as body.
          stack.length = hit.index;
          entity = null;
        } else {
          stack.length = hit.index + 1;
          parts++;
          if (parts > LIMITS.MAX_MIME_PARTS) {
            return refuse('MAX_MIME_PARTS', `more than ${LIMITS.MAX_MIME_PARTS} MIME parts`);
          }
          if (open.depth + 1 > LIMITS.MAX_MIME_DEPTH) {
            return refuse('MAX_MIME_DEPTH', `MIME nesting deeper than ${LIMITS.MAX_MIME_DEPTH} levels`);
          }
          entity = newEntity(open.depth + 1, false, open.subtype);
        }
        continue;
      }
    }

    if (entity === null) continue; // body line

    if (line.length === 0) {
      // End of this header section (RFC 5322 §2.1).
      const child = endHeader(entity, stack);
      entity = null;
      if (child !== null) {
        parts++;
        if (parts > LIMITS.MAX_MIME_PARTS) {
          return refuse('MAX_MIME_PARTS', `more than ${LIMITS.MAX_MIME_PARTS} MIME parts`);
        }
        if (child.depth > LIMITS.MAX_MIME_DEPTH) {
          return refuse('MAX_MIME_DEPTH', `MIME nesting deeper than ${LIMITS.MAX_MIME_DEPTH} levels`);
        }
        entity = child;
      }
      continue;
    }

    headerBytes += lineBytes;
    if (headerBytes > LIMITS.MAX_HEADER_BYTES) {
      return refuse('MAX_HEADER_BYTES', `header sections larger than ${LIMITS.MAX_HEADER_BYTES} bytes in total`);
    }
    const continuation = line[0] === SP || line[0] === HTAB;
    if (entity.topLevel) {
      entity.lines++;
      if (entity.lines > LIMITS.MAX_HEADER_LINES) {
        return refuse('MAX_HEADER_LINES', `more than ${LIMITS.MAX_HEADER_LINES} lines in the message header`);
      }
      if (!continuation) {
        entity.fields++;
        if (entity.fields > LIMITS.MAX_HEADER_FIELDS) {
          return refuse('MAX_HEADER_FIELDS', `more than ${LIMITS.MAX_HEADER_FIELDS} fields in the message header`);
        }
      }
    }
    collectContentField(entity, line, continuation);
  }
  return pass(`structure within limits: ${parts} MIME parts, ${headerBytes} header bytes`);
}

function refuse(limit: LimitName | 'bare_line_ending', reason: string): Verdict<GuardDetail> {
  return fail(limit === 'bare_line_ending' ? reason : `${reason} (${limit})`, { limit });
}

function newEntity(depth: number, topLevel: boolean, parentSubtype: string): EntityHeader {
  return { depth, topLevel, parentSubtype, contentType: null, transferEncoding: null, collecting: null, fields: 0, lines: 0 };
}

/**
 * Finds the innermost open multipart whose boundary this line delimits: `--B`, or `--B--`
 * for the close delimiter, followed only by spaces and tabs (RFC 2046 §5.1.1).
 */
function matchBoundary(stack: OpenMultipart[], line: Uint8Array): { index: number; close: boolean } | null {
  for (let i = stack.length - 1; i >= 0; i--) {
    const boundary = stack[i].boundary;
    if (line.length < boundary.length + 2) continue;
    let same = true;
    for (let j = 0; j < boundary.length; j++) {
      if (line[j + 2] !== boundary[j]) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    let rest = boundary.length + 2;
    let close = false;
    if (line.length >= rest + 2 && line[rest] === DASH && line[rest + 1] === DASH) {
      close = true;
      rest += 2;
    }
    let padding = true;
    for (let j = rest; j < line.length; j++) {
      if (line[j] !== SP && line[j] !== HTAB) {
        padding = false;
        break;
      }
    }
    if (padding) return { index: i, close };
  }
  return null;
}

/**
 * Keeps the bytes of the first Content-Type and Content-Transfer-Encoding fields (the first
 * occurrence decides, as in postal-mime); folded continuation lines join their field.
 */
function collectContentField(entity: EntityHeader, line: Uint8Array, continuation: boolean): void {
  if (continuation) {
    entity.collecting?.push(line);
    return;
  }
  entity.collecting = null;
  const colon = line.indexOf(COLON);
  if (colon < 0) return;
  const name = fieldName(line, colon);
  if (name === CONTENT_TYPE && entity.contentType === null) {
    entity.contentType = [line.subarray(colon + 1)];
    entity.collecting = entity.contentType;
  } else if (name === CONTENT_TRANSFER_ENCODING && entity.transferEncoding === null) {
    entity.transferEncoding = [line.subarray(colon + 1)];
    entity.collecting = entity.transferEncoding;
  }
}

/** Lower-case field name before the colon, trailing blanks removed; '' when it cannot be one we track. */
function fieldName(line: Uint8Array, colon: number): string {
  let end = colon;
  while (end > 0 && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  if (end !== CONTENT_TYPE.length && end !== CONTENT_TRANSFER_ENCODING.length) return '';
  let name = '';
  for (let i = 0; i < end; i++) name += String.fromCharCode(line[i] | 0x20);
  return name;
}

/**
 * Acts on a finished header section: a multipart with a boundary opens on the stack; an
 * unencoded message/rfc822 (or message/global, RFC 6532 §3.7) body starts a nested message
 * whose header section follows at once, which is returned.
 */
function endHeader(entity: EntityHeader, stack: OpenMultipart[]): EntityHeader | null {
  const defaultType = entity.parentSubtype === 'digest' ? 'message/rfc822' : 'text/plain';
  const parsed = entity.contentType === null ? { type: defaultType, boundary: null } : parseContentType(joinFolded(entity.contentType));
  const type = parsed.type === '' ? defaultType : parsed.type;
  if (type.startsWith('multipart/')) {
    if (parsed.boundary !== null && parsed.boundary !== '') {
      stack.push({ boundary: encoder.encode(parsed.boundary), depth: entity.depth, subtype: type.slice('multipart/'.length) });
    }
    return null;
  }
  if (type === 'message/rfc822' || type === 'message/global') {
    const cte = entity.transferEncoding === null ? '' : joinFolded(entity.transferEncoding).trim().toLowerCase();
    if (cte === '' || cte === '7bit' || cte === '8bit' || cte === 'binary') {
      return newEntity(entity.depth + 1, false, '');
    }
  }
  return null;
}

/** Unfolds a field body (RFC 5322 §2.2.3: drop the line breaks, keep the whitespace). */
function joinFolded(pieces: Uint8Array[]): string {
  return pieces.map((p) => utf8.decode(p)).join('');
}

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
