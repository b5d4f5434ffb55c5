/**
 * A small ASN.1 reader (BER, as CMS producers emit it: definite and indefinite lengths,
 * constructed strings) and DER writer over Buffers (ITU-T X.690). CMS and X.509 only need a
 * handful of types; building them over Buffers keeps a 1 MB attachment a single copy per
 * nesting level instead of forge's binary strings, and lets us hand exact byte ranges (signed
 * attributes, names) to node:crypto. Everything read is untrusted: lengths are checked against
 * the buffer and nesting is bounded by LIMITS.MAX_ASN1_DEPTH.
 */
import { Buffer } from 'node:buffer';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';

/** Universal tag class (X.690 §8.1.2.2). */
export const UNIVERSAL = 0;
/** Context-specific tag class (`[n]` in ASN.1 modules). */
export const CONTEXT = 2;

/** Universal tag numbers used by CMS and X.509. */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  T61_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

/** One parsed TLV: its tag and the byte ranges of the whole element and of its contents. */
export interface Asn1Node {
  cls: number;
  constructed: boolean;
  tag: number;
  /** The buffer the offsets refer to. */
  buf: Buffer;
  start: number;
  /** First content byte. */
  contentStart: number;
  /** One past the last content byte (before the end-of-contents octets of an indefinite length). */
  contentEnd: number;
  /** One past the element, including end-of-contents octets. */
  end: number;
  /** Child elements (constructed only), parsed eagerly so every length is checked once. */
  children: Asn1Node[];
}

function malformed(what: string): IntentmailError {
  return new IntentmailError('validation_failed', `malformed ASN.1: ${what}`);
}

/** Parses exactly one element filling `buf` (trailing bytes are an error: a signature must cover all of it). */
export function parseAsn1(input: Uint8Array): Asn1Node {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const node = readNode(buf, 0, buf.length, 0);
  if (node.end !== buf.length) throw malformed(`${buf.length - node.end} trailing byte(s)`);
  return node;
}

/** Parses the first element of `buf`, allowing trailing bytes (concatenated DER certificates). */
export function parseAsn1Prefix(input: Uint8Array, offset = 0): Asn1Node {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return readNode(buf, offset, buf.length, 0);
}

function readNode(buf: Buffer, offset: number, limit: number, depth: number): Asn1Node {
  if (depth > LIMITS.MAX_ASN1_DEPTH) throw malformed(`nested deeper than ${LIMITS.MAX_ASN1_DEPTH}`);
  let pos = offset;
  if (pos >= limit) throw malformed('truncated tag');
  const first = buf[pos++];
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    // High tag number form (X.690 §8.1.2.4): base-128, bounded to keep the number small.
    tag = 0;
    for (let i = 0; ; i++) {
      if (pos >= limit || i > 3) throw malformed('bad high tag number');
      const b = buf[pos++];
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= limit) throw malformed('truncated length');
  const lenByte = buf[pos++];
  const children: Asn1Node[] = [];
  if (lenByte === 0x80) {
    // Indefinite length (BER only, X.690 §8.1.3.6): constructed, ends with two zero octets.
    if (!constructed) throw malformed('indefinite length on a primitive element');
    const contentStart = pos;
    for (;;) {
      if (pos + 2 > limit) throw malformed('missing end-of-contents');
      if (buf[pos] === 0 && buf[pos + 1] === 0) break;
      const child = readNode(buf, pos, limit, depth + 1);
      children.push(child);
      pos = child.end;
    }
    return { cls, constructed, tag, buf, start: offset, contentStart, contentEnd: pos, end: pos + 2, children };
  }
  let length: number;
  if (lenByte < 0x80) length = lenByte;
  else {
    const n = lenByte & 0x7f;
    if (n > 4 || n === 0x7f) throw malformed('length field too long');
    length = 0;
    for (let i = 0; i < n; i++) {
      if (pos >= limit) throw malformed('truncated length');
      length = length * 256 + buf[pos++];
    }
  }
  const contentStart = pos;
  const contentEnd = contentStart + length;
  if (contentEnd > limit) throw malformed('length beyond the data');
  if (constructed) {
    let p = contentStart;
    while (p < contentEnd) {
      const child = readNode(buf, p, contentEnd, depth + 1);
      children.push(child);
      p = child.end;
    }
  }
  return { cls, constructed, tag, buf, start: offset, contentStart, contentEnd, end: contentEnd, children };
}

/** The whole element's bytes (a view, no copy). */
export function rawOf(node: Asn1Node): Buffer {
  return node.buf.subarray(node.start, node.end);
}

/** The content bytes; a constructed string (BER) is the concatenation of its segments. */
export function contentOf(node: Asn1Node): Buffer {
  if (!node.constructed) return node.buf.subarray(node.contentStart, node.contentEnd);
  return Buffer.concat(node.children.map(contentOf));
}

