/**
 * Delivers a PDF container's password by a second channel, never inside the message it opens:
 * an SMS through the SMS port (the HTTP gateway of INTENTMAIL_SMS_GATEWAY_URL, as `notify` uses),
 * or a separate e-mail in its own SMTP transaction through the mail port. Outcomes are
 * step-style: a gateway or relay that fails temporarily is `retry`, a permanent refusal or a
 * missing port is `failed`. The password never appears in an outcome, a log line or the audit.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { IntentmailError } from '../core/errors.ts';
import type { DeliveryFailure, StepPorts } from '../steps/types.ts';

/** Where a password goes. */
export interface PasswordNotice {
  channel: 'sms' | 'email';
  /** E.164 number (sms) or address (email). */
  to: string;
  /** The recipient of the container, named in the notice. */
  recipient: string;
  /** What the notice refers to (the container message's subject), so the reader can match them up. */
  reference: string;
  password: string;
  /** Seeds the notice's Message-ID, so a retried step sends the same message (the client shows one). */
  idempotencyKey: string;
}

/** The outcome of one delivery. */
export type DeliveryOutcome = { status: 'done'; detail: string } | { status: 'retry'; reason: string } | { status: 'failed'; reason: string };

/** The text of the notice: the password and what it opens, nothing of the message's content. */
export function noticeText(notice: PasswordNotice): string {
  return `Password for the protected PDF sent to ${notice.recipient} ("${notice.reference}"): ${notice.password}`;
}

/** Sends the notice by its channel. */
export async function deliverPassword(notice: PasswordNotice, from: string, ports: Pick<StepPorts, 'mailer' | 'sms' | 'hostname' | 'clock'>): Promise<DeliveryOutcome> {
  if (notice.channel === 'sms') {
    if (!ports.sms) return { status: 'failed', reason: 'the PDF password goes by SMS, but no SMS gateway is configured (INTENTMAIL_SMS_GATEWAY_URL)' };
    try {
      await ports.sms.send(notice.to, noticeText(notice));
      return { status: 'done', detail: `password sent by SMS to ${maskPhone(notice.to)}` };
    } catch (err) {
      return failure('SMS gateway', err);
    }
  }
  if (!ports.mailer) return { status: 'failed', reason: 'the PDF password goes by e-mail, but no relay is configured (INTENTMAIL_RELAY_URL)' };
  try {
    await ports.mailer.send({ from, to: [notice.to], raw: noticeMail(notice, from, ports.hostname, ports.clock.now()) });
    return { status: 'done', detail: `password sent by a separate e-mail to ${notice.to}` };
  } catch (err) {
    return failure('relay', err);
  }
}

/** A separate message with its own Message-ID, marked automatic (RFC 3834 §5) so nobody auto-replies to it. */
function noticeMail(notice: PasswordNotice, from: string, hostname: string, now: Date): Buffer {
  const id = createHash('sha256').update(`password\n${notice.idempotencyKey}\n${notice.recipient}`).digest('hex').slice(0, 32);
  return Buffer.from(
    [
      `From: ${from}`,
      `To: ${notice.to}`,
      'Subject: Password for your protected message',
      `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${id}@${hostname}>`,
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      noticeText(notice),
      '',
      'The protected message itself arrives separately. Do not reply to this message.',
      '',
    ].join('\r\n'),
    'utf8',
  );
}

function failure(what: string, err: unknown): DeliveryOutcome {
  const detail = err instanceof IntentmailError ? (err.detail as Partial<DeliveryFailure> | undefined) : undefined;
  const reason = `${what} did not take the password: ${detail?.reason ?? (err instanceof Error ? err.message : String(err))}`;
  return detail?.permanent === true ? { status: 'failed', reason } : { status: 'retry', reason };
}

/** `+4917012345678` → `+49170****678`: enough to recognise, not enough to reuse. */
export function maskPhone(phone: string): string {
  return phone.length <= 9 ? '****' : `${phone.slice(0, 6)}****${phone.slice(-3)}`;
}
