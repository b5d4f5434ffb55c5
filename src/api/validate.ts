/**
 * Checks of request values against the tenant's loaded policy: entries in the forms an
 * intent's `senders` list takes, members in the forms of tenant.yaml `members`, role and
 * group names that exist, intents that exist. Failures are 400 `validation_failed` problems
 * naming the field, like schema errors.
 */
import { normalizeAddress } from '../message/address.ts';
import type { Tenant } from '../policy/types.ts';
import { problem } from './problems.ts';

/** A 400 naming one body field. */
export function fieldError(path: string, message: string): Error {
  return problem('validation_failed', `${path}: ${message}`, { errors: [{ in: 'body', path, message }] });
}

/** `*` or an intent of the tenant. */
export function checkIntent(tenant: Tenant, intent: string, path = 'intent'): string {
  // Intent names are lower-case (src/policy/schema.ts INTENT_NAME), like the addresses that reach them.
  const name = intent.trim().toLowerCase();
  if (name === '*' || tenant.intents.has(name)) return name;
  throw fieldError(path, `tenant ${tenant.name} has no intent ${name} (use "*" for every intent)`);
}

/** An `@domain` entry with a valid domain, lower-case. */
function checkDomain(entry: string, path: string): string {
  const domain = entry.slice(1);
  const probe = normalizeAddress(`x@${domain}`);
  if (probe === null) throw fieldError(path, `"${entry}" is not a valid @domain`);
  return `@${probe.slice(2)}`;
}

/**
 * A sender entry: address, `@domain`, `group:NAME` or `role:NAME` of the tenant; a deny entry
 * may also be `*` (shut the intent for everyone). An allow `*` would admit unverified senders,
 * so it belongs in the reviewed policy in git, not in a run-time entry.
 */
export function checkSenderEntry(tenant: Tenant, raw: string, kind: 'allow' | 'deny', path = 'sender'): string {
  const entry = raw.trim();
  if (entry === '*') {
    if (kind === 'deny') return entry;
    throw fieldError(path, '"*" (anyone, even unverified) cannot be added at run time; put it in the intent\'s senders in git');
  }
  const lower = entry.toLowerCase();
  if (lower.startsWith('group:')) return `group:${checkGroup(tenant, entry.slice('group:'.length).trim(), path)}`;
  if (lower.startsWith('role:')) {
    const role = entry.slice('role:'.length).trim();
    if (!Object.hasOwn(tenant.roles, role)) throw fieldError(path, `tenant ${tenant.name} has no role ${role}`);
    return `role:${role}`;
  }
  if (entry.startsWith('@')) return checkDomain(entry, path);
  const address = normalizeAddress(entry);
  if (address === null) throw fieldError(path, `"${entry}" is not an address, @domain, group:NAME or role:NAME`);
  return address;
}

/** A role-binding member: address, `@domain` or `group:NAME` (the forms tenant.yaml `members` takes). */
export function checkMember(tenant: Tenant, raw: string, path = 'member'): string {
  const entry = raw.trim();
  if (entry.toLowerCase().startsWith('group:')) return `group:${checkGroup(tenant, entry.slice('group:'.length).trim(), path)}`;
  if (entry.startsWith('@')) return checkDomain(entry, path);
  const address = normalizeAddress(entry);
  if (address === null) throw fieldError(path, `"${entry}" is not an address, @domain or group:NAME`);
  return address;
}

/** Role names that tenant.yaml defines, unique, in the order given. */
export function checkRoles(tenant: Tenant, roles: string[], path = 'roles'): string[] {
  const out: string[] = [];
  roles.forEach((r, i) => {
    const role = r.trim();
    if (!Object.hasOwn(tenant.roles, role)) throw fieldError(`${path}.${i}`, `tenant ${tenant.name} has no role ${role} (roles are defined in tenant.yaml)`);
    if (!out.includes(role)) out.push(role);
  });
  return out;
}

function checkGroup(tenant: Tenant, group: string, path: string): string {
  if (!Object.hasOwn(tenant.groups, group)) throw fieldError(path, `tenant ${tenant.name} has no group ${group}`);
  return group;
}

/** An expiry in the future, or null. */
export function checkExpiry(expiresAt: string | undefined | null, now: Date, path = 'expiresAt'): Date | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  const at = new Date(expiresAt);
  if (at.getTime() <= now.getTime()) throw fieldError(path, 'must be in the future');
  return at;
}
