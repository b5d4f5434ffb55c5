/**
 * Validation issues with a path relative to the value checked. Zod issues, condition and step
 * issues all become `PathIssue`s; the loader maps each path to a file line and column.
 */
import type { z } from 'zod';

/** A path below the value checked and what is wrong there. */
export interface PathIssue {
  path: (string | number)[];
  message: string;
}

/** Turns zod issues into path issues; unknown keys become one issue per key, pointing at that key. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], noun = 'field'): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown ${noun} "${key}"` });
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]?.message ?? issue.message;
      out.push({ path, message: `invalid name "${String(path[path.length - 1])}": ${inner}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** Adds `prefix` in front of every issue's path. */
export function prefixed(prefix: (string | number)[], issues: readonly PathIssue[]): PathIssue[] {
  return issues.map((i) => ({ path: [...prefix, ...i.path], message: i.message }));
}

/** Reports path issues inside a zod transform or refinement (paths stay relative to the value being parsed). */
export function relayIssues(ctx: { issues: z.core.$ZodRawIssue[] }, input: unknown, issues: readonly PathIssue[]): void {
  for (const i of issues) ctx.issues.push({ code: 'custom', message: i.message, input, path: [...i.path] });
}

/** A transform that applies a unit parser (`parseSize`, `parseDuration`, …) and reports its error as an issue. */
export function unitTransform<T>(parse: (v: never) => T) {
  return (value: unknown, ctx: { issues: z.core.$ZodRawIssue[] }): T => {
    try {
      return parse(value as never);
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: err instanceof Error ? err.message : String(err), input: value });
      return undefined as T;
    }
  };
}
