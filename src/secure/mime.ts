/**
 * The byte-exact MIME handling secure delivery needs and a parser that hands back decoded text
 * cannot give: splitting a message into its header and body without changing a byte,
 * finding the parts of a multipart body by boundary (RFC 2046 §5.1.1), separating the outer
 * header fields from the content entity that S/MIME and PGP/MIME protect (RFC 8551 §3.1, RFC 3156
 * §3), and building the wrappers. Everything is CRLF canonical form (RFC 5322 §2.1; RFC 8551 §3.1.1).
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';

const CRLF = Buffer.from('\r\n');

/** Turns bare LF (and lone CR) into CRLF: the canonical form signatures are computed over. */
export function toCrlf(input: Uint8Array): Buffer {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let bare = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if ((c === 0x0a && buf[i - 1] !== 0x0d) || (c === 0x0d && buf[i + 1] !== 0x0a)) {
      bare = true;
      break;
    }
  }
  if (!bare) return buf;
  return Buffer.from(buf.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** One header field: its name, unfolded value, and the exact bytes (with the folding and final CRLF). */
export interface HeaderField {
  name: string;
  value: string;
  raw: Buffer;
}

/** Splits a CRLF entity at the first empty line: header bytes (each field ending in CRLF) and the body. */
export function splitEntity(entity: Buffer): { header: Buffer; body: Buffer } {
  if (entity.subarray(0, 2).equals(CRLF)) return { header: Buffer.alloc(0), body: entity.subarray(2) };
  const end = entity.indexOf('\r\n\r\n');
  if (end < 0) return { header: entity, body: Buffer.alloc(0) };
  return { header: entity.subarray(0, end + 2), body: entity.subarray(end + 4) };
}

/** Header fields in order; continuation lines (RFC 5322 §2.2.3) belong to the field before them. */
export function headerFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf('\r\n', start);
    if (end < 0) end = header.length;
    else end += 2;
    while (end < header.length && (header[end] === 0x20 || header[end] === 0x09)) {
      const next = header.indexOf('\r\n', end);
      end = next < 0 ? header.length : next + 2;
    }
    const raw = header.subarray(start, end);
    const text = raw.toString('latin1');
    const colon = text.indexOf(':');
    if (colon > 0) fields.push({ name: text.slice(0, colon).trim().toLowerCase(), value: text.slice(colon + 1).replace(/\r\n/g, '').trim(), raw });
    start = end;
  }
  return fields;
}

/** A parsed Content-Type: lower-case `type/subtype` and parameters (names lower-case). */
export interface ContentType {
  type: string;
  params: Record<string, string>;
}

/** Parses a Content-Type value (RFC 2045 §5.1), quoted parameter values included; defaults to text/plain. */
export function parseContentType(value: string | undefined): ContentType {
  if (value === undefined || value.trim() === '') return { type: 'text/plain', params: {} };
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  const rest = semi < 0 ? '' : value.slice(semi);
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  return { type, params };
}

/** The first value of a header field by lower-case name. */
export function fieldValue(fields: HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/**
 * The body parts of a multipart body as exact bytes (RFC 2046 §5.1.1): the CRLF before each
 * delimiter belongs to the delimiter, not to the part. Returns null when the closing delimiter
 * is missing (a truncated or malformed structure is not a signature we can check).
 */
export function multipartParts(body: Buffer, boundary: string): Buffer[] | null {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const lineDelimiter = Buffer.concat([CRLF, delimiter]);
  // A delimiter line is the boundary followed by `--`, transport padding or the line end, not a longer word.
  const endsDelimiter = (at: number) => [0x2d, 0x20, 0x09, 0x0d].includes(body[at]);
  const findNext = (from: number): number => {
    for (let i = body.indexOf(lineDelimiter, from); i >= 0; i = body.indexOf(lineDelimiter, i + 1)) {
      if (endsDelimiter(i + lineDelimiter.length)) return i;
    }
    return -1;
  };
  const parts: Buffer[] = [];
  let pos: number;
  if (body.subarray(0, delimiter.length).equals(delimiter) && endsDelimiter(delimiter.length)) pos = 0;
  else {
    const first = findNext(0);
    if (first < 0) return null;
    pos = first + 2;
  }
  for (;;) {
    const after = pos + delimiter.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) return parts;
    const lineEnd = body.indexOf('\r\n', after);
    if (lineEnd < 0) return null;
    const partStart = lineEnd + 2;
    const next = findNext(partStart - 2);
    if (next < 0) return null;
    parts.push(body.subarray(partStart, Math.max(partStart, next)));
    if (parts.length > LIMITS.MAX_MIME_PARTS) return null;
    pos = next + 2;
  }
}

/** A fresh multipart boundary: random, and containing characters no base64 or QP line produces (`=_`). */
export function newBoundary(prefix: string): string {
  return `=_${prefix}_${randomBytes(12).toString('hex')}`;
}

/** Base64 in 76-character lines (RFC 2045 §6.8) with CRLF. */
export function base64Lines(bytes: Uint8Array): Buffer {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

/** The message split for protection: outer header fields (routing, subject) and the content entity. */
export interface SplitMessage {
  /** Fields that stay outside the protected entity (From, To, Subject, Date, Message-ID, …), exact bytes. */
  outer: HeaderField[];
  /** Content-* fields plus the body: the MIME entity that gets signed or encrypted. */
  entity: Buffer;
}

/**
 * Splits an RFC 5322 message into the fields that stay outside and the MIME entity inside
 * (its Content-* fields and body). MIME-Version is dropped from both; the wrapper adds its own.
 */
export function splitForProtection(raw: Uint8Array): SplitMessage {
  const { header, body } = splitEntity(toCrlf(raw));
  const fields = headerFields(header);
  if (fields.length === 0) throw new IntentmailError('validation_failed', 'outbound message has no header');
  const outer = fields.filter((f) => !f.name.startsWith('content-') && f.name !== 'mime-version');
  let content = fields.filter((f) => f.name.startsWith('content-')).map((f) => f.raw);
  if (content.length === 0) content = [Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n')];
  return { outer, entity: Buffer.concat([...content, CRLF, body]) };
}

/** Joins outer fields, a MIME-Version and the wrapper's own content fields and body into a message. */
export function assembleMessage(outer: HeaderField[], contentFields: string[], body: Buffer): Buffer {
  return Buffer.concat([...outer.map((f) => f.raw), Buffer.from(['MIME-Version: 1.0', ...contentFields].join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

/** Builds a multipart body from entities (each already `fields CRLF CRLF body`). */
export function multipartBody(boundary: string, preamble: string, parts: Buffer[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(`${preamble}\r\n`, 'latin1')];
  for (const part of parts) chunks.push(Buffer.from(`\r\n--${boundary}\r\n`, 'latin1'), part);
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(chunks);
}
