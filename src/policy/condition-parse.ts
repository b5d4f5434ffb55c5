/**
 * Turns the YAML form of a condition (`all`/`any`/`not` and `{ FIELD: MATCHER }` leaves) into a
 * normalised `Condition`. Every mistake is reported with its path relative to the condition, so the
 * loader can point at the exact line: unknown fields, operators the field does not support, bad
 * sizes and regular expressions that are invalid or ReDoS-prone.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { fieldSpec, type FieldSpec } from './fields.ts';
import { compilePolicyRegex, rememberRegex } from './regex.ts';
import { parseSize } from './units.ts';
import type { PathIssue } from './issues.ts';
import type { Condition, Matcher, MatcherOp } from './types.ts';

const OPS: readonly MatcherOp[] = ['eq', 'in', 'contains', 'matches', 'gt', 'gte', 'lt', 'lte', 'exists'];
const ORDER_OPS = new Set<MatcherOp>(['gt', 'gte', 'lt', 'lte']);

function invalid(message: string): IntentmailError {
  return new IntentmailError('policy_invalid', message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lower-cases a case-insensitive value and strips the decorations people naturally write (`#NIS2`, `@acme.example`, `.stp`). */
function normaliseCi(field: string, raw: string): string {
  const v = raw.trim().toLowerCase();
  if (field === 'subject.tag') return v.replace(/^#/, '');
  if (field.endsWith('.domain')) return v.replace(/^@/, '');
  if (field === 'attachment.type' && !v.includes('/')) return v.replace(/^\./, '');
  return v;
}

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw invalid('expected a text value');
}

function asCount(raw: unknown): number {
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalid('expected a whole, non-negative number');
  return n;
}

/** Normalises one comparison value for a field, or throws `policy_invalid`. */
function normaliseValue(field: string, spec: FieldSpec, raw: unknown): unknown {
  switch (spec.kind) {
    case 'ci':
      return normaliseCi(field, asText(raw));
    case 'text':
      return asText(raw);
    case 'size':
      if (typeof raw !== 'string' && typeof raw !== 'number') throw invalid('expected a size such as 25MB');
      return parseSize(raw);
    case 'count':
      return asCount(raw);
    case 'bool':
      if (typeof raw !== 'boolean') throw invalid('expected true or false');
      return raw;
    case 'enum': {
      const v = asText(raw).toLowerCase();
      if (!spec.values?.includes(v)) throw invalid(`expected one of ${spec.values?.join(', ')}`);
      return v;
    }
    case 'any':
      if (raw === null || typeof raw === 'object') throw invalid('expected a text, number or true/false');
      return raw;
  }
}

/** Builds the matcher for one operator and its raw operand. */
function buildMatcher(field: string, spec: FieldSpec, op: MatcherOp, raw: unknown): Matcher {
  if (!spec.ops.includes(op)) throw invalid(`"${op}" does not apply to ${field} (use ${spec.ops.join(', ')})`);
  if (op === 'exists') {
    if (typeof raw !== 'boolean') throw invalid('exists takes true or false');
    return { op, value: raw };
  }
  if (op === 'in') {
    if (!Array.isArray(raw) || raw.length === 0) throw invalid('in takes a non-empty list');
    return { op, value: raw.map((v) => normaliseValue(field, spec, v)) };
  }
  if (op === 'matches') {
    const text = asText(raw);
    const matcher: Matcher = { op, value: text };
    rememberRegex(matcher, compilePolicyRegex(text));
    return matcher;
  }
  if (op === 'contains') {
    const text = asText(raw);
    return { op, value: spec.kind === 'ci' ? text.toLowerCase() : text };
  }
  if (ORDER_OPS.has(op)) {
    const value = spec.kind === 'any' ? raw : normaliseValue(field, spec, raw);
    if (typeof value !== 'number') throw invalid(`${op} compares numbers`);
    return { op, value };
  }
  return { op, value: normaliseValue(field, spec, raw) };
}

/** Parses a leaf `{ FIELD: MATCHER }`; `MATCHER` is a plain value (equality) or a one-operator map. */
function parseLeaf(field: string, raw: unknown, issues: PathIssue[]): Condition | null {
  const spec = fieldSpec(field);
  if (!spec) {
    issues.push({ path: [field], message: `unknown condition field "${field}"` });
    return null;
  }
  let op: MatcherOp = 'eq';
  let operand = raw;
  const path: (string | number)[] = [field];
  if (isPlainObject(raw)) {
    const keys = Object.keys(raw);
    if (keys.length !== 1 || !OPS.includes(keys[0] as MatcherOp)) {
      issues.push({ path, message: `a matcher is a value or one of { ${OPS.join(', ')} }` });
      return null;
    }
    op = keys[0] as MatcherOp;
    operand = raw[op];
    path.push(op);
  }
  try {
    return { kind: 'leaf', field, matcher: buildMatcher(field, spec, op, operand) };
  } catch (err) {
    issues.push({ path, message: err instanceof IntentmailError ? err.message : String(err) });
    return null;
  }
}

/** Parses a list of conditions under `all` or `any`. */
function parseList(key: 'all' | 'any', raw: unknown, depth: number, issues: PathIssue[]): Condition | null {
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.push({ path: [key], message: `${key} takes a non-empty list of conditions` });
    return null;
  }
  const of: Condition[] = [];
  raw.forEach((item, i) => {
    const sub = parseAt(item, depth + 1, issues, [key, i]);
    if (sub) of.push(sub);
  });
  return of.length === raw.length ? { kind: key, of } : null;
}

/** Parses a sub-condition and prefixes its issues with `prefix`. */
function parseAt(raw: unknown, depth: number, issues: PathIssue[], prefix: (string | number)[]): Condition | null {
  const own: PathIssue[] = [];
  const cond = parseConditionAt(raw, depth, own);
  for (const issue of own) issues.push({ path: [...prefix, ...issue.path], message: issue.message });
  return cond;
}

function parseConditionAt(raw: unknown, depth: number, issues: PathIssue[]): Condition | null {
  if (depth > LIMITS.MAX_POLICY_DEPTH) {
    issues.push({ path: [], message: `conditions nest deeper than ${LIMITS.MAX_POLICY_DEPTH} levels` });
    return null;
  }
  if (!isPlainObject(raw) || Object.keys(raw).length !== 1) {
    issues.push({ path: [], message: 'a condition is a map with one key: all, any, not, or a field (use all: [...] to combine)' });
    return null;
  }
  const [key] = Object.keys(raw);
  if (key === 'all' || key === 'any') return parseList(key, raw[key], depth, issues);
  if (key === 'not') {
    const of = parseAt(raw.not, depth + 1, issues, ['not']);
    return of ? { kind: 'not', of } : null;
  }
  return parseLeaf(key, raw[key], issues);
}

/** Parses a condition from its YAML form; `condition` is null when `issues` is not empty. */
export function parseCondition(raw: unknown): { condition: Condition | null; issues: PathIssue[] } {
  const issues: PathIssue[] = [];
  const condition = parseConditionAt(raw, 0, issues);
  return { condition: issues.length === 0 ? condition : null, issues };
}
