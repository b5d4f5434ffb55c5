/**
 * Reads one policy file as YAML 1.2 and maps validation paths back to lines and columns, so
 * every problem can say `acme/task.linear.yaml:14:9 steps.1.webhook.url`. Duplicate keys,
 * multiple documents and excessive aliases are refused (YAML "billion laughs").
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { LIMITS } from '../core/limits.ts';
import type { PolicyProblem } from './types.ts';

/** A parsed policy file: its data, or the problems that prevented reading it. */
export interface YamlSource {
  file: string;
  data: unknown;
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
  /** Line and column (1-based) of the field at `path`: the key of a map entry, the item of a list. */
  locate(path: readonly (string | number)[]): { line: number; column: number };
}

type Ranged = { range?: [number, number, number] | null } | null | undefined;

/** Finds the node at `path`; stops at the deepest node that exists (a missing field points at its parent). */
function walk(doc: Document, path: readonly (string | number)[]): Ranged {
  let node: unknown = doc.contents;
  let at: Ranged = doc.contents as Ranged;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return at;
      at = pair.key as Ranged;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      at = node as Ranged;
    } else return at;
  }
  return at;
}

/** Parses policy text; problems carry file, line, column (1-based) and field. */
export function readYaml(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, version: '1.2', merge: true, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  } catch (err) {
    const problem = { file, line: 1, column: 1, field: '', message: `YAML not accepted: ${(err as Error).message}` };
    return { file, data: null, problems: [problem], warnings: [], locate: () => ({ line: 1, column: 1 }) };
  }
  const pos = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (path: readonly (string | number)[]) => {
    const node = walk(doc, path);
    return node?.range ? pos(node.range[0]) : { line: 1, column: 1 };
  };
  const toProblem = (e: { pos: [number, number]; message: string }): PolicyProblem => ({ file, ...pos(e.pos[0]), field: '', message: e.message.split('\n')[0] });
  const problems = doc.errors.map(toProblem);
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__' && pair.key.range) {
        problems.push({ file, ...pos(pair.key.range[0]), field: '', message: 'the key __proto__ is not allowed' });
      }
    },
  });
  const warnings = doc.warnings.map(toProblem);
  let data: unknown = null;
  if (problems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: LIMITS.MAX_POLICY_YAML_ALIASES });
      if (depthOf(data) > LIMITS.MAX_POLICY_DEPTH) throw new Error(`nests deeper than ${LIMITS.MAX_POLICY_DEPTH} levels`);
    } catch (err) {
      problems.push({ file, line: 1, column: 1, field: '', message: `YAML not accepted: ${(err as Error).message}` });
    }
  }
  return { file, data, problems, warnings, locate };
}

/** Nesting depth of plain data, computed without recursion (a hostile file must not overflow the stack). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return max;
}
