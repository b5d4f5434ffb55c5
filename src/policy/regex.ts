/**
 * Regular expressions written by policy authors (`matches` conditions, `redact` patterns).
 * They are compiled once when the policy loads and refused when they are invalid or have the
 * nested-quantifier shape (`(a+)+`, `(\w*\s?)*`) that makes backtracking exponential. Inputs are
 * also cut to `LIMITS.MAX_MATCH_INPUT` characters before matching, so even a slow pattern is bounded.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { Matcher } from './types.ts';

/** Flags a policy may use; `g` and `y` make a RegExp stateful between calls, so they are refused. */
const ALLOWED_FLAGS = /^[imsuv]*$/;

/** `/pattern/flags` form, so authors can write case-insensitive matches (`/printer/i`). */
const SLASHED = /^\/(.*)\/([a-z]*)$/s;

function invalid(message: string): IntentmailError {
  return new IntentmailError('policy_invalid', message);
}

/** Splits `pattern` or `/pattern/flags` into source and flags. */
function splitPattern(text: string): { source: string; flags: string } {
  const m = SLASHED.exec(text);
  return m ? { source: m[1], flags: m[2] } : { source: text, flags: '' };
}

/** Length of a quantifier starting at `i` (0 when none); `unbounded` when it can repeat more than twice. */
function quantifierAt(src: string, i: number): { length: number; unbounded: boolean } {
  const c = src[i];
  if (c === '*' || c === '+') return { length: src[i + 1] === '?' ? 2 : 1, unbounded: true };
  if (c === '?') return { length: 1, unbounded: false };
  if (c !== '{') return { length: 0, unbounded: false };
  const m = /^\{(\d+)(,(\d*))?\}\??/.exec(src.slice(i));
  if (!m) return { length: 0, unbounded: false };
  const unbounded = m[2] !== undefined && (m[3] === '' || Number(m[3]) > 1);
  return { length: m[0].length, unbounded };
}

/** Skips an escape (`\x`) or a character class (`[...]`); returns the index after it, or -1 when neither starts at `i`. */
function skipAtom(src: string, i: number): number {
  if (src[i] === '\\') return i + 2;
  if (src[i] !== '[') return -1;
  let j = i + 1;
  if (src[j] === '^') j++;
  if (src[j] === ']') j++;
  while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
  return j + 1;
}

/**
 * True when a group that contains an unbounded quantifier is itself repeated without bound —
 * the classic catastrophic-backtracking shape. A conservative syntactic check, not a proof.
 */
export function hasNestedQuantifier(src: string): boolean {
  const stack: boolean[] = [];
  let i = 0;
  while (i < src.length) {
    const skipped = skipAtom(src, i);
    if (skipped >= 0) {
      i = skipped;
      continue;
    }
    const c = src[i];
    if (c === '(') {
      stack.push(false);
      i++;
      continue;
    }
    if (c === ')') {
      const innerRepeats = stack.pop() ?? false;
      const q = quantifierAt(src, i + 1);
      if (innerRepeats && q.unbounded) return true;
      if (stack.length > 0 && (innerRepeats || q.unbounded)) stack[stack.length - 1] = true;
      i += 1 + q.length;
      continue;
    }
    const q = quantifierAt(src, i);
    if (q.unbounded && stack.length > 0) stack[stack.length - 1] = true;
    i += q.length > 0 ? q.length : 1;
  }
  return false;
}

/** Compiles a policy pattern (`text` or `/text/flags`); throws `policy_invalid` for bad, stateful or ReDoS-prone patterns. */
export function compilePolicyRegex(text: string): RegExp {
  if (typeof text !== 'string' || text.length === 0) throw invalid('a pattern must be a non-empty text');
  if (text.length > LIMITS.MAX_MATCH_PATTERN_CHARS) throw invalid(`pattern longer than ${LIMITS.MAX_MATCH_PATTERN_CHARS} characters`);
  const { source, flags } = splitPattern(text);
  if (!ALLOWED_FLAGS.test(flags)) throw invalid(`pattern flags "${flags}" not allowed (use i, m, s, u or v)`);
  if (hasNestedQuantifier(source)) {
    throw invalid(`pattern "${text}" repeats a group that itself repeats (like (a+)+), which can take exponential time`);
  }
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw invalid(`invalid regular expression: ${(err as Error).message}`);
  }
}

/** Tests a compiled pattern against at most `LIMITS.MAX_MATCH_INPUT` characters of the input. */
export function boundedTest(re: RegExp, input: string): boolean {
  return re.test(input.length > LIMITS.MAX_MATCH_INPUT ? input.slice(0, LIMITS.MAX_MATCH_INPUT) : input);
}

/**
 * Compiled patterns of loaded `matches` matchers. The matcher keeps the pattern text (so policies
 * stay plain JSON for the admin API and diffs); the RegExp compiled at load time lives here.
 */
const compiled = new WeakMap<Matcher, RegExp>();

/** Records the RegExp compiled for a `matches` matcher when the policy loaded. */
export function rememberRegex(matcher: Matcher, re: RegExp): void {
  compiled.set(matcher, re);
}

/** The RegExp of a `matches` matcher: the one compiled at load, or compiled (with the same checks) for a matcher built elsewhere. */
export function matcherRegex(matcher: Matcher): RegExp {
  let re = compiled.get(matcher);
  if (!re) {
    re = compilePolicyRegex(String(matcher.value));
    compiled.set(matcher, re);
  }
  return re;
}
