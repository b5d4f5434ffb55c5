/**
 * Evaluates loaded conditions against the facts of one message and records why: the trace shows
 * each leaf's field, operator, expected and actual value, so `simulate` and the audit trail can
 * explain every branch taken. A field the message does not have never matches (only
 * `exists: false` is true for it), which keeps the default answer "no".
 */
import { LIMITS } from '../core/limits.ts';
import type { MessageFacts } from '../message/facts.ts';
import { factValue, fieldSpec } from './fields.ts';
import { boundedTest, matcherRegex } from './regex.ts';
import type { Condition, Matcher } from './types.ts';

export { factValue } from './fields.ts';

/** Why a condition came out the way it did. */
export interface ConditionTrace {
  kind: 'all' | 'any' | 'not' | 'leaf';
  result: boolean;
  field?: string;
  op?: string;
  expected?: unknown;
  actual?: unknown;
  children?: ConditionTrace[];
}

/** Absent values: null/undefined, and multi-valued fields with no values (no labels, no such header). */
function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

/** Compares one actual value with one expected value; case-insensitive fields compare lower-cased. */
function equals(actual: unknown, expected: unknown, foldCase: boolean): boolean {
  if (typeof actual === 'string' && typeof expected === 'string') {
    return foldCase ? actual.toLowerCase() === expected : actual === expected;
  }
  if (typeof actual === 'number' && typeof expected === 'string') return String(actual) === expected;
  if (typeof actual === 'string' && typeof expected === 'number') return actual === String(expected);
  return actual === expected;
}

/** Applies a matcher (other than `exists`) to one value of the field. */
function testOne(m: Matcher, actual: unknown, foldCase: boolean): boolean {
  switch (m.op) {
    case 'eq':
      return equals(actual, m.value, foldCase);
    case 'in':
      return Array.isArray(m.value) && m.value.some((v) => equals(actual, v, foldCase));
    case 'contains': {
      if (typeof actual !== 'string' || typeof m.value !== 'string') return false;
      return (foldCase ? actual.toLowerCase() : actual).includes(m.value);
    }
    case 'matches':
      return typeof actual === 'string' && boundedTest(matcherRegex(m), actual);
    case 'gt':
      return typeof actual === 'number' && typeof m.value === 'number' && actual > m.value;
    case 'gte':
      return typeof actual === 'number' && typeof m.value === 'number' && actual >= m.value;
    case 'lt':
      return typeof actual === 'number' && typeof m.value === 'number' && actual < m.value;
    case 'lte':
      return typeof actual === 'number' && typeof m.value === 'number' && actual <= m.value;
    case 'exists':
      return false;
  }
}

/** Shortens long strings (a 1 MiB body) for the trace; keeps everything else as it is. */
function forTrace(v: unknown): unknown {
  if (typeof v === 'string' && v.length > LIMITS.MAX_TRACE_VALUE_CHARS) return `${v.slice(0, LIMITS.MAX_TRACE_VALUE_CHARS)}…`;
  if (Array.isArray(v)) return v.map(forTrace);
  return v;
}

/** Evaluates a leaf: multi-valued fields match when any of their values matches. */
function evaluateLeaf(field: string, m: Matcher, facts: MessageFacts): ConditionTrace {
  const actual = factValue(field, facts);
  const missing = isMissing(actual);
  let result: boolean;
  if (m.op === 'exists') result = m.value === !missing;
  else if (missing) result = false;
  else {
    const foldCase = fieldSpec(field)?.kind === 'ci';
    const values = Array.isArray(actual) ? actual : [actual];
    result = values.some((v) => testOne(m, v, foldCase));
  }
  return { kind: 'leaf', result, field, op: m.op, expected: m.value, actual: forTrace(actual) };
}

/** Evaluates a condition against the message facts and returns the full trace; `trace.result` is the answer. */
export function evaluateCondition(c: Condition, facts: MessageFacts): ConditionTrace {
  switch (c.kind) {
    case 'leaf':
      return evaluateLeaf(c.field, c.matcher, facts);
    case 'not': {
      const child = evaluateCondition(c.of, facts);
      return { kind: 'not', result: !child.result, children: [child] };
    }
    case 'all': {
      const children = c.of.map((sub) => evaluateCondition(sub, facts));
      return { kind: 'all', result: children.every((t) => t.result), children };
    }
    case 'any': {
      const children = c.of.map((sub) => evaluateCondition(sub, facts));
      return { kind: 'any', result: children.some((t) => t.result), children };
    }
  }
}
