/**
 * The audit record of a step outcome, in the shape of every other record (issue 2 §8):
 * `action.type` is `step.<action>`, `action.target` where it went (a URL without its query, the
 * recipients), `result.status` the outcome and `result.resourceId` what the receiver created.
 * Parameters name the message, job and step; never payloads, headers or secrets.
 */
import type { AuditEvent } from '../core/audit-event.ts';
import { LIMITS } from '../core/limits.ts';
import type { StepMessage } from '../steps/types.ts';
import { redactUrl } from '../steps/webhook.ts';

/** Where a rendered step sends something, for `action.target`. */
export function stepTarget(action: string, params: Record<string, unknown>, message: StepMessage): string | null {
  switch (action) {
    case 'webhook':
    case 'incident':
      return typeof params.url === 'string' ? redactUrl(params.url) : null;
    case 'reply':
      return message.facts.sender;
    case 'forward':
    case 'copy':
      return Array.isArray(params.to) ? params.to.map(String).join(', ') : typeof params.to === 'string' ? params.to : null;
    case 'notify':
      return typeof params.to === 'string' ? params.to : message.facts.senderVerified ? message.facts.sender : null;
    default:
      return null;
  }
}

/** Everything one step-outcome record says. */
export interface StepAuditInput {
  eventId: string;
  now: Date;
  message: StepMessage;
  jobId: string;
  policy: { file: string; version: string } | null;
  path: string;
  name: string;
  action: string;
  attempt: number;
  target: string | null;
  status: string;
  resourceId: string | null;
  /** The summary of a success or the reason of anything else. */
  text: string;
  webhookId: string | null;
  nextAttemptInMs?: number;
}

/** Builds the record. */
export function stepAuditEvent(i: StepAuditInput): AuditEvent {
  const m = i.message;
  return {
    eventId: i.eventId,
    timestamp: i.now.toISOString(),
    tenant: m.tenant.name,
    actor: { email: m.facts.sender, verified: m.facts.senderVerified, ip: m.envelope.clientIp, helo: m.envelope.helo },
    action: {
      type: `step.${i.action}`,
      target: i.target,
      intent: m.intent.name,
      parameters: {
        messageId: m.id,
        jobId: i.jobId,
        path: i.path,
        name: i.name,
        attempt: i.attempt,
        ...(i.webhookId ? { webhookId: i.webhookId } : {}),
        ...(i.nextAttemptInMs !== undefined ? { nextAttemptInMs: i.nextAttemptInMs } : {}),
      },
    },
    authentication: { ...m.facts.auth },
    authorization: { permitted: true, role: null, policy: i.policy, reason: `step ${i.path} (${i.name}) of intent ${m.intent.name}` },
    result: { status: i.status, resourceId: i.resourceId, reply: i.text.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) },
  };
}