/** True when the node has the universal tag `tag`. */
export function isUniversal(node: Asn1Node | undefined, tag: number): boolean {
  return node !== undefined && node.cls === UNIVERSAL && node.tag === tag;
}

/** True when the node is the context-specific tag `[n]`. */
export function isContext(node: Asn1Node | undefined, n: number): boolean {
  return node !== undefined && node.cls === CONTEXT && node.tag === n;
}

/** Asserts a universal tag and returns the node. */
export function expectUniversal(node: Asn1Node | undefined, tag: number, what: string): Asn1Node {
  if (node === undefined || !isUniversal(node, tag)) throw malformed(`${what}: unexpected element`);
  return node;
}

/** Decodes an OBJECT IDENTIFIER (X.690 §8.19) to dotted form. */
export function oidOf(node: Asn1Node | undefined): string {
  const n = expectUniversal(node, TAG.OID, 'object identifier');
  const bytes = contentOf(n);
  if (bytes.length === 0 || bytes.length > 64) throw malformed('object identifier length');
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw malformed('object identifier arc too large');
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else parts.push(value);
      value = 0;
    }
  }
  if ((bytes[bytes.length - 1] & 0x80) !== 0) throw malformed('object identifier truncated');
  return parts.join('.');
}

/** Decodes a string type (printable, IA5, UTF-8, T61 as Latin-1, BMP as UTF-16BE). */
export function stringOf(node: Asn1Node): string {
  const bytes = contentOf(node);
  if (node.cls !== UNIVERSAL) return bytes.toString('latin1');
  switch (node.tag) {
    case TAG.UTF8_STRING:
      return bytes.toString('utf8');
    case TAG.BMP_STRING: {
      const swapped = Buffer.from(bytes);
      if (swapped.length % 2 !== 0) throw malformed('BMPString of odd length');
      return swapped.swap16().toString('utf16le');
    }
    default:
      return bytes.toString('latin1');
  }
}

/** Decodes UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5: UTC, seconds, `Z`). */
export function timeOf(node: Asn1Node): Date {
  const text = contentOf(node).toString('latin1');
  let m: RegExpExecArray | null;
  if (isUniversal(node, TAG.UTC_TIME) && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text))) {
    const yy = Number(m[1]);
    // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
    return new Date(Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
  }
  if (isUniversal(node, TAG.GENERALIZED_TIME) && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  throw malformed(`bad time value "${text.slice(0, 20)}"`);
}

// ---- DER writer ---------------------------------------------------------------------------

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

/** One TLV with a low tag number: `identifier` is the full first octet (class, constructed bit, number). */
export function tlv(identifier: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0] : Buffer.concat(content);
  return Buffer.concat([Buffer.from([identifier]), lengthBytes(body.length), body]);
}

/** SEQUENCE of already encoded elements. */
export function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, ...items);
}

/** SET OF, sorted by encoding as DER requires (X.690 §11.6), so a signature over it is reproducible. */
export function setOf(...items: Buffer[]): Buffer {
  return tlv(0x31, ...[...items].sort(Buffer.compare));
}

/** INTEGER from non-negative content bytes (a serial number, as stored) or a small number. */
export function int(value: number | Buffer): Buffer {
  let bytes: Buffer;
  if (typeof value === 'number') {
    const out: number[] = [];
    let v = value;
    do {
      out.unshift(v & 0xff);
      v = Math.floor(v / 256);
    } while (v > 0);
    bytes = Buffer.from(out);
  } else bytes = value;
  if (bytes.length === 0 || (bytes[0] & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const chunk = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Buffer.from(out));
}

/** OCTET STRING. */
export function octets(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

/** NULL. */
export function nul(): Buffer {
  return Buffer.from([0x05, 0x00]);
}

/** `[n]` EXPLICIT (constructed, wrapping encoded elements). */
export function explicit(n: number, ...items: Buffer[]): Buffer {
  return tlv(0xa0 | n, ...items);
}

/** `[n]` IMPLICIT primitive (e.g. encryptedContent, subjectKeyIdentifier choice). */
export function implicitPrimitive(n: number, bytes: Buffer): Buffer {
  return tlv(0x80 | n, bytes);
}

/** UTCTime (RFC 5652 §11.3: signingTime is UTCTime for dates 1950–2049). */
export function utcTime(date: Date): Buffer {
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'latin1'));
}

/** AlgorithmIdentifier with optional parameters (absent, or an encoded element such as NULL). */
export function algorithm(dotted: string, params?: Buffer): Buffer {
  return params === undefined ? seq(oid(dotted)) : seq(oid(dotted), params);
}
