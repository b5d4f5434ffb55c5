/**
 * Parses an intent's `steps:` list. Each step is a one-key map `{ ACTION: params }` with an
 * optional `name:`, or an `if:`/`then:`/`else:` branch. The action decides which parameter schema
 * applies, so errors name the real mistake ("unknown parameter \"bar\"") instead of a vague
 * "matches no alternative". Step names must be unique in the intent, and `steps.NAME` references
 * (conditions and templates) must name a step that comes earlier.
 */
import { LIMITS } from '../core/limits.ts';
import { ACTION_NAMES, ACTION_PARAMS, checkParamText, isAction } from './actions.ts';
import { parseCondition } from './condition-parse.ts';
import { stepOfField } from './fields.ts';
import { fromZodIssues, prefixed, type PathIssue } from './issues.ts';
import { templatePaths } from './template.ts';
import type { Condition, Step } from './types.ts';

/** Step names are used in `{{steps.NAME.result}}`, so they are identifiers without dots. */
export const STEP_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const IF_KEYS = new Set(['if', 'then', 'else']);

type Path = (string | number)[];

/** Parse state shared along one intent's steps, in document order. */
interface Walk {
  issues: PathIssue[];
  /** Step name → path of the step that has it. */
  names: Map<string, string>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports `steps.NAME` references to steps that do not come earlier in the intent. */
function checkStepRef(w: Walk, name: string, path: Path): void {
  if (!w.names.has(name)) w.issues.push({ path, message: `steps.${name} names no earlier step of this intent` });
}

/** Every string inside a value with its path (for template references). */
function strings(value: unknown, path: Path, out: { path: Path; text: string }[]): void {
  if (typeof value === 'string') out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, [...path, i], out));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) strings(v, [...path, k], out);
}

/** Records a step's name; a second step with the same name is an error. */
function claimName(w: Walk, name: string, path: Path, at: Path): void {
  const other = w.names.get(name);
  if (other !== undefined) {
    w.issues.push({ path: at, message: `two steps are named "${name}" (the other is steps.${other}): give them distinct name: values` });
  } else w.names.set(name, path.join('.'));
}

/** Parses `{ ACTION: params, name? }`. */
function parseAction(w: Walk, raw: Record<string, unknown>, path: Path): Step | null {
  const actions = Object.keys(raw).filter((k) => k !== 'name');
  if (actions.length !== 1) {
    w.issues.push({ path, message: `a step has exactly one action (found ${actions.length === 0 ? 'none' : actions.join(', ')})` });
    return null;
  }
  const action = actions[0];
  if (!isAction(action)) {
    w.issues.push({ path: [...path, action], message: `unknown action "${action}" (known: ${ACTION_NAMES.join(', ')})` });
    return null;
  }
  const before = w.issues.length;
  if (raw.name !== undefined && (typeof raw.name !== 'string' || !STEP_NAME.test(raw.name))) {
    w.issues.push({ path: [...path, 'name'], message: 'a step name starts with a letter and has letters, digits, - and _ (no dots)' });
  }
  const input = raw[action] ?? {};
  const parsed = ACTION_PARAMS[action].safeParse(input);
  if (!parsed.success) w.issues.push(...prefixed([...path, action], fromZodIssues(parsed.error.issues, 'parameter')));
  w.issues.push(...prefixed([...path, action], checkParamText(action, input)));
  const found: { path: Path; text: string }[] = [];
  strings(input, [...path, action], found);
  for (const s of found) for (const p of templatePaths(s.text)) if (p[0] === 'steps' && p[1] !== undefined) checkStepRef(w, p[1], s.path);
  const name = typeof raw.name === 'string' ? raw.name : action;
  claimName(w, name, path, raw.name === undefined ? [...path, action] : [...path, 'name']);
  if (w.issues.length > before || !parsed.success) return null;
  return { kind: 'action', action, name, params: parsed.data as Record<string, unknown>, line: 0 };
}

/** The `steps.NAME.result` fields a condition reads, with their paths below the condition. */
function conditionStepRefs(c: Condition, path: Path, out: { path: Path; step: string }[]): void {
  if (c.kind === 'leaf') {
    const step = stepOfField(c.field);
    if (step) out.push({ path: [...path, c.field], step });
  } else if (c.kind === 'not') conditionStepRefs(c.of, [...path, 'not'], out);
  else c.of.forEach((sub, i) => conditionStepRefs(sub, [...path, c.kind, i], out));
}

/** Parses `{ if: CONDITION, then: [...], else?: [...] }`. */
function parseIf(w: Walk, raw: Record<string, unknown>, path: Path, depth: number): Step | null {
  const before = w.issues.length;
  for (const k of Object.keys(raw)) {
    if (!IF_KEYS.has(k)) w.issues.push({ path: [...path, k], message: `unknown field "${k}" in an if step (if, then, else)` });
  }
  const cond = parseCondition(raw.if);
  w.issues.push(...prefixed([...path, 'if'], cond.issues));
  if (cond.condition) {
    const refs: { path: Path; step: string }[] = [];
    conditionStepRefs(cond.condition, [...path, 'if'], refs);
    for (const r of refs) checkStepRef(w, r.step, r.path);
  }
  if (raw.then === undefined) w.issues.push({ path, message: 'an if step needs then: [...]' });
  const then = raw.then === undefined ? [] : parseStepList(w, raw.then, [...path, 'then'], depth + 1);
  const otherwise = raw.else === undefined ? [] : parseStepList(w, raw.else, [...path, 'else'], depth + 1);
  if (w.issues.length > before || !cond.condition || !then || !otherwise) return null;
  return { kind: 'if', when: cond.condition, then, else: otherwise, line: 0 };
}

function parseStep(w: Walk, raw: unknown, path: Path, depth: number): Step | null {
  if (!isPlainObject(raw)) {
    w.issues.push({ path, message: 'a step is a map such as { webhook: { url: ... } } or an if/then/else' });
    return null;
  }
  return 'if' in raw ? parseIf(w, raw, path, depth) : parseAction(w, raw, path);
}

/** Parses a list of steps at `path`; null when any step is invalid (the issues say why). */
function parseStepList(w: Walk, raw: unknown, path: Path, depth: number): Step[] | null {
  if (depth > LIMITS.MAX_POLICY_DEPTH) {
    w.issues.push({ path, message: `steps nest deeper than ${LIMITS.MAX_POLICY_DEPTH} levels` });
    return null;
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    w.issues.push({ path, message: 'expected a non-empty list of steps' });
    return null;
  }
  const out: Step[] = [];
  raw.forEach((item, i) => {
    const step = parseStep(w, item, [...path, i], depth);
    if (step) out.push(step);
  });
  return out.length === raw.length ? out : null;
}

/** Parses an intent's steps; `steps` is null when `issues` is not empty. Paths are relative to the list. */
export function parseSteps(raw: unknown): { steps: Step[] | null; issues: PathIssue[] } {
  const w: Walk = { issues: [], names: new Map() };
  const steps = parseStepList(w, raw, [], 0);
  return { steps: w.issues.length === 0 ? steps : null, issues: w.issues };
}
