/**
 * JSON Canonicalization Scheme (RFC 8785): the one byte-exact text of a JSON value, so a hash
 * over an audit event is reproducible by any JCS implementation.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';

/**
 * Serialises plain JSON data canonically: object keys sorted by UTF-16 code units (§3.2.3),
 * ES number serialisation (§3.2.2.3), ES string escaping (§3.2.2.2), no whitespace.
 * Throws IntentmailError('internal') for anything that is not I-JSON (RFC 7493): non-finite
 * numbers, undefined, functions, symbols, bigint, lone surrogates, non-plain objects.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, 0);
}

function serialise(value: unknown, depth: number): string {
  if (depth > LIMITS.CANONICAL_JSON_MAX_DEPTH) {
    throw new IntentmailError('internal', `canonical JSON: nesting deeper than ${LIMITS.CANONICAL_JSON_MAX_DEPTH}`);
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new IntentmailError('internal', `canonical JSON: ${value} is not a JSON number`);
      // ECMAScript Number::toString is exactly what §3.2.2.3 prescribes; JSON.stringify also maps -0 to "0".
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value);
    case 'object':
      if (Array.isArray(value)) return `[${value.map((item) => serialise(item, depth + 1)).join(',')}]`;
      return serialiseObject(value, depth);
    default:
      throw new IntentmailError('internal', `canonical JSON: a ${typeof value} is not JSON data`);
  }
}

function serialiseObject(value: object, depth: number): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new IntentmailError('internal', 'canonical JSON: only plain objects and arrays are JSON data');
  }
  const record = value as Record<string, unknown>;
  // Default string ordering compares UTF-16 code units, which is what §3.2.3 requires.
  const keys = Object.keys(record).sort();
  const members = keys.map((key) => `${serialiseString(key)}:${serialise(record[key], depth + 1)}`);
  return `{${members.join(',')}}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialiseString(text: string): string {
  // I-JSON (RFC 7493 §2.1) forbids unpaired surrogates; RFC 8785 §3.1 requires I-JSON input.
  if (LONE_SURROGATE.test(text)) throw new IntentmailError('internal', 'canonical JSON: string contains a lone surrogate');
  // ES JSON.stringify escapes exactly as §3.2.2.2 prescribes (\b \t \n \f \r \" \\ and \u00XX for other controls).
  return JSON.stringify(text);
}
