/**
 * The audit record of a change made through the admin API: who (the token), what
 * (`api.<resource>.<verb>` on a target), and the resource before and after, appended to the
 * tenant's chain in the same transaction as the change (src/store/admin-store.ts). Changes to
 * all-tenant tokens go to the `_system` chain, like mail no tenant claims.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../core/audit-event.ts';
import { SYSTEM_TENANT } from '../pipeline/audit-events.ts';
import { actorOf, type Principal } from './auth.ts';
import type { Scope } from './ports.ts';

/** What one API change was. */
export interface ApiChange {
  /** The tenant whose chain records it; null for all-tenant tokens (the `_system` chain). */
  tenant: string | null;
  /** `api.<resource>.<verb>`, e.g. `api.allowlist.create`. */
  type: string;
  target: string | null;
  intent?: string | null;
  before: unknown;
  after: unknown;
  scope: Scope;
  /** `ok` for a change made; `refused` for one refused on the resource's state (erase under legal hold). */
  status?: 'ok' | 'refused';
  reason?: string;
  /** Extra parameters (e.g. the reason an operator gave). */
  parameters?: Record<string, unknown>;
}

/** Turns Dates into RFC 3339 text and drops undefined, so the value is plain JSON for canonical hashing. */
export function plainJson(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** Builds the audit event of an API change by `principal` from `ip` at `now`. */
export function apiAuditEvent(principal: Principal, ip: string | null, now: Date, change: ApiChange): AuditEvent {
  const status = change.status ?? 'ok';
  const by = `token ${principal.tokenId} (${principal.name}) with scope ${change.scope}`;
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant: change.tenant ?? SYSTEM_TENANT,
    actor: { email: actorOf(principal), verified: true, ip, helo: null },
    action: {
      type: change.type,
      target: change.target,
      intent: change.intent ?? null,
      parameters: { token: { id: principal.tokenId, name: principal.name }, before: plainJson(change.before), after: plainJson(change.after), ...(plainJson(change.parameters ?? {}) as Record<string, unknown>) },
    },
    authentication: null,
    authorization: { permitted: status === 'ok', role: null, policy: null, reason: change.reason ?? (status === 'ok' ? `changed by ${by}` : `refused for ${by}`) },
    result: { status, resourceId: change.target },
  };
}
