/**
 * The world the end-to-end tests run in: a tenant whose intents cover every access rule and
 * authentication requirement, and the DNS of the sending domains, served by a real DNS server.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Zone } from '../../src/auth/static-zone.ts';

/** DKIM keys of the sending domains (fresh per run). */
export function makeKeys(): Record<'acme' | 'partner', { privateKey: string; record: string }> {
  const make = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      record: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
    };
  };
  return { acme: make(), partner: make() };
}

/**
 * acme.example sends only from 127.0.0.1 and publishes p=reject; partner.example also sends
 * from 127.0.0.1 but publishes p=none; slow.example never answers. Tests connect from
 * 127.0.0.2 to play a foreign server.
 */
export function makeZone(keys: ReturnType<typeof makeKeys>): Zone {
  return {
    'acme.example': { TXT: 'v=spf1 ip4:127.0.0.1 -all', ttl: 60 },
    'mail._domainkey.acme.example': { TXT: keys.acme.record },
    '_dmarc.acme.example': { TXT: 'v=DMARC1; p=reject' },
    'partner.example': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
    'sel._domainkey.partner.example': { TXT: keys.partner.record },
    '_dmarc.partner.example': { TXT: 'v=DMARC1; p=none' },
    'slow.example': { TIMEOUT: true },
    '_dmarc.slow.example': { TIMEOUT: true },
  };
}

export const POLICY: Record<string, string> = {
  'acme/tenant.yaml': `
tenant: acme
domains: [in.acme.example]
defaults:
  require: dmarc
  limits: { per_sender: 60/hour, max_size: 1MB }
groups:
  ops: ["ops@partner.example"]
roles:
  developer: { "task.*": [read, create], "approve.*": [read] }
  analyst: { "summary.analytics": [read], "export.data": [deny] }
members:
  "alice@acme.example": [developer]
  "bob@acme.example": [analyst]
`,
  'acme/task.linear.yaml': `
intent: task.linear
description: Create a ticket
level: create
senders: ["@acme.example", "group:ops"]
steps:
  - webhook: { url: "\${env.LINEAR_WEBHOOK_URL}", secret: "\${env.LINEAR_WEBHOOK_SECRET}" }
  - reply: { text: "Created {{steps.webhook.result.id}}" }
`,
  'acme/summary.analytics.yaml': `
intent: summary.analytics
level: read
senders: [role:analyst]
steps:
  - reply: { text: "Summary follows" }
`,
  'acme/export.data.yaml': `
intent: export.data
level: read
senders: ["@acme.example"]
steps:
  - stop: {}
`,
  'acme/approve.invoice.yaml': `
intent: approve.invoice
level: approve
senders: [role:developer]
steps:
  - stop: {}
`,
  'acme/rate.limited.yaml': `
intent: rate.limited
senders: ["@acme.example"]
limits: { per_sender: 2/hour }
steps:
  - stop: {}
`,
  'acme/notes.drop.yaml': `
intent: notes.drop
require: none
senders: ["ops@partner.example"]
steps:
  - stop: {}
`,
  'acme/public.inbox.yaml': `
intent: public.inbox
require: none
senders: ["*"]
steps:
  - stop: {}
`,
  'acme/spf.only.yaml': `
intent: spf.only
require: spf
senders: ["*"]
steps:
  - stop: {}
`,
  'acme/dkim.only.yaml': `
intent: dkim.only
require: dkim
senders: ["*"]
steps:
  - stop: {}
`,
};
