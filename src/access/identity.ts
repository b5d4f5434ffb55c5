/**
 * Who a sender is in a tenant's terms: the groups an address belongs to and the roles bound
 * to it. Entries are addresses (compared case-insensitively) or `@domain` (the exact domain,
 * not its subdomains: `@acme.example` does not cover `evil.acme.example`).
 */
import type { Tenant } from '../policy/types.ts';
import { addressDomain, normalizeAddress } from '../message/address.ts';
import type { RuntimeGrants } from './access.ts';

/** True when an address or `@domain` entry covers the (normalised) sender. */
export function addressEntryMatches(entry: string, sender: string): boolean {
  const e = entry.trim().toLowerCase();
  if (e.startsWith('@')) {
    const domain = e.endsWith('.') ? e.slice(1, -1) : e.slice(1);
    return domain !== '' && domain === addressDomain(sender);
  }
  const address = normalizeAddress(e);
  return address !== null && address === sender;
}

/** Normalises a sender for matching; null when absent or not an address. */
function normal(sender: string | null): string | null {
  return sender === null ? null : normalizeAddress(sender);
}

/** Names of the tenant's groups with an entry matching the sender, in declaration order. */
export function senderGroups(tenant: Tenant, sender: string | null): string[] {
  const address = normal(sender);
  if (address === null) return [];
  const groups: string[] = [];
  for (const [name, entries] of Object.entries(tenant.groups)) {
    if (entries.some((entry) => addressEntryMatches(entry, address))) groups.push(name);
  }
  return groups;
}

/**
 * Roles bound to the sender: tenant `members` keyed by address, `@domain` or `group:NAME`,
 * then run-time bindings from the admin API in the same forms; unique, in that order.
 */
export function senderRoles(tenant: Tenant, sender: string | null, grants?: RuntimeGrants): string[] {
  const address = normal(sender);
  if (address === null) return [];
  const groups = senderGroups(tenant, address);
  const roles: string[] = [];
  const bind = (bindings: Record<string, string[]>): void => {
    for (const [member, names] of Object.entries(bindings)) {
      if (!memberMatches(member, address, groups)) continue;
      for (const role of names) if (!roles.includes(role)) roles.push(role);
    }
  };
  bind(tenant.members);
  if (grants !== undefined) bind(grants.roles);
  return roles;
}

function memberMatches(member: string, address: string, groups: string[]): boolean {
  const m = member.trim();
  if (m.toLowerCase().startsWith('group:')) return groups.includes(m.slice('group:'.length));
  return addressEntryMatches(m, address);
}
