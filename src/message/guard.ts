/**
 * The structural guard: one linear, non-recursive pass over the raw bytes of a message,
 * run before any parser (postal-mime) or mailauth sees them. It refuses what no real mail
 * needs and what makes parsers slow or lets two parsers disagree about the message:
 * oversized or overlong header sections, deep or wide MIME trees, bodies that are costly to
 * buffer, and bare CR / bare LF.
 *
 * MIME structure is followed the way postal-mime follows it (RFC 2046 §5.1.1): a multipart
 * Content-Type pushes its boundary on a stack; a delimiter line `--B` opens a new part of
 * the multipart that declared B (implicitly closing anything nested deeper), a close
 * delimiter `--B--` ends that multipart. The guard also descends into message/rfc822 bodies
 * that are not base64/quoted-printable encoded (RFC 2046 §5.2.1): their header section and
 * parts count against the same limits. Depth follows postal-mime: the message itself is
 * depth 0, each part one deeper than the multipart or message that contains it.
 *
 * Parser cost (LIMITS.MAX_PARSER_LINES): postal-mime buffers the body of a part that is not
 * base64/quoted-printable one line at a time, base64 one piece per `=` run, and every line
 * of an inline message/rfc822 once more in each parser level that reads it; Node's Blob
 * makes each piece cost ~10–30 µs. The guard counts those pieces. An inline message/rfc822
 * sent base64 or quoted-printable (forbidden by RFC 2046 §5.2.1, but parsed) is opaque here,
 * so the line breaks its decoded content holds are counted as if every nested level re-read them.
 */
import { LIMITS, type LimitName } from '../core/limits.ts';
import { fail, pass, type Verdict } from '../core/verdict.ts';
import { parseContentType } from './content-type.ts';

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
const EQUALS = 0x3d;

const CONTENT_TYPE = 'content-type';
const CONTENT_TRANSFER_ENCODING = 'content-transfer-encoding';
const CONTENT_DISPOSITION = 'content-disposition';
const TRACKED = [CONTENT_TYPE, CONTENT_TRANSFER_ENCODING, CONTENT_DISPOSITION];

/** Parser levels that can re-read a line: the outer parser plus one per inline message/rfc822 level. */
const MAX_READS = LIMITS.MAX_RFC822_DEPTH + 1;

/** How postal-mime decodes a body: line-buffered pass-through, base64, or quoted-printable. */
type Decoding = 'plain' | 'base64' | 'qp';

/** An open multipart: its boundary bytes, depth, subtype (digest changes part defaults) and message/rfc822 nesting. */
interface OpenMultipart {
  boundary: Uint8Array;
  depth: number;
  subtype: string;
  wrap: number;
}

/** The header section being read: where the entity sits and what its header has said so far. */
interface EntityHeader {
  depth: number;
  /** message/rfc822 parts enclosing this entity; each parser level re-reads its lines. */
  wrap: number;
  topLevel: boolean;
  /** Subtype of the enclosing multipart, or '' (RFC 2046 §5.1.5: digest parts default to message/rfc822). */
  parentSubtype: string;
  fields: Map<string, Uint8Array[]>;
  /** The tracked field the previous line belonged to, so folded lines join it. */
  collecting: Uint8Array[] | null;
  fieldCount: number;
  lineCount: number;
}

/** The body being read: how it is decoded, how deeply wrapped, and for an opaque inline message a line-break counter. */
interface BodyState {
  decoding: Decoding;
  wrap: number;
  opaqueMessage: LineBreakCounter | null;
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
  let entity: EntityHeader | null = newEntity(0, 0, true, '');
  let body: BodyState = { decoding: 'plain', wrap: 0, opaqueMessage: null };
  let headerBytes = 0;
  let parts = 0;
  let parserLines = 0;
  let pos = 0;
  // Position of the next CR at or after `pos`, found once and reused, so that looking for
  // bare CRs stays linear however the lines are laid out.
  let nextCr = raw.indexOf(CR, 0);

