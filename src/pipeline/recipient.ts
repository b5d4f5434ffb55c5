/**
 * RCPT TO stage: which tenant and intent an address reaches, decided before any DATA is read
 * so an unknown intent costs the sender nothing and us nothing (RFC 5321 §3.3).
 */
import { IntentmailError } from '../core/errors.ts';
import { parseIntentAddress } from '../message/address.ts';
import type { Intent, PolicySet, Tenant } from '../policy/types.ts';

/** The intent an envelope recipient resolved to. */
export interface ResolvedRecipient {
  address: string;
  tenant: Tenant;
  intent: Intent;
  detail: string | null;
}

/** Result of the RCPT stage: the target, or the refusal to send. */
export type RecipientResult = { ok: true; target: ResolvedRecipient; duplicate: boolean } | { ok: false; error: IntentmailError; tenant: Tenant | null };

/**
 * Resolves `address` against the loaded policies. One transaction carries one intent: a second
 * recipient for another intent gets 452 4.5.3 and the client sends it in its own transaction
 * (RFC 5321 §3.3), so every message has exactly one access decision and one reply.
 */
export function resolveRecipient(policy: PolicySet, address: string, current: ResolvedRecipient | null, maxMessageBytes: number, declaredSize?: number): RecipientResult {
  const parsed = parseIntentAddress(address);
  if (!parsed) return { ok: false, error: new IntentmailError('unknown_recipient', `Recipient address rejected: ${address} is not an intent address`), tenant: null };
  const tenant = policy.byDomain.get(parsed.domain);
  if (!tenant) return { ok: false, error: new IntentmailError('unknown_recipient', `Recipient address rejected: no tenant for domain ${parsed.domain}`), tenant: null };
  const intent = tenant.intents.get(parsed.intent);
  if (!intent) return { ok: false, error: new IntentmailError('unknown_recipient', `Recipient address rejected: no intent ${parsed.intent} at ${parsed.domain}`), tenant };
  if (current && (current.tenant !== tenant || current.intent !== intent || current.detail !== parsed.detail)) {
    return { ok: false, error: new IntentmailError('too_many_recipients', 'Too many recipients: send one intent address per transaction'), tenant };
  }
  const limit = messageLimit(intent, maxMessageBytes);
  if (declaredSize !== undefined && declaredSize > limit) {
    return { ok: false, error: new IntentmailError('message_too_large', `Message size ${declaredSize} exceeds the limit of ${limit} bytes for ${intent.name}`), tenant };
  }
  const normalised = `${parsed.local}@${parsed.domain}`;
  return { ok: true, target: { address: normalised, tenant, intent, detail: parsed.detail }, duplicate: current !== null };
}

/** The size limit for an intent: its own `limits.max_size` (or the tenant's) capped by the listener's. */
export function messageLimit(intent: Intent, maxMessageBytes: number): number {
  return Math.min(intent.limits.maxSize ?? maxMessageBytes, maxMessageBytes);
}
