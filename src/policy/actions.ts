/**
 * Parameters of every step action in ../shared/spec/intents.md ("Actions"), as strict zod
 * schemas: an unknown parameter is an error, sizes and durations become numbers (bytes,
 * milliseconds). `checkParamText` adds the rules zod cannot express per field: secrets only from
 * the environment, logic-less templates, and no environment values in message text.
 */
import { z } from 'zod';
import { LIMITS } from '../core/limits.ts';
import { unitTransform, type PathIssue } from './issues.ts';
import { compilePolicyRegex } from './regex.ts';
import { envReferences, templateSyntaxProblems } from './template.ts';
import { parseDuration, parseSize } from './units.ts';

const ENV_ONLY = /^\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}$/;
/** A secret value: one environment reference, optionally after an auth scheme word (`Splunk ${env.HEC_TOKEN}`). */
const ENV_SECRET = /^(?:[A-Za-z][A-Za-z0-9-]* )?\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}$/;
/** Parameter and map keys whose values are credentials. */
const SECRET_KEY = /secret|token|passw(?:or)?d|authorization|api[-_]?key|credential/i;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
/** RFC 5322 §3.6.8 field name. */
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const PHONE = /^\+[1-9]\d{6,14}$/;

/** The message every inline secret gets. */
export const INLINE_SECRET_MESSAGE = 'secrets come from the environment, never inline: write "${env.NAME}"';

/** A recipient address (lower-cased) or an environment reference to one. */
const address = z
  .string()
  .refine((s) => ADDRESS.test(s) || ENV_ONLY.test(s), { error: 'expected an e-mail address' })
  .transform((s) => (ENV_ONLY.test(s) ? s : s.toLowerCase()));

const addressList = z
  .union([address, z.array(address).min(1)], { error: 'expected an address or a list of addresses' })
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Where a step sends data: a literal http(s) URL or an environment reference; never a template, never with a password. */
const url = z.string().superRefine((s, ctx) => {
  if (s.includes('{{')) ctx.addIssue({ code: 'custom', message: 'a target URL may not contain templates: a sender must not choose where data goes' });
  else if (envReferences(s).length === 0) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected an http(s) URL or "${env.NAME}"' });
      return;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'only http and https URLs' });
    const secretParam = [...parsed.searchParams.keys()].some((k) => SECRET_KEY.test(k) || /^(key|sig|signature|code)$/i.test(k));
    if (parsed.password || secretParam) ctx.addIssue({ code: 'custom', message: INLINE_SECRET_MESSAGE });
  }
});

const secret = z.string();
const text = z.string().min(1);
const encrypt = z.enum(['auto', 'smime', 'pgp', 'pdf', 'none']);
const headers = z.record(z.string().regex(HEADER_NAME, { error: 'not a header field name' }), z.string());
const payload = z.record(z.string(), z.unknown());

function durationWithin(maxMs: number, what: string) {
  return z
    .union([z.string(), z.number()])
    .transform(unitTransform(parseDuration))
    .refine((ms) => ms > 0 && ms <= maxMs, { error: `${what} must be above 0 and at most ${maxMs / 1000} s` });
}

const duration = z.union([z.string(), z.number()]).transform(unitTransform(parseDuration));
const size = z.union([z.string(), z.number()]).transform(unitTransform(parseSize));

const signEncrypt = z
  .strictObject({ sign: z.boolean().optional(), encrypt: z.boolean().optional() })
  .refine((p) => p.sign === true || p.encrypt === true, { error: 'set sign: true, encrypt: true, or both' });

const outbound = {
  url,
  secret: secret.optional(),
  headers: headers.optional(),
  payload: payload.optional(),
  timeout: durationWithin(LIMITS.MAX_STEP_TIMEOUT_MS, 'timeout').optional(),
};

