/**
 * Who may use which intent. Default deny; the rules, applied in this order:
 *
 * 1. No sender (or one that is not an address) → deny.
 * 2. Explicit deny wins over everything: an entry of the intent's `deny` list or of the
 *    run-time deny list that matches the sender (address, `@domain`, `group:NAME`,
 *    `role:NAME`, `*`), or any role of the sender whose rule for a pattern covering the
 *    intent (src/policy/match.ts: `*`, `task.*`, or the exact name) lists `deny`. Deny
 *    applies to unverified senders too: refusing on a claim is safe.
 * 3. An UNVERIFIED sender (DMARC did not pass) is admitted only by a `*` entry, never by an
 *    address, `@domain`, `group:` or `role:` entry: a spoofed From must not ride on someone
 *    else's allowlist entry. Roles derived from an unverified address never grant anything.
 * 4. Allow: the first entry of the intent's `senders`, then of the run-time allow list, that
 *    matches the sender: exact address (case-insensitive), `@domain` (that domain exactly),
 *    `group:NAME`, `role:NAME`, `*`.
 * 5. Level: if any of the sender's roles has a rule whose pattern covers the intent, the
 *    union of those rules' permissions must include the intent's level (roles restrict even
 *    an admitted sender, verified or not); otherwise the allowlist match itself grants the
 *    intent's level. Permissions are not ordered: `create` does not imply `read`.
 *
 * The run-time grants passed in are the admin API's entries that apply to this intent.
 */
import type { Intent, Level, Permission, Tenant } from '../policy/types.ts';
import { normalizeAddress } from '../message/address.ts';
import { addressEntryMatches, senderGroups, senderRoles } from './identity.ts';
import { matchIntentPattern } from '../policy/match.ts';

/** Run-time additions from the admin API: entries in the same forms as `senders`; roles: member → role names. */
export interface RuntimeGrants {
  allow: string[];
  deny: string[];
  roles: Record<string, string[]>;
}

export interface AccessInput {
  tenant: Tenant;
  intent: Intent;
  sender: string | null;
  /** True only when DMARC (or the intent's `require` mode) passed for this sender. */
  verified: boolean;
  grants?: RuntimeGrants;
}

export interface AccessDecision {
  permitted: boolean;
  /** A sentence for the audit record saying which rule decided. */
  reason: string;
  /** The allow or deny entry that decided, or null. */
  matchedBy: string | null;
  /** The role that granted (or, for a role rule `deny`, refused) the intent, or null. */
  role: string | null;
  roles: string[];
  groups: string[];
}

const LEVEL_ORDER: Level[] = ['read', 'create', 'modify', 'approve'];

interface Subject {
  address: string;
  groups: string[];
  roles: string[];
}

