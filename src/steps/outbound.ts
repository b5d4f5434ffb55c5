/**
 * Composes the mail that `reply`, `forward`, `copy` and `notify` send (nodemailer's MailComposer,
 * which encodes headers per RFC 2047 and bodies per RFC 2045). Every value that came from a
 * message or a template is made a single line before it reaches a header, so no template can
 * add a header field. Message-IDs derive from the step's idempotency key, so a retried send
 * carries the same id and the recipient's client shows one message.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { LIMITS } from '../core/limits.ts';
import type { OutboundDecorations, StepMessage } from './types.ts';

/** Characters of a subject we write: long enough for any real subject plus tags and a prefix. */
const MAX_SUBJECT_CHARS = 998;

/** One line of header text: control characters (CR/LF among them) become spaces, capped. */
export function headerText(value: string, max = MAX_SUBJECT_CHARS): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);
}

/** `<hash@host>`: a stable Message-ID for one step of one message (RFC 5322 §3.6.4). */
export function stableMessageId(idempotencyKey: string, hostname: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${hostname}>`;
}

/** The subject with the tags of earlier `tag` steps in front (`[support] Fwd: …`), each once. */
export function taggedSubject(subject: string, decorations: OutboundDecorations | undefined): string {
  let out = subject;
  for (const tag of [...(decorations?.subjectTags ?? [])].reverse()) {
    const t = headerText(tag);
    if (t !== '' && !out.startsWith(`${t} `) && out !== t) out = `${t} ${out}`;
  }
  return out;
}

/** `Re: subject` unless it already starts with Re: (RFC 5322 §3.6.5). */
export function replySubject(subject: string): string {
  return /^re:/i.test(subject.trim()) ? subject.trim() : `Re: ${subject.trim()}`;
}

/** The original as a message/rfc822 MIME part (RFC 2046 §5.2.1: 7bit or 8bit, never base64). */
function rfc822Part(original: Uint8Array, filename: string): Buffer {
  const eightBit = original.some((b) => b > 0x7f);
  const head = `Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename="${filename}"\r\nContent-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}\r\n\r\n`;
  const body = Buffer.from(original.buffer, original.byteOffset, original.byteLength);
  return Buffer.concat([Buffer.from(head, 'ascii'), body, body.subarray(-2).equals(Buffer.from('\r\n')) ? Buffer.alloc(0) : Buffer.from('\r\n')]);
}

/** What one outbound message needs. */
export interface ComposeInput {
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  messageId: string;
  date: Date;
  inReplyTo?: string | null;
  references?: string[];
  replyTo?: string | null;
  /** RFC 3834 §5 keyword: `auto-replied` for replies, `auto-generated` for forwards and notices. */
  autoSubmitted: 'auto-replied' | 'auto-generated';
  headers?: { name: string; value: string }[];
  /** The original, attached as message/rfc822. */
  original?: Uint8Array;
}

/** Builds the complete RFC 5322 message. */
export async function composeMail(input: ComposeInput): Promise<Uint8Array> {
  const headers: { key: string; value: string }[] = [{ key: 'Auto-Submitted', value: input.autoSubmitted }];
  for (const h of input.headers ?? []) headers.push({ key: h.name, value: headerText(h.value, LIMITS.MAX_STEP_ERROR_CHARS * 2) });
  const composer = new MailComposer({
    from: input.from,
    to: input.to,
    subject: headerText(input.subject),
    text: input.text,
    html: input.html,
    messageId: input.messageId,
    date: input.date,
    inReplyTo: input.inReplyTo ?? undefined,
    references: input.references && input.references.length > 0 ? input.references.join(' ') : undefined,
    replyTo: input.replyTo ?? undefined,
    headers,
    attachments: input.original ? [{ raw: rfc822Part(input.original, 'original.eml') }] : undefined,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = await composer.compile().build();
  return new Uint8Array(built.buffer, built.byteOffset, built.byteLength);
}

/** The subject of the message the chain runs on. */
export function originalSubject(message: StepMessage): string {
  return message.parsed.subject.trim() === '' ? '(no subject)' : message.parsed.subject;
}