/** Parameter schema of each action; the key set is the list of known actions. */
export const ACTION_PARAMS = {
  webhook: z.strictObject({ ...outbound, method: z.enum(['POST', 'PUT', 'PATCH']).optional() }),
  reply: z
    .strictObject({ text: text.optional(), html: text.optional(), subject: text.optional(), encrypt: encrypt.optional() })
    .refine((p) => p.text !== undefined || p.html !== undefined, { error: 'a reply needs text or html' }),
  forward: z.strictObject({ to: addressList, text: text.optional(), encrypt: encrypt.optional() }),
  copy: z.strictObject({ to: addressList }),
  archive: z.strictObject({ retention: duration.optional() }),
  filelink: z.strictObject({
    ttl: durationWithin(LIMITS.MAX_FILELINK_TTL_MS, 'ttl'),
    two_factor: z.enum(['email', 'sms', 'none']).optional(),
    min_size: size.optional(),
  }),
  pdf_container: z.strictObject({
    password: z.string().regex(/^(generated|header:[\x21-\x39\x3b-\x7e]+)$/, {
      error: 'password is "generated" or "header:NAME" (never a literal password)',
    }),
    send_password: z.enum(['sms', 'email']).optional(),
  }),
  smime: signEncrypt,
  pgp: signEncrypt,
  verify_signature: z.strictObject({}),
  notify: z.strictObject({
    channel: z.enum(['sms', 'email']),
    to: z.string().refine((s) => ADDRESS.test(s) || PHONE.test(s) || ENV_ONLY.test(s), { error: 'expected an address, a +E.164 number or "${env.NAME}"' }).optional(),
    text,
  }),
  incident: z.strictObject({ ...outbound, severity: z.enum(['low', 'medium', 'high', 'critical']).optional() }),
  tag: z
    .strictObject({
      header: z.strictObject({ name: z.string().regex(HEADER_NAME, { error: 'not a header field name' }), value: z.string() }).optional(),
      subject: text.optional(),
    })
    .refine((p) => p.header !== undefined || p.subject !== undefined, { error: 'a tag sets a header, a subject tag, or both' }),
  redact: z.strictObject({ patterns: z.array(z.string().transform(unitTransform(checkedPattern))).min(1) }),
  quarantine: z.strictObject({ reason: text.optional() }),
  reject: z.strictObject({ reason: text.optional() }),
  stop: z.strictObject({}),
} as const;

export type ActionName = keyof typeof ACTION_PARAMS;

/** Every known action name. */
export const ACTION_NAMES = Object.keys(ACTION_PARAMS) as ActionName[];

/** Whether `name` is a known action. */
export function isAction(name: string): name is ActionName {
  return Object.hasOwn(ACTION_PARAMS, name);
}

/** A redact pattern: compiled once to reject bad ones, kept as text. */
function checkedPattern(p: string): string {
  compilePolicyRegex(p);
  return p;
}

/** Parameters whose values may hold `${env.…}`: targets and credentials, never text that ends up in a message. */
const ENV_ALLOWED = new Set(['url', 'secret', 'headers', 'payload', 'to']);
/** Typed parameters whose names look secret but whose values are not (`password: generated`). */
const NOT_SECRET: Record<string, ReadonlySet<string>> = { pdf_container: new Set(['password', 'send_password']) };

/** Walks raw params: inline secrets, template syntax and misplaced environment references, with paths. */
export function checkParamText(action: string, params: unknown): PathIssue[] {
  const issues: PathIssue[] = [];
  const walk = (value: unknown, path: (string | number)[], secretKey: boolean): void => {
    if (typeof value === 'string') {
      if (secretKey && !ENV_SECRET.test(value)) issues.push({ path, message: INLINE_SECRET_MESSAGE });
      for (const m of templateSyntaxProblems(value)) issues.push({ path, message: m });
      if (!ENV_ALLOWED.has(String(path[0])) && envReferences(value).length > 0) {
        issues.push({ path, message: 'environment references belong in url, secret, headers, payload or to, not in message text' });
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, i], secretKey));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const exempt = path.length === 0 && (NOT_SECRET[action]?.has(k) ?? false);
        walk(v, [...path, k], secretKey || (!exempt && SECRET_KEY.test(k)));
      }
    } else if (secretKey && value !== undefined && value !== null && typeof value !== 'boolean') {
      issues.push({ path, message: INLINE_SECRET_MESSAGE });
    }
  };
  walk(params, [], false);
  return issues;
}
