/**
 * Builds the audit records of inbound decisions (issue 2 §8 shape). Only facts the decision
 * rested on go in: no subject or body, so the audit trail itself holds no message content.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../core/audit-event.ts';
import { formatSmtpReply, type SmtpReply } from '../core/errors.ts';
import type { Envelope, InboundReport } from './inbound.ts';

/** The tenant name used for decisions about addresses no tenant claims. */
export const SYSTEM_TENANT = '_system';

/** The audit record for a message-level decision (accepted or refused after DATA). */
export function auditEventFor(report: Omit<InboundReport, 'audit'>, envelope: Envelope, now: Date, resourceId: string | null): AuditEvent {
  const auth = report.auth;
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant: report.tenant,
    actor: { email: auth?.headerFrom ?? null, verified: report.require?.verified ?? false, ip: envelope.clientIp, helo: envelope.helo },
    action: {
      type: report.accepted ? 'inbound.accepted' : 'inbound.refused',
      target: report.recipient,
      intent: report.intent,
      parameters: {
        envelopeFrom: envelope.mailFrom,
        size: report.size,
        stage: report.refusedAt,
        tls: envelope.tls,
        messageIdHeader: report.parsed?.messageId ?? null,
        jobId: report.jobId,
        steps: report.plan ? report.plan.steps.map((s) => s.name) : [],
      },
    },
    authentication: auth ? { spf: auth.spf.result, dkim: auth.dkim.result, dmarc: auth.dmarc.result, arc: auth.arc.result } : null,
    authorization: {
      permitted: report.accepted,
      role: report.access?.role ?? null,
      policy: report.policy,
      reason: decisionReason(report),
    },
    result: { status: report.accepted ? 'accepted' : 'refused', resourceId, reply: formatSmtpReply(report.reply) },
  };
}

/**
 * The audit record for a refusal inside the SMTP session before the pipeline ran: at RCPT TO
 * (unknown intent or domain, declared size) or a body streamed past the size limit.
 */
export function sessionRefusalEvent(input: {
  type: 'inbound.recipient_refused' | 'inbound.too_large';
  tenant: string | null;
  intent?: string | null;
  recipient: string;
  envelope: Envelope;
  reply: SmtpReply;
  reason: string;
  now: Date;
}): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: input.now.toISOString(),
    tenant: input.tenant ?? SYSTEM_TENANT,
    actor: { email: input.envelope.mailFrom, verified: false, ip: input.envelope.clientIp, helo: input.envelope.helo },
    action: { type: input.type, target: input.recipient, intent: input.intent ?? null, parameters: { tls: input.envelope.tls } },
    authentication: null,
    authorization: { permitted: false, role: null, policy: null, reason: input.reason },
    result: { status: 'refused', resourceId: null, reply: formatSmtpReply(input.reply) },
  };
}

function decisionReason(report: Omit<InboundReport, 'audit'>): string {
  if (report.accepted) return report.access?.reason ?? 'accepted';
  switch (report.refusedAt) {
    case 'guard':
      return report.guard?.reason ?? report.reply.text;
    case 'authentication':
      return report.require?.verdict.reason ?? report.reply.text;
    case 'access':
      return report.access?.reason ?? report.reply.text;
    default:
      return report.reply.text;
  }
}