  const tooCostly = (): Verdict<GuardDetail> =>
    refuse('MAX_PARSER_LINES', `more than ${LIMITS.MAX_PARSER_LINES} body lines for the MIME parser to buffer`);

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
        parserLines += Math.min(open.wrap, MAX_READS);
        if (parserLines > LIMITS.MAX_PARSER_LINES) return tooCostly();
        if (hit.close) {
          // The multipart ends; its epilogue is read as body of the entity around it.
          stack.length = hit.index;
          entity = null;
          body = { decoding: 'plain', wrap: open.wrap, opaqueMessage: null };
        } else {
          stack.length = hit.index + 1;
          parts++;
          if (parts > LIMITS.MAX_MIME_PARTS) {
            return refuse('MAX_MIME_PARTS', `more than ${LIMITS.MAX_MIME_PARTS} MIME parts`);
          }
          if (open.depth + 1 > LIMITS.MAX_MIME_DEPTH) {
            return refuse('MAX_MIME_DEPTH', `MIME nesting deeper than ${LIMITS.MAX_MIME_DEPTH} levels`);
          }
          entity = newEntity(open.depth + 1, open.wrap, false, open.subtype);
        }
        continue;
      }
    }

    if (entity === null) {
      // A body line: buffered by the parser level that owns it, and re-read by each enclosing message/rfc822.
      parserLines += Math.min(body.wrap, MAX_READS) + bodyLineCost(body, line);
      if (parserLines > LIMITS.MAX_PARSER_LINES) return tooCostly();
      continue;
    }

    parserLines += Math.min(entity.wrap, MAX_READS);
    if (parserLines > LIMITS.MAX_PARSER_LINES) return tooCostly();

    if (line.length === 0) {
      // End of this header section (RFC 5322 §2.1).
      const next = endHeader(entity, stack);
      entity = null;
      if ('entity' in next) {
        parts++;
        if (parts > LIMITS.MAX_MIME_PARTS) {
          return refuse('MAX_MIME_PARTS', `more than ${LIMITS.MAX_MIME_PARTS} MIME parts`);
        }
        if (next.entity.depth > LIMITS.MAX_MIME_DEPTH) {
          return refuse('MAX_MIME_DEPTH', `MIME nesting deeper than ${LIMITS.MAX_MIME_DEPTH} levels`);
        }
        entity = next.entity;
      } else {
        body = next.body;
      }
      continue;
    }

    headerBytes += lineBytes;
    if (headerBytes > LIMITS.MAX_HEADER_BYTES) {
      return refuse('MAX_HEADER_BYTES', `header sections larger than ${LIMITS.MAX_HEADER_BYTES} bytes in total`);
    }
    const continuation = line[0] === SP || line[0] === HTAB;
    if (entity.topLevel) {
      entity.lineCount++;
      if (entity.lineCount > LIMITS.MAX_HEADER_LINES) {
        return refuse('MAX_HEADER_LINES', `more than ${LIMITS.MAX_HEADER_LINES} lines in the message header`);
      }
      if (!continuation) {
        entity.fieldCount++;
        if (entity.fieldCount > LIMITS.MAX_HEADER_FIELDS) {
          return refuse('MAX_HEADER_FIELDS', `more than ${LIMITS.MAX_HEADER_FIELDS} fields in the message header`);
        }
      }
    }
    collectTrackedField(entity, line, continuation);
  }
  return pass(`structure within limits: ${parts} MIME parts, ${headerBytes} header bytes, ${parserLines} parser lines`);
}

function refuse(limit: LimitName | 'bare_line_ending', reason: string): Verdict<GuardDetail> {
  return fail(limit === 'bare_line_ending' ? reason : `${reason} (${limit})`, { limit });
}

function newEntity(depth: number, wrap: number, topLevel: boolean, parentSubtype: string): EntityHeader {
  return { depth, wrap, topLevel, parentSubtype, fields: new Map(), collecting: null, fieldCount: 0, lineCount: 0 };
}

/**
 * Pieces the owning parser buffers for one body line: one for a line-buffered body, one per
 * `=` run in base64 (postal-mime flushes its decoder at each), none for quoted-printable;
 * plus, for an opaque inline message, its decoded line breaks once per possible parser level.
 */
function bodyLineCost(body: BodyState, line: Uint8Array): number {
  let cost = body.decoding === 'plain' ? 1 : body.decoding === 'base64' ? equalsRuns(line) : 0;
  if (body.opaqueMessage !== null) cost += body.opaqueMessage.feed(line) * MAX_READS;
  return cost;
}

/** Runs of `=` in a base64 line; characters outside the base64 alphabet are skipped as postal-mime does. */
function equalsRuns(line: Uint8Array): number {
  let runs = 0;
  let inRun = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === EQUALS) {
      if (!inRun) runs++;
      inRun = true;
    } else if (base64Value(c) >= 0) {
      inRun = false;
    }
  }
  return runs;
}

function base64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c === 0x2b) return 62;
  if (c === 0x2f) return 63;
  return -1;
}

/** Counts the line breaks (LF) in the decoded form of an encoded body, fed line by line. */
interface LineBreakCounter {
  feed(line: Uint8Array): number;
}

