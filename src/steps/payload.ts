/**
 * The default JSON a webhook step sends when its policy gives no `payload:` (the API handoff to
 * a DMS, ERP or ticketing system that takes intentmail's own format). Shaped like a Standard
 * Webhooks event (`type`, `timestamp`, `data`); `data` holds the envelope, the authentication
 * results, the intent, the parsed message (text, HTML, headers, attachments with name, type,
 * size and SHA-256, their content inline up to a budget) and the address detail (`+ABC-12`).
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import PostalMime from 'postal-mime';
import { LIMITS } from '../core/limits.ts';
import { POSTAL_MIME_LIMITS } from '../message/parse.ts';
import type { StepInvocation, StepMessage } from './types.ts';

/** An attachment as the payload describes it; `content` (base64) only when it fit the inline budget. */
export interface PayloadAttachment {
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
  content?: string;
}

/** Cuts a body to the payload cap and says whether it did. */
function capped(text: string | null): { text: string | null; truncated: boolean } {
  if (text === null) return { text: null, truncated: false };
  if (text.length <= LIMITS.MAX_WEBHOOK_BODY_CHARS) return { text, truncated: false };
  return { text: text.slice(0, LIMITS.MAX_WEBHOOK_BODY_CHARS), truncated: true };
}

/**
 * The attachments, with content inlined in message order while the budget lasts. The content
 * comes from a second parse of the stored message (the facts keep no content); an attachment is
 * inlined only when the bytes found hash to the fact's SHA-256.
 */
async function attachmentsWithContent(message: StepMessage, budget: number): Promise<PayloadAttachment[]> {
  const facts = message.parsed.attachments;
  const described: PayloadAttachment[] = facts.map((a) => ({ filename: a.filename, contentType: a.mimeType, size: a.size, sha256: a.sha256 }));
  if (budget <= 0 || facts.length === 0 || !facts.some((a) => a.size <= budget)) return described;
  let contents: Uint8Array[] = [];
  try {
    const email = await PostalMime.parse(message.raw, POSTAL_MIME_LIMITS);
    contents = email.attachments.map((a) => (typeof a.content === 'string' ? new TextEncoder().encode(a.content) : new Uint8Array(a.content)));
  } catch {
    return described;
  }
  let left = budget;
  return described.map((a, i) => {
    const bytes = contents[i];
    if (bytes === undefined || a.size > left) return a;
    if (createHash('sha256').update(bytes).digest('hex') !== a.sha256) return a;
    left -= a.size;
    return { ...a, content: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  });
}

/** Builds the default payload for one delivery; `type` names the event (`message.received`, `incident.reported`). */
export async function defaultPayload(
  message: StepMessage,
  step: StepInvocation,
  opts: { type: string; now: Date; inlineBytes: number; extra?: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const p = message.parsed;
  const text = capped(p.text === '' ? null : p.text);
  const html = capped(p.html);
  const auth = message.auth;
  const at = message.envelope.recipient.lastIndexOf('@');
  return {
    type: opts.type,
    timestamp: opts.now.toISOString(),
    data: {
      id: message.id,
      jobId: step.jobId,
      tenant: message.tenant.name,
      intent: { name: message.intent.name, description: message.intent.description, level: message.intent.level },
      step: { name: step.name, path: step.path, attempt: step.attempt },
      receivedAt: message.receivedAt.toISOString(),
      envelope: { ...message.envelope },
      address: {
        recipient: message.envelope.recipient,
        domain: at < 0 ? null : message.envelope.recipient.slice(at + 1),
        detail: message.facts.addressDetail,
      },
      authentication: {
        sender: message.facts.sender,
        senderVerified: message.facts.senderVerified,
        spf: auth?.spf ?? { result: message.facts.auth.spf, domain: null },
        dkim: auth?.dkim ?? { result: message.facts.auth.dkim, signatures: [] },
        dmarc: auth?.dmarc ?? { result: message.facts.auth.dmarc, policy: null, domain: null },
        arc: auth ? { result: auth.arc.result, sealer: auth.arc.sealer } : { result: message.facts.auth.arc, sealer: null },
        tls: message.envelope.tls,
      },
      message: {
        messageId: p.messageId,
        subject: p.subject,
        from: p.headerFrom,
        fromName: p.headerFromName,
        to: p.to,
        cc: p.cc,
        replyTo: p.replyTo,
        date: p.date,
        inReplyTo: p.inReplyTo,
        references: p.references,
        tags: p.subjectTags,
        labels: p.labels,
        size: message.facts.size,
        headers: p.headers,
        text: text.text,
        textTruncated: text.truncated,
        html: html.text,
        htmlTruncated: html.truncated,
        attachments: await attachmentsWithContent(message, opts.inlineBytes),
      },
      tags: message.decorations ?? { subjectTags: [], headers: [] },
      steps: message.facts.steps,
      ...(opts.extra ?? {}),
    },
  };
}
