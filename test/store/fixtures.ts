/** Sample audit events, messages and jobs for the store and audit tests. */
import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent } from '../../src/core/audit-event.ts';
import type { NewJob, NewMessage } from '../../src/core/store-port.ts';
import { sealMessage } from '../../src/crypto/envelope.ts';

/** An acceptance-style audit event for `tenant`, distinguishable by `n`. */
export function sampleEvent(tenant: string, n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventId: `evt-${tenant}-${n}`,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    tenant,
    actor: { email: `user${n}@example.com`, verified: true, ip: '192.0.2.10', helo: 'mail.example.com' },
    action: { type: 'message.accepted', target: `ticket.${tenant}@intentmail.test`, intent: 'ticket', parameters: { n, subject: `Übertrag #${n} ✓` } },
    authentication: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
    authorization: { permitted: true, role: 'staff', policy: { file: `${tenant}/intents.yaml`, version: 'abc123' }, reason: 'sender in group staff' },
    result: { status: 'accepted', resourceId: null },
    ...overrides,
  };
}

/** A message sealed under `masterKey`, its job and its acceptance event. */
export function sampleAcceptance(tenant: string, raw: Uint8Array, masterKey: Uint8Array): { message: NewMessage; job: NewJob; event: AuditEvent } {
  const id = randomUUID();
  const sealed = sealMessage(raw, masterKey);
  const message: NewMessage = {
    id,
    tenant,
    intent: 'ticket',
    recipient: `ticket+urgent@${tenant}.test`,
    addressDetail: 'urgent',
    envelopeFrom: 'alice@example.com',
    headerFrom: 'alice@example.com',
    senderVerified: true,
    messageIdHeader: `<${id}@example.com>`,
    size: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    clientIp: '192.0.2.10',
    helo: 'mail.example.com',
    tls: true,
    receivedAt: new Date('2025-01-01T12:34:56.789Z'),
    authentication: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', nested: { domains: ['example.com'] } },
    ciphertext: sealed.ciphertext,
    wrappedKey: sealed.wrappedKey,
    keyId: sealed.keyId,
    policyFile: `${tenant}/intents.yaml`,
    policyVersion: 'abc123',
  };
  const job: NewJob = {
    id: randomUUID(),
    messageId: id,
    tenant,
    intent: 'ticket',
    plan: { steps: [{ action: 'webhook', url: 'https://example.com/hook' }], policy: { file: message.policyFile, version: 'abc123' } },
  };
  const event = sampleEvent(tenant, 1, { result: { status: 'accepted', resourceId: id } });
  return { message, job, event };
}
