/**
 * The condition fields of ../shared/spec/intents.md ("Conditions"): their names, how their values
 * compare, and how each is read from `MessageFacts`. The loader rejects any field not listed here
 * (default deny: a typo must not silently become a condition that never matches).
 */
import { LIMITS } from '../core/limits.ts';
import type { MessageFacts } from '../message/facts.ts';
import type { MatcherOp } from './types.ts';

/**
 * How a field's values compare. `ci` values compare case-insensitively (addresses, domains, tags,
 * labels, types); `text` compares exactly; `size` and `count` are numbers; `enum` values come from a
 * fixed list; `any` is a step result of unknown shape.
 */
export type FieldKind = 'ci' | 'text' | 'size' | 'count' | 'bool' | 'enum' | 'any';

export interface FieldSpec {
  kind: FieldKind;
  /** Values that may appear in a matcher, for `enum` fields. */
  values?: readonly string[];
  /** Which matcher operators make sense for the field. */
  ops: readonly MatcherOp[];
}

const CI_OPS: readonly MatcherOp[] = ['eq', 'in', 'contains', 'matches', 'exists'];
const NUM_OPS: readonly MatcherOp[] = ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'exists'];
const ENUM_OPS: readonly MatcherOp[] = ['eq', 'in', 'exists'];
const ALL_OPS: readonly MatcherOp[] = ['eq', 'in', 'contains', 'matches', 'gt', 'gte', 'lt', 'lte', 'exists'];

/** Authentication results as mailauth and RFC 8601 §2.7 name them. */
const AUTH_RESULTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy'] as const;
const KEY_STATES = ['present', 'missing'] as const;
/** What a `verify_signature` step found (src/secure/verify.ts). */
const SIGNATURE_STATES = ['valid', 'invalid', 'none'] as const;

const ci: FieldSpec = { kind: 'ci', ops: CI_OPS };
const text: FieldSpec = { kind: 'text', ops: CI_OPS };
const size: FieldSpec = { kind: 'size', ops: NUM_OPS };
const auth: FieldSpec = { kind: 'enum', values: AUTH_RESULTS, ops: ENUM_OPS };
const key: FieldSpec = { kind: 'enum', values: KEY_STATES, ops: ENUM_OPS };

/** Fixed field names. `header.NAME` and `steps.NAME.result.PATH` are patterns, see `fieldSpec`. */
const FIELDS: Record<string, FieldSpec> = {
  sender: ci,
  'sender.domain': ci,
  'sender.group': ci,
  'sender.role': ci,
  recipient: ci,
  'recipient.domain': ci,
  subject: text,
  'subject.tag': ci,
  label: ci,
  'attachment.type': ci,
  'attachment.size': size,
  'attachments.count': { kind: 'count', ops: NUM_OPS },
  'attachments.total_size': size,
  body: text,
  size,
  'auth.spf': auth,
  'auth.dkim': auth,
  'auth.dmarc': auth,
  'auth.arc': auth,
  tls: { kind: 'bool', ops: ['eq', 'exists'] },
  'key.smime': key,
  'key.pgp': key,
  'address.detail': text,
  signature: { kind: 'enum', values: SIGNATURE_STATES, ops: ENUM_OPS },
};

/** RFC 5322 §3.6.8: a field name is printable ASCII except the colon. */
const HEADER_FIELD = /^header\.[\x21-\x39\x3b-\x7e]+$/;
/** A step result path: the step name, then property names. */
const STEP_FIELD = /^steps\.([A-Za-z][A-Za-z0-9_-]*)\.result((?:\.[A-Za-z0-9_-]+)*)$/;

/** Every fixed field name, for messages and the editor schema. */
export const FIXED_FIELDS: readonly string[] = Object.keys(FIELDS);

/** Looks up a condition field; null when the name is not a known field (the loader refuses it). */
export function fieldSpec(field: string): FieldSpec | null {
  if (Object.hasOwn(FIELDS, field)) return FIELDS[field];
  if (HEADER_FIELD.test(field)) return text;
  if (STEP_FIELD.test(field)) return { kind: 'any', ops: ALL_OPS };
  return null;
}

