/**
 * `reply`, `forward`, `copy` and `notify` (e-mail or SMS). Mail goes out through the Mailer port
 * (INTENTMAIL_RELAY_URL); without a relay every mail step fails with a reason that says so, in the
 * step's audit record, never silently. Replies follow RFC 3834: only to the authenticated
 * sender, never to a null reverse-path, an `Auto-Submitted` message or a mailing list, marked
 * `Auto-Submitted: auto-replied` and threaded with `In-Reply-To`/`References` (RFC 5322 §3.6.4).
 * Forwards and copies carry the original as message/rfc822. `encrypt:` goes through the protect
 * seam (StepPorts.protect), which refuses every mode but `none` until secure delivery plugs in.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { composeMail, headerText, originalSubject, replySubject, stableMessageId, taggedSubject } from './outbound.ts';
import type { DeliveryFailure, OutboundMail, Protect, ProtectMode, StepHandler, StepInvocation, StepMessage, StepOutcome, StepPorts, StepPreview } from './types.ts';

const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
const PHONE = /^\+[1-9]\d{6,14}$/;
/** Characters of an SMS text: gateways split longer texts into up to ten parts at most. */
const MAX_SMS_CHARS = 1600;
/** Precedence values of list and bulk mail that no one answers automatically (RFC 3834 §2). */
const NO_REPLY_PRECEDENCE = new Set(['bulk', 'list', 'junk']);

/** The reason given when a mail step runs with no relay configured. */
export const NO_RELAY = 'no outbound relay configured: set INTENTMAIL_RELAY_URL (outbound mail is refused until then)';

/** The default protect: passes `none` through and refuses any other mode, clearly. */
export const refuseProtection: Protect = async (mail, mode) =>
  mode === 'none' ? { status: 'ok', mail } : { status: 'failed', reason: `encryption mode ${mode} not available (secure delivery is not installed)` };

/**
 * Why no automatic reply may go to this message's sender, or null when one may (RFC 3834 §2:
 * not to a null reverse-path, an Auto-Submitted message or list mail; and only to a sender whose
 * identity passed authentication, so a forged From: cannot aim replies at a victim).
 */
export function replyBlocker(message: StepMessage, fromAddress: string): string | null {
  const sender = message.facts.sender;
  if (!message.facts.senderVerified || sender === null) return 'the sender is not authenticated: replies go only to a verified sender';
  const mailFrom = message.envelope.mailFrom;
  if (mailFrom === null || mailFrom === '') return 'null reverse-path (MAIL FROM:<>): bounces and notifications are never answered (RFC 3834 §2)';
  const auto = message.parsed.autoSubmitted;
  if (auto !== null && auto !== 'no') return `the message is Auto-Submitted: ${auto} (RFC 3834 §2)`;
  if (message.parsed.listId !== null) return `the message came through mailing list ${message.parsed.listId} (List-Id, RFC 2919)`;
  if (message.parsed.precedence !== null && NO_REPLY_PRECEDENCE.has(message.parsed.precedence)) return `the message is Precedence: ${message.parsed.precedence}`;
  if (sender === fromAddress.toLowerCase()) return 'the sender is our own outbound address (mail loop)';
  return null;
}

