/**
 * The Mailer port over nodemailer's SMTP transport to INTENTMAIL_RELAY_URL (`smtp://` with
 * STARTTLS when offered, `smtps://` for implicit TLS, credentials in the URL). A refusal with an
 * SMTP 5xx reply is permanent (RFC 5321 §4.2.1); a 4xx, a timeout or a connection problem is
 * temporary and the step is retried on its schedule.
 */
import nodemailer from 'nodemailer';
import { IntentmailError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { DeliveryFailure, Mailer } from '../../steps/types.ts';

/** The relay's host and port for logs (never its credentials). */
export function describeRelay(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid relay URL)';
  }
}

/** A pooled SMTP transport to the relay; `close()` ends its connections. */
export function relayMailer(url: string, opts: { hostname: string; timeoutMs?: number }): Mailer & { close(): void } {
  const timeout = opts.timeoutMs ?? LIMITS.MAIL_STEP_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: LIMITS.RELAY_MAX_CONNECTIONS,
    name: opts.hostname,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const where = describeRelay(url);
  return {
    async send(mail) {
      try {
        const info = await transport.sendMail({ envelope: { from: mail.from, to: mail.to }, raw: Buffer.from(mail.raw.buffer, mail.raw.byteOffset, mail.raw.byteLength) });
        if (info.rejected.length > 0) {
          const failure: DeliveryFailure = { permanent: true, reason: `relay refused ${info.rejected.map(String).join(', ')}` };
          throw new IntentmailError('delivery_failed', `${where} refused ${info.rejected.map(String).join(', ')}: ${info.response}`, { detail: { ...failure } });
        }
        return { messageId: info.messageId ?? null, response: info.response };
      } catch (err) {
        if (err instanceof IntentmailError) throw err;
        const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
        const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
        const reason = e.response ?? e.message ?? String(err);
        const failure: DeliveryFailure = { permanent, reason };
        throw new IntentmailError('delivery_failed', `${where}: ${e.code ? `${e.code} ` : ''}${reason}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS), { detail: { ...failure } });
      }
    },
    close: () => transport.close(),
  };
}
