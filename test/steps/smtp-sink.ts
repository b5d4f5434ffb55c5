/**
 * A real SMTP server (smtp-server) standing in for the outbound relay: it records each message
 * with its envelope, and can refuse recipients with a chosen reply to test permanent and
 * temporary relay failures.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the sink received. */
export interface SunkMail {
  from: string | false;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  mails: SunkMail[];
  waitFor(pred: (m: SunkMail[]) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the sink on 127.0.0.1; `refuse(rcpt)` may return an SMTP code and text to refuse a recipient. */
export async function startSmtpSink(opts: { refuse?: (rcpt: string) => { code: number; text: string } | null } = {}): Promise<SmtpSink> {
  const mails: SunkMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const r = opts.refuse?.(address.address);
      if (r) {
        const err = Object.assign(new Error(r.text), { responseCode: r.code });
        cb(err);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom === false ? false : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitFor(pred, ms = 20_000) {
      const end = Date.now() + ms;
      while (!pred(mails)) {
        if (Date.now() > end) throw new Error(`smtp sink: condition not met within ${ms} ms (${mails.length} mails)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
