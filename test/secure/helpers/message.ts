/**
 * What a step handler receives, built the way the runner builds it: the inbound message parsed
 * by the real parser, its facts, a tenant and an intent; and ports that record what leaves
 * (mail through the relay, SMS through the gateway, audit records).
 */
import { Buffer } from 'node:buffer';
import type { AuditEvent } from '../../../src/core/audit-event.ts';
import { silentLogger, type Clock } from '../../../src/core/ports.ts';
import { buildFacts } from '../../../src/message/facts.ts';
import { parseMessage } from '../../../src/message/parse.ts';
import type { Intent, Tenant } from '../../../src/policy/types.ts';
import type { OutboundMail, StepInvocation, StepMessage, StepPorts } from '../../../src/steps/types.ts';

export const tenant: Tenant = {
  name: 'acme',
  domains: ['in.acme.example'],
  origin: { file: 'acme/tenant.yaml', version: 'test' },
  defaults: { require: 'dmarc', limits: {}, trustedArcSealers: [] },
  groups: {},
  roles: {},
  members: {},
    keyFiles: [],
  intents: new Map(),
};

export const intent: Intent = {
  name: 'summary.analytics',
  tenant: 'acme',
  description: 'test',
  level: 'read',
  senders: ['*'],
  deny: [],
  require: 'dmarc',
  limits: {},
  steps: [],
  origin: { file: 'acme/summary.analytics.yaml', version: 'test' },
};

/** The message a chain runs on, from raw bytes; the sender authenticated (DMARC pass). */
export async function stepMessage(raw: Buffer, steps: Record<string, { result: unknown }> = {}): Promise<StepMessage> {
  const parsed = await parseMessage(raw);
  if (parsed.status !== 'pass' || !parsed.detail) throw new Error(parsed.reason);
  const facts = buildFacts({
    parsed: parsed.detail,
    recipient: 'summary.analytics@in.acme.example',
    addressDetail: null,
    sender: parsed.detail.headerFrom,
    senderVerified: true,
    senderGroups: [],
    senderRoles: [],
    size: raw.length,
    auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
    tls: true,
  });
  facts.steps = steps;
  return {
    id: '00000000-0000-4000-8000-000000000001',
    tenant,
    intent,
    raw,
    parsed: parsed.detail,
    facts,
    envelope: { mailFrom: parsed.detail.headerFrom, recipient: facts.recipient, clientIp: '192.0.2.1', helo: 'mail.example', tls: true },
    auth: null,
    receivedAt: new Date(),
  };
}

/** A step invocation with a stable idempotency key. */
export function invocation(action: string, params: Record<string, unknown>, name = action): StepInvocation {
  return { path: '0', name, action, params, attempt: 1, jobId: 'job-1', idempotencyKey: `job-1:0:${name}` };
}

/** Ports that record mail, SMS and audit records instead of sending them. */
export class RecordingPorts {
  readonly mails: OutboundMail[] = [];
  readonly sms: { to: string; text: string }[] = [];
  readonly audit: AuditEvent[] = [];
  readonly ports: StepPorts;

  constructor(clock: Clock = { now: () => new Date() }) {
    this.ports = {
      clock,
      logger: silentLogger,
      mailer: {
        send: async (mail) => {
          this.mails.push(mail);
          return { messageId: `<${this.mails.length}@test>`, response: '250 ok' };
        },
      },
      fetch: globalThis.fetch,
      hostname: 'router.test',
      fromAddress: () => 'intentmail@in.acme.example',
      env: {},
      audit: async (event) => {
        this.audit.push(event);
      },
      sms: {
        send: async (to, text) => {
          this.sms.push({ to, text });
          return { id: String(this.sms.length) };
        },
      },
    };
  }
}

/** The password in a notice text (`…: abcde-fghij-…`). */
export function passwordIn(text: string): string {
  const m = /: ([A-Za-z0-9]{5}(?:-[A-Za-z0-9]{5}){3})$/m.exec(text);
  if (!m) throw new Error(`no password in ${JSON.stringify(text)}`);
  return m[1];
}