/** Streaming base64 decode that only counts decoded LF bytes; `=` ends a unit. */
function base64LineBreaks(): LineBreakCounter {
  let bits = 0;
  let nbits = 0;
  return {
    feed(line) {
      let count = 0;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === EQUALS) {
          bits = 0;
          nbits = 0;
          continue;
        }
        const v = base64Value(c);
        if (v < 0) continue;
        bits = ((bits << 6) | v) & 0xffffff;
        nbits += 6;
        if (nbits >= 8) {
          nbits -= 8;
          if (((bits >> nbits) & 0xff) === LF) count++;
        }
      }
      return count;
    },
  };
}

/** Quoted-printable: a hard line break, or an `=0A` escape, is a decoded LF (RFC 2045 §6.7). */
function qpLineBreaks(): LineBreakCounter {
  return {
    feed(line) {
      let count = line.length > 0 && line[line.length - 1] === EQUALS ? 0 : 1;
      for (let i = 0; i + 2 < line.length; i++) {
        if (line[i] === EQUALS && line[i + 1] === 0x30 && (line[i + 2] === 0x41 || line[i + 2] === 0x61)) count++;
      }
      return count;
    },
  };
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
 * Keeps the bytes of the first Content-Type, Content-Transfer-Encoding and
 * Content-Disposition fields (the first occurrence decides, as in postal-mime); folded
 * continuation lines join their field.
 */
function collectTrackedField(entity: EntityHeader, line: Uint8Array, continuation: boolean): void {
  if (continuation) {
    entity.collecting?.push(line);
    return;
  }
  entity.collecting = null;
  const colon = line.indexOf(COLON);
  if (colon < 0) return;
  const name = trackedFieldName(line, colon);
  if (name !== null && !entity.fields.has(name)) {
    entity.collecting = [line.subarray(colon + 1)];
    entity.fields.set(name, entity.collecting);
  }
}

/** The tracked field name before the colon (trailing blanks removed, case-insensitive), or null. */
function trackedFieldName(line: Uint8Array, colon: number): string | null {
  let end = colon;
  while (end > 0 && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  for (const name of TRACKED) {
    if (end !== name.length) continue;
    let same = true;
    for (let i = 0; i < end && same; i++) same = (line[i] | 0x20) === name.charCodeAt(i);
    if (same) return name;
  }
  return null;
}

/** A tracked field's unfolded value (RFC 5322 §2.2.3: drop the line breaks, keep the whitespace), or null. */
function fieldValue(entity: EntityHeader, name: string): string | null {
  const pieces = entity.fields.get(name);
  return pieces === undefined ? null : pieces.map((p) => utf8.decode(p)).join('');
}

/**
 * postal-mime's choice of decoder: the first token of Content-Transfer-Encoding (comments
 * removed) containing `base64` or `quoted-printable`; anything else is buffered as is.
 */
function decodingOf(entity: EntityHeader): Decoding {
  const value = fieldValue(entity, CONTENT_TRANSFER_ENCODING);
  if (value === null) return 'plain';
  const token = parseContentType(value).type;
  if (token.includes('base64')) return 'base64';
  if (token.includes('quoted-printable')) return 'qp';
  return 'plain';
}

/**
 * Acts on a finished header section: a multipart with a boundary opens on the stack; a
 * message/rfc822 (or message/global, RFC 6532 §3.7) body that is not encoded starts a nested
 * message whose header section follows at once, which is returned; anything else is a body.
 */
function endHeader(entity: EntityHeader, stack: OpenMultipart[]): { entity: EntityHeader } | { body: BodyState } {
  const defaultType = entity.parentSubtype === 'digest' ? 'message/rfc822' : 'text/plain';
  const contentType = fieldValue(entity, CONTENT_TYPE);
  const parsed = contentType === null ? { type: defaultType, boundary: null } : parseContentType(contentType);
  const type = parsed.type === '' ? defaultType : parsed.type;
  const decoding = decodingOf(entity);
  const body: BodyState = { decoding, wrap: entity.wrap, opaqueMessage: null };
  if (type.startsWith('multipart/')) {
    if (parsed.boundary !== null && parsed.boundary !== '') {
      stack.push({ boundary: encoder.encode(parsed.boundary), depth: entity.depth, subtype: type.slice('multipart/'.length), wrap: entity.wrap });
    }
    return { body };
  }
  if (type === 'message/rfc822' || type === 'message/global') {
    if (decoding === 'plain') return { entity: newEntity(entity.depth + 1, entity.wrap + 1, false, '') };
    // postal-mime parses an inline message/rfc822 after decoding it (see isInlineMessageRfc822).
    const disposition = fieldValue(entity, CONTENT_DISPOSITION);
    const inline = disposition === null || ['', 'inline'].includes(parseContentType(disposition).type);
    if (type === 'message/rfc822' && inline) body.opaqueMessage = decoding === 'base64' ? base64LineBreaks() : qpLineBreaks();
  }
  return { body };
}
