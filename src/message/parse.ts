/**
 * Parses a message that already passed the structural guard (src/message/guard.ts) into
 * the facts conditions read. postal-mime does the MIME work with our LIMITS; everything it
 * returns is treated as untrusted text: control characters are removed from header values,
 * addresses are validated and lower-cased, and the body considered by conditions is capped.
 */
import { createHash } from 'node:crypto';
import PostalMime, { decodeWords, type Address, type Attachment, type Email } from 'postal-mime';
import { LIMITS } from '../core/limits.ts';
import { fail, pass, type Verdict } from '../core/verdict.ts';
import { normalizeAddress } from './address.ts';
import type { AttachmentFact } from './facts.ts';
import { htmlToText } from './html-text.ts';
import { extractLabels } from './labels.ts';

/** A parsed inbound message: header facts, labels, attachments and body text. */
export interface ParsedMessage {
  /** The first From mailbox, lower-case; null when absent or not a valid address. */
  headerFrom: string | null;
  headerFromName: string | null;
  to: string[];
  cc: string[];
  replyTo: string | null;
  /** Decoded subject (RFC 2047), control characters replaced by spaces. */
  subject: string;
  subjectTags: string[];
  messageId: string | null;
  inReplyTo: string | null;
  /** Message ids of the References field, in order. */
  references: string[];
  date: string | null;
  /** Lower-case field name → decoded values in order (top-level header only). */
  headers: Record<string, string[]>;
  labels: string[];
  attachments: AttachmentFact[];
  /** The text part(s) as postal-mime assembles them; '' when there are none. */
  text: string;
  html: string | null;
  /** Text for `body` conditions: the text part, else the HTML as text; capped at LIMITS.MAX_BODY_CONDITION_CHARS. */
  body: string;
  /** RFC 3834 Auto-Submitted keyword (`auto-replied`, `auto-generated`, …), lower-case. */
  autoSubmitted: string | null;
  /** RFC 2919 list identifier (the part inside `<>`), lower-case. */
  listId: string | null;
  /** Precedence (`bulk`, `list`, `junk`), lower-case. */
  precedence: string | null;
}

/** postal-mime's options under our named MIME limits: every parse of a received message uses these. */
export const POSTAL_MIME_LIMITS = {
  attachmentEncoding: 'arraybuffer',
  maxNestingDepth: LIMITS.MAX_MIME_DEPTH,
  maxHeadersSize: LIMITS.MAX_HEADER_BYTES,
  maxRfc822NestingDepth: LIMITS.MAX_RFC822_DEPTH,
} as const;

/**
 * Parses raw message bytes with postal-mime under LIMITS; never throws: a parser error
 * becomes a fail verdict with its reason. Callers run guardMessage first.
 */