/** Maps a Mailer or SMS rejection to an outcome: permanent refusals fail, everything else is retried. */
export function deliveryOutcome(err: unknown, what: string): StepOutcome {
  if (err instanceof IntentmailError && err.code === 'delivery_failed') {
    const d = err.detail as DeliveryFailure | undefined;
    const reason = `${what}: ${err.message}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS);
    return d?.permanent ? { status: 'failed', reason } : { status: 'retry', reason };
  }
  return { status: 'retry', reason: `${what}: ${err instanceof Error ? err.message : String(err)}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
}

/** Runs the protect seam, then the relay. */
async function sendMail(mail: OutboundMail, mode: ProtectMode, message: StepMessage, step: StepInvocation, ports: StepPorts, messageId: string): Promise<StepOutcome> {
  if (!ports.mailer) return { status: 'failed', reason: NO_RELAY };
  const protect = ports.protect ?? refuseProtection;
  const protectedMail = await protect(mail, mode, { message, step, ports });
  if (protectedMail.status !== 'ok') return { status: protectedMail.status, reason: protectedMail.reason };
  try {
    const sent = await ports.mailer.send(protectedMail.mail);
    return {
      status: 'done',
      result: { messageId, to: protectedMail.mail.to, encrypt: mode, response: sent.response.slice(0, 200) },
      resourceId: messageId,
      summary: `sent to ${protectedMail.mail.to.join(', ')}`,
    };
  } catch (err) {
    return deliveryOutcome(err, 'relay');
  }
}

/** Addresses after rendering (an `${env.NAME}` may have held one); null when one is not an address. */
function recipients(value: unknown): string[] | null {
  const list = (Array.isArray(value) ? value : [value]).map((v) => String(v ?? '').trim().toLowerCase());
  return list.length > 0 && list.every((a) => ADDRESS.test(a)) ? list : null;
}

/** The reply a `reply` step would send (also for `simulate`), or why none goes out. */
export async function buildReply(message: StepMessage, step: StepInvocation, ports: Pick<StepPorts, 'fromAddress' | 'hostname' | 'clock'>): Promise<{ mail: OutboundMail; messageId: string; mode: ProtectMode } | { skip: string }> {
  const from = ports.fromAddress(message.tenant);
  const blocked = replyBlocker(message, from);
  if (blocked) return { skip: blocked };
  const p = step.params as { text?: string; html?: string; subject?: string; encrypt?: ProtectMode };
  const parent = message.parsed.messageId;
  const references = [...message.parsed.references, ...(parent ? [parent] : [])].slice(-LIMITS.MAX_REFERENCES);
  const messageId = stableMessageId(step.idempotencyKey, ports.hostname);
  const raw = await composeMail({
    from,
    to: [message.facts.sender!],
    subject: p.subject ?? replySubject(originalSubject(message)),
    text: p.text,
    html: p.html,
    messageId,
    date: ports.clock.now(),
    inReplyTo: parent,
    references,
    autoSubmitted: 'auto-replied',
  });
  return { mail: { from, to: [message.facts.sender!], raw }, messageId, mode: p.encrypt ?? 'none' };
}

/** The `reply` action. */
export const replyHandler: StepHandler = async (message, step, ports) => {
  const built = await buildReply(message, step, ports);
  if ('skip' in built) return { status: 'skipped', reason: built.skip };
  return sendMail(built.mail, built.mode, message, step, ports, built.messageId);
};

/** The mail a `forward` or `copy` step would send, or why it cannot. */
export async function buildForward(message: StepMessage, step: StepInvocation, ports: Pick<StepPorts, 'fromAddress' | 'hostname' | 'clock'>): Promise<{ mail: OutboundMail; messageId: string; mode: ProtectMode } | { problem: string }> {
  const p = step.params as { to?: unknown; text?: string; encrypt?: ProtectMode };
  const to = recipients(p.to);
  if (!to) return { problem: `"to" is not a list of addresses (is its environment variable set?)` };
  const from = ports.fromAddress(message.tenant);
  const copy = step.action === 'copy';
  const sender = message.facts.sender ?? '(unknown sender)';
  const verified = message.facts.senderVerified ? 'authenticated' : 'NOT authenticated';
  const text =
    p.text ??
    (copy
      ? `Journal copy of a message to ${message.envelope.recipient} (intent ${message.intent.name}) from ${sender} (${verified}). The original is attached.`
      : `Forwarded by intentmail: a message to ${message.envelope.recipient} (intent ${message.intent.name}) from ${sender} (${verified}). The original is attached.`);
  const messageId = stableMessageId(step.idempotencyKey, ports.hostname);
  const subject = taggedSubject(`${copy ? 'Copy' : 'Fwd'}: ${originalSubject(message)}`, message.decorations);
  const raw = await composeMail({
    from,
    to,
    subject,
    text,
    messageId,
    date: ports.clock.now(),
    replyTo: message.facts.senderVerified ? message.facts.sender : null,
    autoSubmitted: 'auto-generated',
    headers: message.decorations?.headers,
    original: message.raw,
  });
  return { mail: { from, to, raw }, messageId, mode: copy ? 'none' : (p.encrypt ?? 'none') };
}

/** The `forward` and `copy` actions. */
export const forwardHandler: StepHandler = async (message, step, ports) => {
  const built = await buildForward(message, step, ports);
  if ('problem' in built) return { status: 'failed', reason: built.problem };
  return sendMail(built.mail, built.mode, message, step, ports, built.messageId);
};

/** The `notify` action: a short text by e-mail (through the relay) or SMS (through the gateway). */
export const notifyHandler: StepHandler = async (message, step, ports) => {
  const p = step.params as { channel: 'sms' | 'email'; to?: string; text: string };
  if (p.channel === 'sms') {
    const to = String(p.to ?? '').trim();
    if (!PHONE.test(to)) return { status: 'failed', reason: 'an SMS needs "to" as a +E.164 number (is its environment variable set?)' };
    if (!ports.sms) return { status: 'failed', reason: 'no SMS gateway configured: set INTENTMAIL_SMS_GATEWAY_URL' };
    try {
      const sent = await ports.sms.send(to, p.text.slice(0, MAX_SMS_CHARS));
      return { status: 'done', result: { channel: 'sms', to, id: sent.id }, resourceId: sent.id, summary: `SMS to ${to}` };
    } catch (err) {
      return deliveryOutcome(err, 'SMS gateway');
    }
  }
  const built = buildNotice(message, step, ports);
  if ('problem' in built) return { status: 'failed', reason: built.problem };
  return sendMail({ from: built.from, to: built.to, raw: await built.compose() }, 'none', message, step, ports, built.messageId);
};

/** The notice e-mail of a `notify` step: to `to`, or to the authenticated sender. */
function buildNotice(
  message: StepMessage,
  step: StepInvocation,
  ports: Pick<StepPorts, 'fromAddress' | 'hostname' | 'clock'>,
): { from: string; to: string[]; messageId: string; compose: () => Promise<Uint8Array> } | { problem: string } {
  const p = step.params as { to?: string; text: string };
  const to = p.to === undefined ? (message.facts.senderVerified && message.facts.sender ? [message.facts.sender] : null) : recipients(p.to);
  if (!to) return { problem: p.to === undefined ? 'no "to" and the sender is not authenticated: a notice goes only to a verified address' : '"to" is not an address' };
  const from = ports.fromAddress(message.tenant);
  const messageId = stableMessageId(step.idempotencyKey, ports.hostname);
  const compose = () =>
    composeMail({ from, to, subject: headerText(`intentmail: ${message.intent.name}`), text: p.text, messageId, date: ports.clock.now(), autoSubmitted: 'auto-generated' });
  return { from, to, messageId, compose };
}

/** What `simulate` shows for a mail step: recipients, subject, threading and body, nothing sent. */
export async function previewMail(message: StepMessage, step: StepInvocation, ports: Pick<StepPorts, 'fromAddress' | 'hostname' | 'clock'>): Promise<StepPreview> {
  const base = { action: step.action, name: step.name };
  const p = step.params as Record<string, unknown>;
  if (step.action === 'reply') {
    const r = await buildReply(message, step, ports);
    if ('skip' in r) return { ...base, target: null, detail: { skipped: r.skip } };
    return { ...base, target: r.mail.to.join(', '), detail: { from: r.mail.from, to: r.mail.to, encrypt: r.mode, headers: headersOf(r.mail.raw), text: p.text ?? null, html: p.html ?? null } };
  }
  if (step.action === 'forward' || step.action === 'copy') {
    const r = await buildForward(message, step, ports);
    if ('problem' in r) return { ...base, target: null, detail: { problem: r.problem } };
    return { ...base, target: r.mail.to.join(', '), detail: { from: r.mail.from, to: r.mail.to, encrypt: r.mode, headers: headersOf(r.mail.raw), attached: 'the original as message/rfc822' } };
  }
  if (p.channel === 'sms') return { ...base, target: String(p.to ?? ''), detail: { channel: 'sms', to: p.to ?? null, text: p.text } };
  const n = buildNotice(message, step, ports);
  if ('problem' in n) return { ...base, target: null, detail: { problem: n.problem } };
  return { ...base, target: n.to.join(', '), detail: { channel: 'email', from: n.from, to: n.to, text: p.text } };
}

/** The top-level header fields of a composed message that a reader checks (threading, subject). */
function headersOf(raw: Uint8Array): Record<string, string> {
  const text = new TextDecoder().decode(raw);
  const end = text.indexOf('\r\n\r\n');
  const unfolded = text.slice(0, end < 0 ? text.length : end).replace(/\r\n[ \t]+/g, ' ');
  const out: Record<string, string> = {};
  for (const line of unfolded.split('\r\n')) {
    const m = /^(Subject|In-Reply-To|References|Auto-Submitted|Message-ID|Reply-To|X-[A-Za-z0-9-]+):\s*(.*)$/i.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}
