/**
 * Turns a step's policy parameters into what its handler uses, at run time with the real results
 * of earlier steps: `${env.NAME}` and `{{…}}` in one pass (policy/template.ts prepareParams), plus
 * two rules the generic renderer does not know. In a webhook `payload`, a string that is exactly
 * one placeholder (`"labels": "{{tags}}"`) takes the value itself (a list stays a list, a number a
 * number), because receivers with a fixed format (Jira, Splunk HEC) expect JSON types. In `html`,
 * every inserted value is HTML-escaped, so a subject cannot inject markup into a reply.
 */
import { readPath } from '../policy/fields.ts';
import { prepareParams } from '../policy/template.ts';

/** `{{ path }}` and nothing else. */
const WHOLE_PLACEHOLDER = /^\{\{\s*([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\}$/;

/** Parameters whose strings are HTML (values inserted into them are escaped). */
const HTML_PARAMS = new Set(['html']);
/** Parameters whose exact-placeholder strings keep the value's JSON type. */
const TYPED_PARAMS = new Set(['payload']);

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Copies plain data with every string escaped for HTML (own keys only, defined not assigned). */
function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escapeHtml(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: escapeStrings(v), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Renders a payload: exact placeholders keep their value (a deep copy), other strings render as text. */
function renderTyped(value: unknown, ctx: Record<string, unknown>, env: Record<string, string | undefined>, missing: Set<string>): unknown {
  if (typeof value === 'string') {
    const m = WHOLE_PLACEHOLDER.exec(value);
    if (m) {
      const v = readPath(ctx, m[1].split('.'));
      return v === undefined ? null : structuredClone(v);
    }
    const r = prepareParams(value, ctx, env);
    for (const n of r.missing) missing.add(n);
    return r.value;
  }
  if (Array.isArray(value)) return value.map((v) => renderTyped(v, ctx, env, missing));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: renderTyped(v, ctx, env, missing), enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * Renders a step's params with the template context (facts, earlier results) and the
 * environment; `missing` lists `${env.NAME}` variables that are not set.
 */
export function renderStepParams(
  params: Record<string, unknown>,
  ctx: Record<string, unknown>,
  env: Record<string, string | undefined>,
): { params: Record<string, unknown>; missing: string[] } {
  const missing = new Set<string>();
  let escaped: Record<string, unknown> | null = null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    let rendered: unknown;
    if (TYPED_PARAMS.has(key)) rendered = renderTyped(value, ctx, env, missing);
    else {
      const useCtx = HTML_PARAMS.has(key) ? (escaped ??= escapeStrings(ctx) as Record<string, unknown>) : ctx;
      const r = prepareParams(value, useCtx, env);
      for (const n of r.missing) missing.add(n);
      rendered = r.value;
    }
    Object.defineProperty(out, key, { value: rendered, enumerable: true, writable: true, configurable: true });
  }
  return { params: out, missing: [...missing] };
}