export async function parseMessage(raw: Uint8Array): Promise<Verdict<ParsedMessage>> {
  let email: Email;
  try {
    email = await PostalMime.parse(raw, POSTAL_MIME_LIMITS);
  } catch (err) {
    return fail(`message could not be parsed: ${describe(err)}`);
  }
  try {
    return pass('message parsed', toParsedMessage(email));
  } catch (err) {
    return fail(`message facts could not be read: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  return cleanText(err instanceof Error ? err.message : String(err)).slice(0, 300);
}

function toParsedMessage(email: Email): ParsedMessage {
  const headers = headerMap(email);
  const subject = cleanText(email.subject ?? '');
  const from = firstMailbox(email.from === undefined ? [] : [email.from]);
  const text = email.text ?? '';
  const html = email.html ?? null;
  const cap = LIMITS.MAX_BODY_CONDITION_CHARS;
  const body = text.trim() !== '' ? text.slice(0, cap) : html !== null ? htmlToText(html, cap) : '';
  return {
    headerFrom: from === null ? null : normalizeAddress(from.address),
    headerFromName: from === null || from.name.trim() === '' ? null : cleanText(from.name).trim(),
    to: addressList(email.to),
    cc: addressList(email.cc),
    replyTo: addressList(email.replyTo)[0] ?? null,
    subject,
    subjectTags: subjectTags(subject),
    messageId: nonEmpty(email.messageId),
    inReplyTo: nonEmpty(email.inReplyTo),
    references: messageIds(email.references ?? ''),
    date: nonEmpty(email.date),
    headers,
    labels: extractLabels(headers, subject),
    attachments: email.attachments.map(attachmentFact),
    text,
    html,
    body,
    autoSubmitted: keyword(headers['auto-submitted']),
    listId: listId(headers['list-id']),
    precedence: keyword(headers['precedence']),
  };
}

/**
 * Header fields by lower-case name. The object has no prototype, so a field called
 * `__proto__` or `constructor` is just a field. Values are RFC 2047-decoded and cleaned.
 */
function headerMap(email: Email): Record<string, string[]> {
  const map = Object.create(null) as Record<string, string[]>;
  for (const h of email.headers) {
    const value = cleanText(safeDecodeWords(h.value)).trim();
    const list = map[h.key];
    if (list === undefined) map[h.key] = [value];
    else list.push(value);
  }
  return map;
}

function safeDecodeWords(value: string): string {
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/**
 * Replaces control characters (C0 incl. CR/LF, DEL, C1) with spaces: a decoded encoded-word
 * must not put a line break into a value that a later step writes back into a header.
 */
function cleanText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

function nonEmpty(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = cleanText(value).trim();
  return v === '' ? null : v;
}

/** The first mailbox of an address list (a group contributes its members). */
function firstMailbox(list: Address[]): { address: string; name: string } | null {
  for (const a of list) {
    if (a.group === undefined) return a;
    if (a.group.length > 0) return a.group[0];
  }
  return null;
}

/** Valid addresses of a list, lower-case, groups flattened, invalid ones dropped. */
function addressList(list: Address[] | undefined): string[] {
  const out: string[] = [];
  for (const a of list ?? []) {
    for (const m of a.group === undefined ? [a] : a.group) {
      const n = normalizeAddress(m.address);
      if (n !== null && !out.includes(n)) out.push(n);
    }
  }
  return out;
}

/** `#NIS2`-style tags: `#` at a word start, then letters, digits, `-` and `_`; lower-case, unique. */
export function subjectTags(subject: string): string[] {
  const tags: string[] = [];
  const text = subject.length > LIMITS.MAX_MATCH_INPUT ? subject.slice(0, LIMITS.MAX_MATCH_INPUT) : subject;
  for (const m of text.matchAll(/(?<![\p{L}\p{N}_#&-])#([\p{L}\p{N}][\p{L}\p{N}_-]*)/gu)) {
    const tag = m[1].toLowerCase();
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** Message ids `<…>` of a References / In-Reply-To value (RFC 5322 §3.6.4); bare tokens if there are none. */
function messageIds(value: string): string[] {
  const ids = value.match(/<[^<>\s]+>/g);
  if (ids !== null) return ids;
  return value.split(/[ \t]+/).filter((t) => t !== '');
}

/** First value's leading keyword, lower-case (`auto-replied; owner-email=…` → `auto-replied`). */
function keyword(values: string[] | undefined): string | null {
  const first = values?.[0];
  if (first === undefined) return null;
  const word = first.split(';')[0].trim().toLowerCase();
  return word === '' ? null : word;
}

/** RFC 2919 §3: `List Name <list-id>`; the id is the part in angle brackets. */
function listId(values: string[] | undefined): string | null {
  const first = values?.[0];
  if (first === undefined) return null;
  const m = /<([^<>]*)>/.exec(first);
  const id = (m === null ? first : m[1]).trim().toLowerCase();
  return id === '' ? null : id;
}

function attachmentFact(a: Attachment): AttachmentFact {
  const bytes = typeof a.content === 'string' ? new TextEncoder().encode(a.content) : a.content instanceof Uint8Array ? a.content : new Uint8Array(a.content);
  return {
    filename: a.filename === null ? null : cleanText(a.filename).trim() || null,
    mimeType: a.mimeType.toLowerCase(),
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
