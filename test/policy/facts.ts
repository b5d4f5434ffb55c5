/** Message facts for policy tests: a DMARC-passing mail from alice@acme.example, overridable per test. */
import type { MessageFacts } from '../../src/message/facts.ts';

/** Facts of a plain, authenticated message; `over` replaces whole fields. */
export function facts(over: Partial<MessageFacts> = {}): MessageFacts {
  return {
    sender: 'alice@acme.example',
    senderVerified: true,
    senderGroups: ['engineering'],
    senderRoles: ['developer'],
    recipient: 'task.linear+eng-12@in.acme.example',
    subject: 'Printer on fire #urgent',
    subjectTags: ['urgent'],
    headers: { 'x-intent-action': ['archive'], received: ['from a', 'from b'] },
    labels: ['confidential'],
    attachments: [
      { filename: 'bracket.STP', mimeType: 'model/step', size: 35 * 1024 * 1024, sha256: 'a'.repeat(64) },
      { filename: 'notes.txt', mimeType: 'text/plain', size: 1200, sha256: 'b'.repeat(64) },
    ],
    body: 'The printer on floor 3 is on fire.',
    size: 48 * 1024 * 1024,
    auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
    tls: true,
    keys: { smime: 'missing', pgp: 'present' },
    steps: { webhook: { result: { id: 'ENG-123', meta: { count: 3 } } } },
    addressDetail: 'eng-12',
    ...over,
  };
}
