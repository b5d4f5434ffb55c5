/**
 * Raw messages over HTTP (POST /v1/inbound and POST /v1/intents/simulate): the RFC 5322 bytes
 * as the request body (`message/rfc822`), the SMTP envelope as query parameters, and the RCPT
 * stage (resolveRecipient) applied to the recipients as the SMTP listener applies it.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { IntentmailError } from '../core/errors.ts';
import type { Envelope } from '../pipeline/inbound.ts';
import { resolveRecipient, type ResolvedRecipient } from '../pipeline/recipient.ts';
import { parseIntentAddress } from '../message/address.ts';
import type { PolicySet } from '../policy/types.ts';
import { canSee, type ApiEnv, type Principal } from './auth.ts';

/** The envelope as query parameters. */
export const EnvelopeQuery = z.object({
  to: z
    .union([z.string().min(3).max(320), z.array(z.string().min(3).max(320)).min(1).max(100)])
    .openapi({ description: 'Envelope recipient(s) (RCPT TO). Several must reach the same intent, as in one SMTP transaction.', example: 'task.linear@in.acme.example' }),
  from: z.string().max(320).optional().openapi({ description: 'Envelope sender (MAIL FROM); empty or absent for a null sender', example: 'alice@acme.example' }),
  ip: z.union([z.ipv4(), z.ipv6()]).optional().openapi({ description: 'IP address of the client that handed the message to the relay (for SPF)', example: '127.0.0.1' }),
  helo: z.string().min(1).max(255).optional().openapi({ description: 'The client\'s HELO/EHLO name', example: 'mail.acme.example' }),
  tls: z.enum(['true', 'false']).optional().openapi({ description: 'Whether the client used TLS (default false)' }),
});

/** The envelope from the validated query. */
export function envelopeOf(q: z.output<typeof EnvelopeQuery>): Envelope {
  return { mailFrom: q.from === undefined || q.from === '' ? null : q.from, clientIp: q.ip ?? null, helo: q.helo ?? null, tls: q.tls === 'true' };
}

/** The recipients of the validated query, as a list. */
export function recipientsOf(q: z.output<typeof EnvelopeQuery>): string[] {
  return Array.isArray(q.to) ? q.to : [q.to];
}

/**
 * The body bytes. A body with LF line endings only (a file saved on Unix) is converted to CRLF,
 * as an SMTP client converts lines for DATA (RFC 5321 §2.3.8); a body that mixes CRLF with a
 * bare CR or LF is left alone and refused by the guard like over SMTP (smuggling).
 */
export async function readRawMessage(c: Context<ApiEnv>): Promise<{ raw: Uint8Array; normalised: boolean }> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.includes(0x0d) || !bytes.includes(0x0a)) return { raw: bytes, normalised: false };
  let lf = 0;
  for (const b of bytes) if (b === 0x0a) lf++;
  const out = new Uint8Array(bytes.length + lf);
  let j = 0;
  for (const b of bytes) {
    if (b === 0x0a) out[j++] = 0x0d;
    out[j++] = b;
  }
  return { raw: out, normalised: true };
}

/**
 * The RCPT stage for HTTP: every recipient must resolve, to the same intent (one decision per
 * message, like one SMTP transaction). A recipient in a tenant the token may not see is refused
 * exactly like one in no tenant at all.
 */
export function resolveRecipients(policy: PolicySet, principal: Principal, recipients: string[], maxMessageBytes: number, size: number): { ok: true; target: ResolvedRecipient } | { ok: false; error: IntentmailError; recipient: string } {
  let target: ResolvedRecipient | null = null;
  for (const address of recipients) {
    const parsed = parseIntentAddress(address);
    const owner = parsed ? policy.byDomain.get(parsed.domain) : undefined;
    if (parsed && owner && !canSee(principal, owner.name)) {
      return { ok: false, recipient: address, error: new IntentmailError('unknown_recipient', `Recipient address rejected: no tenant for domain ${parsed.domain}`) };
    }
    const r = resolveRecipient(policy, address, target, maxMessageBytes, size);
    if (!r.ok) return { ok: false, recipient: address, error: r.error };
    target = r.target;
  }
  if (target === null) return { ok: false, recipient: '', error: new IntentmailError('unknown_recipient', 'No recipient given') };
  return { ok: true, target };
}