/** The step a `steps.NAME.result…` field reads, or null for other fields. */
export function stepOfField(field: string): string | null {
  return STEP_FIELD.exec(field)?.[1] ?? null;
}

/** Path segments that would reach into prototypes; they never resolve. */
const UNSAFE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads `path` from plain data, own properties only; unsafe segments and non-objects resolve to undefined. */
export function readPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (UNSAFE_SEGMENTS.has(seg) || cur === null || typeof cur !== 'object') return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  return at < 0 ? null : address.slice(at + 1).toLowerCase();
}

/** Extension of a file name without the dot, lower-case (`scan.STP` → `stp`). */
function extensionOf(filename: string | null): string | null {
  if (!filename) return null;
  const dot = filename.lastIndexOf('.');
  return dot <= 0 || dot === filename.length - 1 ? null : filename.slice(dot + 1).toLowerCase();
}

/** MIME type and file extension of every attachment: `attachment.type` matches either. */
function attachmentTypes(facts: MessageFacts): string[] {
  const out: string[] = [];
  for (const a of facts.attachments) {
    out.push(a.mimeType.toLowerCase());
    const ext = extensionOf(a.filename);
    if (ext) out.push(ext);
  }
  return out;
}

/**
 * The result of the last `verify_signature` step run so far: its step result is marked
 * `check: "signature"` and carries `signature`. Before any such step ran the field is absent, so
 * `signature: valid` cannot hold for a message nobody checked.
 */
function signatureOf(f: MessageFacts): unknown {
  let found: unknown;
  for (const { result } of Object.values(f.steps)) {
    const value = readPath(result, ['signature']);
    if (readPath(result, ['check']) === 'signature' && typeof value === 'string') found = value;
  }
  return found;
}

const READERS: Record<string, (f: MessageFacts) => unknown> = {
  sender: (f) => f.sender,
  'sender.domain': (f) => domainOf(f.sender),
  'sender.group': (f) => f.senderGroups,
  'sender.role': (f) => f.senderRoles,
  recipient: (f) => f.recipient,
  'recipient.domain': (f) => domainOf(f.recipient),
  subject: (f) => f.subject,
  'subject.tag': (f) => f.subjectTags,
  label: (f) => f.labels,
  'attachment.type': attachmentTypes,
  'attachment.size': (f) => (f.attachments.length === 0 ? undefined : Math.max(...f.attachments.map((a) => a.size))),
  'attachments.count': (f) => f.attachments.length,
  'attachments.total_size': (f) => f.attachments.reduce((sum, a) => sum + a.size, 0),
  body: (f) => f.body.slice(0, LIMITS.MAX_BODY_CONDITION_CHARS),
  size: (f) => f.size,
  'auth.spf': (f) => f.auth.spf,
  'auth.dkim': (f) => f.auth.dkim,
  'auth.dmarc': (f) => f.auth.dmarc,
  'auth.arc': (f) => f.auth.arc,
  tls: (f) => f.tls,
  'key.smime': (f) => f.keys.smime,
  'key.pgp': (f) => f.keys.pgp,
  'address.detail': (f) => f.addressDetail,
  signature: signatureOf,
};

/**
 * The value of a condition field for a message: a string, number, boolean, a list (multi-valued
 * fields) or undefined/null when the message does not have it.
 */
export function factValue(field: string, facts: MessageFacts): unknown {
  if (Object.hasOwn(READERS, field)) return READERS[field](facts);
  if (field.startsWith('header.')) {
    const name = field.slice('header.'.length).toLowerCase();
    return Object.hasOwn(facts.headers, name) ? facts.headers[name] : [];
  }
  const step = STEP_FIELD.exec(field);
  if (step) {
    const rest = step[2] === '' ? [] : step[2].slice(1).split('.');
    return readPath(facts.steps, [step[1], 'result', ...rest]);
  }
  return undefined;
}
