/**
 * Zod 4 schemas for the policy files of ../shared/spec/intents.md: `tenant.yaml` and one file per
 * intent. They validate the YAML as written (strict: unknown fields are errors) and normalise
 * it: addresses and domains lower-case, sizes in bytes, rates as `Rate`, steps as `Step`.
 */
import { z } from 'zod';
import { LIMITS } from '../core/limits.ts';
import { relayIssues, unitTransform } from './issues.ts';
import { parseSteps } from './steps.ts';
import { parseRate, parseSize } from './units.ts';
import type { Limits, Step } from './types.ts';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);
const ADDRESS = /^[^\s@<>",;:]+@[^\s@<>",;:]+\.[^\s@<>",;:]+$/;
/** Tenant, group and role names. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Intent names are the local part of the intent address (RFC 5321 §4.5.3.1.1: at most 64 octets), without `+`. */
export const INTENT_NAME = /^(?=.{1,64}$)[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*$/;
/** Role rule patterns: `*`, an intent name, or a name prefix ending in `.*` (`task.*`); see match.ts. */
const INTENT_PATTERN = /^(?:\*|[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*(?:\.\*)?)$/;

const lower = (s: string): string => s.trim().toLowerCase();

const domain = z
  .string()
  .transform((s) => lower(s).replace(/\.$/, ''))
  .refine((s) => DOMAIN.test(s), { error: 'expected a domain name such as in.acme.example' });

/** An address or `@domain`: group entries and role bindings. */
const party = z
  .string()
  .transform(lower)
  .refine((s) => ADDRESS.test(s) || (s.startsWith('@') && DOMAIN.test(s.slice(1))), { error: 'expected an address or @domain' });

/** An allowlist or deny entry: address, `@domain`, `group:NAME`, `role:NAME`, or `*` (anyone). */
const senderEntry = z
  .string()
  .transform((s) => s.trim())
  .transform((s) => (/^(group|role):/i.test(s) ? s.replace(/^(group|role):/i, (p) => p.toLowerCase()) : s.toLowerCase()))
  .refine(
    (s) => s === '*' || ADDRESS.test(s) || (s.startsWith('@') && DOMAIN.test(s.slice(1))) || (/^(group|role):/.test(s) && NAME.test(s.slice(s.indexOf(':') + 1))),
    { error: 'expected an address, @domain, group:NAME, role:NAME or "*"' },
  );

export const requireMode = z.enum(['dmarc', 'dkim', 'spf', 'none']);
export const level = z.enum(['read', 'create', 'modify', 'approve']);
const permission = z.enum(['read', 'create', 'modify', 'approve', 'deny']);

const maxSize = z
  .union([z.string(), z.number()])
  .transform(unitTransform(parseSize))
  .refine((n) => n > 0 && n <= LIMITS.MAX_MESSAGE_BYTES, {
    error: `max_size must be above 0 and at most the router's limit of ${LIMITS.MAX_MESSAGE_BYTES / 1024 ** 2}MB`,
  });

/** `limits: { per_sender: 60/hour, max_size: 50MB }` → `Limits`. */
export const limitsSchema = z
  .strictObject({ per_sender: z.string().transform(unitTransform(parseRate)).optional(), max_size: maxSize.optional() })
  .transform((l): Limits => ({
    ...(l.per_sender ? { perSender: l.per_sender } : {}),
    ...(l.max_size !== undefined ? { maxSize: l.max_size } : {}),
  }));

const nameKey = z.string().regex(NAME, { error: 'names have letters, digits, - and _' });

/** tenant.yaml */
export const tenantSchema = z.strictObject({
  tenant: z.string().regex(NAME, { error: 'a tenant name has letters, digits, - and _' }),
  domains: z.array(domain).min(1),
  defaults: z
    .strictObject({
      require: requireMode.optional(),
      limits: limitsSchema.optional(),
      /** Extension: ARC sealers (RFC 8617) whose authentication results may stand in for a failed DMARC check. */
      trusted_arc_sealers: z.array(domain).optional(),
    })
    .optional(),
  groups: z.record(nameKey, z.array(party)).optional(),
  roles: z
    .record(nameKey, z.record(z.string().regex(INTENT_PATTERN, { error: 'an intent name or pattern such as task.*' }), z.array(permission).min(1)))
    .optional(),
  members: z.record(party, z.array(nameKey).min(1)).optional(),
  /**
   * Extension: key files imported into the tenant's key store at start-up (S/MIME identities,
   * partner certificates, OpenPGP keys), paths inside the tenant's folder, passwords only as `${env.NAME}`.
   */
  keys: z
    .array(
      z.strictObject({
        file: z
          .string()
          .min(1)
          .refine((f) => !f.startsWith('/') && !f.split(/[\\/]/).includes('..'), { error: 'a key file path stays inside the tenant folder' }),
        password: z.string().regex(/^\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}$/, { error: 'secrets come from the environment, never inline: use "${env.NAME}"' }).optional(),
      }),
    )
    .optional(),
});

export type TenantInput = z.output<typeof tenantSchema>;

/** The intent file fields; `steps` is given so the editor schema can describe steps without the loader's parser. */
export function intentShape<S extends z.ZodType>(steps: S) {
  return z.strictObject({
    intent: z.string().regex(INTENT_NAME, { error: 'an intent name is lower-case words joined by dots, like task.linear' }),
    description: z.string().optional(),
    level: level.optional(),
    senders: z.array(senderEntry).optional(),
    /** Extension: explicit deny entries; a deny beats any allow. */
    deny: z.array(senderEntry).optional(),
    require: requireMode.optional(),
    limits: limitsSchema.optional(),
    steps,
  });
}

/** The loader's steps: parsed by action, so errors name the wrong parameter rather than a failed alternative. */
const loadedSteps = z.array(z.unknown()).transform((raw, ctx): Step[] => {
  const parsed = parseSteps(raw);
  relayIssues(ctx, raw, parsed.issues);
  return parsed.steps ?? [];
});

/** An intent file. */
export const intentSchema = intentShape(loadedSteps);

export type IntentInput = z.output<typeof intentSchema>;
