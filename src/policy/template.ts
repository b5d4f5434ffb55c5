/**
 * Logic-less templates for step parameters: `{{path.to.value}}` reads data, `${env.NAME}` reads an
 * operator-set variable. There are no helpers, no expressions and no prototype access: a path
 * segment `__proto__`, `constructor` or `prototype` resolves to nothing, and only own properties
 * are read. Policy text is the only thing ever scanned for placeholders; values inserted from the
 * message are never scanned again, so a subject reading `${env.SECRET}` stays that literal text.
 */
import { LIMITS } from '../core/limits.ts';
import type { MessageFacts } from '../message/facts.ts';
import { readPath } from './fields.ts';

/** `{{ path }}` (group 1) or `${env.NAME}` (group 2). */
const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}|\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const ENV_REF = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** Top-level names `templateContext` provides; the loader warns about templates that use others. */
export const TEMPLATE_ROOTS: readonly string[] = [
  'sender', 'sender_verified', 'recipient', 'subject', 'body', 'address', 'tags', 'labels', 'attachments',
  'auth', 'tls', 'size', 'header', 'steps', 'message', 'intent', 'tenant',
];

/** Turns a looked-up value into text: missing → empty, objects → JSON. */
function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

/** Cuts text to the template output cap without splitting a surrogate pair. */
function capOutput(text: string): string {
  if (text.length <= LIMITS.MAX_TEMPLATE_OUTPUT) return text;
  let end = LIMITS.MAX_TEMPLATE_OUTPUT;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end);
}

/** Reads a dotted path from the context; invalid paths and prototype segments give undefined. */
function lookup(path: string, ctx: Record<string, unknown>): unknown {
  return PATH.test(path) ? readPath(ctx, path.split('.')) : undefined;
}

/** One pass over policy text: replaces placeholders with `fill`'s answers; inserted text is never rescanned. */
function substitute(text: string, fill: (path: string | undefined, env: string | undefined) => string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    out += text.slice(last, m.index) + fill(m[1], m[2]);
    last = m.index + m[0].length;
    if (out.length > LIMITS.MAX_TEMPLATE_OUTPUT) return capOutput(out);
  }
  return capOutput(out + text.slice(last));
}

/** Renders `{{path}}` placeholders from `ctx` (missing → empty, objects → JSON); `${env.…}` is left as written. */
export function renderTemplate(text: string, ctx: Record<string, unknown>): string {
  return substitute(text, (path, env) => (path === undefined ? `\${env.${env}}` : stringify(lookup(path, ctx))));
}

/** Copies plain data, transforming every string; object keys are defined, never assigned (no `__proto__` setter). */
function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, { value: mapStrings(v, fn), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Renders every string inside params (objects and arrays recursively) with `renderTemplate`. */
export function renderParams(value: unknown, ctx: Record<string, unknown>): unknown {
  return mapStrings(value, (s) => renderTemplate(s, ctx));
}

/** Names of the `${env.NAME}` variables used anywhere in a value, each once, in order of first use. */
export function envReferences(value: unknown): string[] {
  const names = new Set<string>();
  mapStrings(value, (s) => {
    for (const m of s.matchAll(ENV_REF)) names.add(m[1]);
    return s;
  });
  return [...names];
}

/** Replaces `${env.NAME}` from `env`; unset variables become empty and are listed in `missing`. */
export function resolveEnv(value: unknown, env: Record<string, string | undefined>): { value: unknown; missing: string[] } {
  const missing = new Set<string>();
  const resolved = mapStrings(value, (s) =>
    s.replace(ENV_REF, (_all, name: string) => {
      const v = Object.hasOwn(env, name) ? env[name] : undefined;
      if (v === undefined) missing.add(name);
      return v ?? '';
    }),
  );
  return { value: resolved, missing: [...missing] };
}

/**
 * Resolves `${env.…}` and renders `{{…}}` in one pass over the policy text — the safe way to turn
 * step params into what a step uses (rendering first and resolving after would let a sender's
 * subject read environment variables).
 */
export function prepareParams(
  value: unknown,
  ctx: Record<string, unknown>,
  env: Record<string, string | undefined>,
): { value: unknown; missing: string[] } {
  const missing = new Set<string>();
  const fill = (path: string | undefined, name: string | undefined): string => {
    if (path !== undefined) return stringify(lookup(path, ctx));
    const v = Object.hasOwn(env, name!) ? env[name!] : undefined;
    if (v === undefined) missing.add(name!);
    return v ?? '';
  };
  return { value: mapStrings(value, (s) => substitute(s, fill)), missing: [...missing] };
}

/** Problems with the placeholders in one policy string: non-path `{{…}}` (logic is not supported) and malformed `${…}`. */
export function templateSyntaxProblems(text: string): string[] {
  const problems: string[] = [];
  const bad = [...text.matchAll(TOKEN)].filter((m) => m[1] !== undefined && !PATH.test(m[1])).map((m) => `{{${m[1]}}}`);
  if (bad.length > 0) {
    problems.push(`${bad.join(', ')}: not a value path; templates only insert values, like {{steps.webhook.result.id}}`);
  }
  const stripped = text.replace(TOKEN, '');
  if (stripped.includes('{{') || stripped.includes('}}')) problems.push('unbalanced {{ }} in template');
  if (stripped.includes('${')) problems.push('"${" must start an environment reference such as ${env.NAME}');
  return problems;
}

/** The value paths a policy string reads, split into segments (`{{steps.webhook.result.id}}` → ['steps','webhook','result','id']). */
export function templatePaths(text: string): string[][] {
  const out: string[][] = [];
  for (const m of text.matchAll(TOKEN)) if (m[1] !== undefined && PATH.test(m[1])) out.push(m[1].split('.'));
  return out;
}

/** Extra template data the pipeline knows and the facts do not (message id and time, intent, tenant). */
export interface TemplateExtras {
  message?: Record<string, unknown>;
  intent?: string;
  tenant?: string;
}

/** The data templates read for a message: the roots in `TEMPLATE_ROOTS`, built from the facts plus `extra`. */
export function templateContext(facts: MessageFacts, extra: TemplateExtras = {}): Record<string, unknown> {
  const header = Object.fromEntries(Object.entries(facts.headers).map(([k, v]) => [k, v.join(', ')]));
  return {
    sender: facts.sender,
    sender_verified: facts.senderVerified,
    recipient: facts.recipient,
    subject: facts.subject,
    body: facts.body,
    address: { detail: facts.addressDetail },
    tags: facts.subjectTags,
    labels: facts.labels,
    attachments: facts.attachments.map((a) => ({ filename: a.filename, type: a.mimeType, size: a.size, sha256: a.sha256 })),
    auth: { ...facts.auth },
    tls: facts.tls,
    size: facts.size,
    header,
    steps: facts.steps,
    message: extra.message ?? {},
    intent: extra.intent ?? null,
    tenant: extra.tenant ?? null,
  };
}
