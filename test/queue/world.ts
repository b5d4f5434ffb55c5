/**
 * The world the action-chain tests run in: a real DNS server for acme.example (SPF, DKIM,
 * DMARC), DKIM-signed mail sent over SMTP to a real router, a webhook receiver that verifies
 * signatures and a relay sink, and helpers to wait for a chain to settle.
 */
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { sendMail } from '../helpers/smtp-client.ts';
import type { TestRouter } from '../helpers/router.ts';
import { makeKeys } from '../e2e/fixtures.ts';
import type { MessageProgress } from '../../src/queue/control.ts';

export const keys = makeKeys();

/** Chain statuses after which nothing runs until an operator acts. */
export const SETTLED = new Set(['done', 'stopped', 'rejected', 'quarantined', 'dead', 'erased']);

/** Sends a DKIM-signed message from alice@acme.example; returns the accepted message id. */
export async function send(port: number, to: string, subject: string, extra: { headers?: Record<string, string>; from?: string } = {}): Promise<string> {
  const from = extra.from ?? 'alice@acme.example';
  const raw = await signMessage(buildMessage({ from, to, subject, text: `Body of ${subject}`, headers: extra.headers }), { domain: 'acme.example', selector: 'mail', privateKey: keys.acme.privateKey });
  const t = await sendMail(port, { from, to: [to], raw });
  const m = /as ([0-9a-f-]{36})/.exec(t.message?.text ?? '');
  if (t.message?.code !== 250 || !m) throw new Error(`not accepted: ${t.message?.text ?? t.rcpt.map((r) => r.text).join('; ')}`);
  return m[1];
}

/** Waits until the message's chain reaches one of `statuses` (default: any settled status). */
export async function settle(router: TestRouter, messageId: string, statuses: Set<string> = SETTLED, ms = 30_000): Promise<MessageProgress> {
  const end = Date.now() + ms;
  for (;;) {
    const p = await router.running.chain.control.messageStatus(messageId);
    if (p && statuses.has(p.status)) return p;
    if (Date.now() > end) throw new Error(`chain of ${messageId} did not reach ${[...statuses].join('/')} within ${ms} ms: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