/** Decides whether the sender may use the intent; see the rules at the top of this file. */
export function decideAccess(input: AccessInput): AccessDecision {
  const { tenant, intent, grants } = input;
  const address = input.sender === null ? null : normalizeAddress(input.sender);
  if (address === null) {
    const reason = input.sender === null ? `no sender address: intent ${intent.name} cannot be used anonymously` : `sender "${input.sender}" is not a valid address`;
    return { permitted: false, reason, matchedBy: null, role: null, roles: [], groups: [] };
  }
  const who: Subject = { address, groups: senderGroups(tenant, address), roles: senderRoles(tenant, address, grants) };
  const decision = (permitted: boolean, reason: string, matchedBy: string | null, role: string | null): AccessDecision => ({
    permitted,
    reason,
    matchedBy,
    role,
    roles: who.roles,
    groups: who.groups,
  });

  // 2. Explicit deny.
  const intentDeny = intent.deny.find((entry) => entryMatches(entry, who));
  if (intentDeny !== undefined) {
    return decision(false, `sender ${address} is denied intent ${intent.name} by its deny entry "${intentDeny}"`, intentDeny, null);
  }
  const runtimeDeny = grants?.deny.find((entry) => entryMatches(entry, who));
  if (runtimeDeny !== undefined) {
    return decision(false, `sender ${address} is denied intent ${intent.name} by the run-time deny entry "${runtimeDeny}"`, runtimeDeny, null);
  }
  const rules = roleRules(tenant, who.roles, intent.name);
  const denyRule = rules.find((r) => r.permissions.includes('deny'));
  if (denyRule !== undefined) {
    return decision(false, `role ${denyRule.role} denies intent ${intent.name} (rule "${denyRule.pattern}")`, null, denyRule.role);
  }

  // 3 and 4. Allow: unverified senders only through `*`.
  const allowed = findAllow(intent.senders, grants?.allow ?? [], who, input.verified);
  if (allowed === null) {
    if (!input.verified) {
      const wouldMatch = [...intent.senders, ...(grants?.allow ?? [])].find((entry) => entryMatches(entry, who));
      if (wouldMatch !== undefined) {
        return decision(false, `sender ${address} is not verified (DMARC did not pass), and the entry "${wouldMatch}" of intent ${intent.name} admits verified senders only`, null, null);
      }
    }
    return decision(false, `sender ${address} is not on the allowlist of intent ${intent.name}`, null, null);
  }
  const source = allowed.runtime ? 'the run-time allowlist entry' : 'the allowlist entry';
  const admitted = input.verified ? `sender ${address}` : `unverified sender ${address}`;

  // 5. Level.
  if (rules.length > 0) {
    const has = LEVEL_ORDER.filter((level) => rules.some((r) => r.permissions.includes(level)));
    if (!has.includes(intent.level)) {
      return decision(false, `level too low: needs ${intent.level}, has [${has.join(', ')}]`, allowed.entry, null);
    }
    const grantor = input.verified ? (rules.find((r) => r.permissions.includes(intent.level))?.role ?? null) : null;
    const by = grantor === null ? '' : `; role ${grantor} grants ${intent.level}`;
    return decision(true, `${admitted} may use intent ${intent.name} (${intent.level}): admitted by ${source} "${allowed.entry}"${by}`, allowed.entry, grantor);
  }
  const viaRole = input.verified && allowed.entry.toLowerCase().startsWith('role:') ? allowed.entry.slice('role:'.length).trim() : null;
  return decision(true, `${admitted} may use intent ${intent.name} (${intent.level}): admitted by ${source} "${allowed.entry}", which grants the intent's level`, allowed.entry, viaRole);
}

/** The first matching allow entry: intent `senders` first, then run-time entries. */
function findAllow(senders: string[], runtime: string[], who: Subject, verified: boolean): { entry: string; runtime: boolean } | null {
  const admits = (entry: string): boolean => (verified ? entryMatches(entry, who) : entry.trim() === '*');
  const fromPolicy = senders.find(admits);
  if (fromPolicy !== undefined) return { entry: fromPolicy, runtime: false };
  const fromRuntime = runtime.find(admits);
  return fromRuntime === undefined ? null : { entry: fromRuntime, runtime: true };
}

/** Whether an allow/deny entry (`*`, `group:NAME`, `role:NAME`, `@domain`, address) covers the sender. */
function entryMatches(entry: string, who: Subject): boolean {
  const e = entry.trim();
  if (e === '*') return true;
  const lower = e.toLowerCase();
  if (lower.startsWith('group:')) return who.groups.includes(e.slice('group:'.length).trim());
  if (lower.startsWith('role:')) return who.roles.includes(e.slice('role:'.length).trim());
  return addressEntryMatches(e, who.address);
}

interface RoleRule {
  role: string;
  pattern: string;
  permissions: Permission[];
}

/** Rules of the sender's roles whose pattern covers the intent, in role order. */
function roleRules(tenant: Tenant, roles: string[], intentName: string): RoleRule[] {
  const rules: RoleRule[] = [];
  for (const role of roles) {
    // Own properties only: a role named `constructor` must not reach Object.prototype.
    if (!Object.hasOwn(tenant.roles, role)) continue;
    for (const [pattern, permissions] of Object.entries(tenant.roles[role])) {
      if (matchIntentPattern(pattern, intentName)) rules.push({ role, pattern, permissions });
    }
  }
  return rules;
}
