/**
 * The SMTP ingress adapter: translates smtp-server callbacks into the inbound pipeline.
 * Intent and domain are resolved at RCPT (550 5.1.1 before any DATA); DATA is streamed and
 * counted, never buffered past the limit (552 5.3.4); `250` is sent only after the pipeline has
 * committed the message, its job and the audit record.
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { IntentmailError, type SmtpReply, toSmtpReply } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/ports.ts';
import type { AuditEvent } from '../../core/audit-event.ts';
import type { PolicySet } from '../../policy/types.ts';
import { processMessage, type Envelope, type PipelineDeps } from '../../pipeline/inbound.ts';
import { messageLimit, resolveRecipient, type ResolvedRecipient } from '../../pipeline/recipient.ts';
import { sessionRefusalEvent } from '../../pipeline/audit-events.ts';

/** Timeouts of a session; the defaults are the named limits. */
export interface SmtpTimeouts {
  idleMs: number;
  greetingMs: number;
  dataMs: number;
}

export interface SmtpListenerOptions {
  host: string;
  port: number;
  /** Our host name for the banner and the Authentication-Results authserv-id. */
  hostname: string;
  tls?: { key: Buffer; cert: Buffer };
  maxConnections: number;
  /** The current policies (they may be reloaded while running). */
  policy: () => PolicySet;
  deps: PipelineDeps;
  logger: Logger;
  timeouts?: Partial<SmtpTimeouts>;
}

export interface SmtpListener {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/**
 * smtp-server reads `responseCode` from the error it is handed; this is the one class that
 * carries it, built only from an SmtpReply so the code always comes from src/core/errors.ts.
 */
class SmtpReplyError extends Error {
  readonly responseCode: number;
  constructor(reply: SmtpReply) {
    super(`${reply.enhanced} ${reply.text}`);
    this.responseCode = reply.code;
  }
}

interface Transaction {
  id: string;
  target: ResolvedRecipient | null;
}

/** Starts the SMTP listener; resolves once it is accepting connections. */
export async function startSmtpListener(opts: SmtpListenerOptions): Promise<SmtpListener> {
  const timeouts: SmtpTimeouts = { idleMs: LIMITS.SMTP_IDLE_MS, greetingMs: LIMITS.SMTP_GREETING_MS, dataMs: LIMITS.SMTP_DATA_MS, ...opts.timeouts };
  const transactions = new WeakMap<SMTPServerSession, Transaction>();
  const connectedAt = new Map<string, number>();
  const { deps } = opts;
  const log = opts.logger;

  const envelopeOf = (session: SMTPServerSession): Envelope => ({
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null,
    clientIp: session.remoteAddress ?? null,
    helo: session.hostNameAppearsAs || null,
    tls: Boolean(session.secure),
  });
  const sessionLog = (session: SMTPServerSession) => log.child({ conn: session.id, tx: transactions.get(session)?.id });

  /** Records a session-level refusal, then sends it; a refusal that cannot be recorded becomes a 451 (retried, then audited). */
  const auditThenReply = (event: AuditEvent, reply: SmtpReply, slog: Logger, callback: (err?: Error | null) => void) => {
    const store = deps.store;
    if (!store) return callback(new SmtpReplyError(reply));
    store.appendAudit(event).then(
      () => callback(new SmtpReplyError(reply)),
      (err: unknown) => {
        slog.error('could not audit a refusal', { error: err instanceof Error ? err.message : String(err) });
        callback(new SmtpReplyError(toSmtpReply(new IntentmailError('storage_unavailable', 'Temporary local problem, please try again later'))));
      },
    );
  };

  const server = new SMTPServer({
    name: opts.hostname,
    banner: 'intentmail ESMTP',
    logger: false,
    secure: false,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : { hideSTARTTLS: true }),
    // We write RFC 3463 enhanced codes into our own replies (they carry RFC 7372's 5.7.2x
    // distinctions, which smtp-server's per-code defaults would overwrite), so its are off.
    hideENHANCEDSTATUSCODES: true,
    // SIZE is advertised without a number and checked below, so the 552 carries 5.3.4.
    size: opts.deps.maxMessageBytes,
    hideSize: true,
    disabledCommands: ['AUTH'],
    authOptional: true,
    maxClients: opts.maxConnections,
    maxRecipients: LIMITS.MAX_RECIPIENTS,
    socketTimeout: timeouts.idleMs,
    closeTimeout: 5_000,
    disableReverseLookup: true,

    onConnect(session, callback) {
      connectedAt.set(session.id, Date.now());
      log.info('connection', { conn: session.id, ip: session.remoteAddress });
      callback();
    },

    onClose(session) {
      connectedAt.delete(session.id);
      log.debug('connection closed', { conn: session.id });
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const tx: Transaction = { id: `${session.id}.${session.transaction}`, target: null };
      transactions.set(session, tx);
      const args = address.args ? (address.args as Record<string, string>) : {};
      const declared = Number(args.SIZE ?? NaN);
      if (Number.isFinite(declared) && declared > deps.maxMessageBytes) {
        sessionLog(session).info('mail from refused: declared size', { size: declared });
        return callback(new SmtpReplyError(toSmtpReply(new IntentmailError('message_too_large', `Message size ${declared} exceeds the limit of ${deps.maxMessageBytes} bytes`))));
      }
      sessionLog(session).info('mail from', { from: address.address || '<>' });
      callback();
    },

    onRcptTo(address, session, callback) {
      const tx = transactions.get(session);
      const declaredRaw = (session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, string> | false | undefined) : undefined) || undefined;
      const declared = declaredRaw?.SIZE !== undefined ? Number(declaredRaw.SIZE) : undefined;
      const result = resolveRecipient(opts.policy(), address.address, tx?.target ?? null, deps.maxMessageBytes, declared);
      const slog = sessionLog(session);
      if (result.ok) {
        if (tx) tx.target = result.target;
        slog.info('rcpt to', { rcpt: result.target.address, tenant: result.target.tenant.name, intent: result.target.intent.name });
        return callback();
      }
      const reply = toSmtpReply(result.error);
      slog.info('rcpt refused', { rcpt: address.address, reply: reply.code });
      if (result.error.code === 'too_many_recipients') return callback(new SmtpReplyError(reply));
      const event = sessionRefusalEvent({ type: 'inbound.recipient_refused', tenant: result.tenant?.name ?? null, recipient: address.address, envelope: envelopeOf(session), reply, reason: result.error.message, now: deps.clock.now() });
      auditThenReply(event, reply, slog, callback);
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const tx = transactions.get(session);
      const slog = sessionLog(session);
      const target = tx?.target;
      if (!target) {
        stream.resume();
        stream.on('end', () => callback(new SmtpReplyError({ code: 503, enhanced: '5.5.1', text: 'No valid recipients' })));
        return;
      }
      const limit = messageLimit(target.intent, deps.maxMessageBytes);
      const chunks: Buffer[] = [];
      let bytes = 0;
      let oversized = false;
      const dataTimer = setTimeout(() => {
        slog.warn('data phase timed out', { bytes });
        stream.destroy(new Error('DATA timeout'));
      }, timeouts.dataMs);
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // Past the limit nothing more is kept: the rest is read and dropped, then refused.
        if (bytes > limit) oversized = true;
        else chunks.push(chunk);
      });
      stream.on('error', (err) => {
        clearTimeout(dataTimer);
        slog.warn('data stream error', { error: err.message });
      });
      stream.on('end', () => {
        clearTimeout(dataTimer);
        if (oversized || stream.sizeExceeded) {
          slog.info('message refused: too large', { bytes, limit });
          const error = new IntentmailError('message_too_large', `Message size ${bytes} exceeds the limit of ${limit} bytes`);
          const reply = toSmtpReply(error);
          const event = sessionRefusalEvent({ type: 'inbound.too_large', tenant: target.tenant.name, intent: target.intent.name, recipient: target.address, envelope: envelopeOf(session), reply, reason: error.message, now: deps.clock.now() });
          return auditThenReply(event, reply, slog, callback);
        }
        const raw = Buffer.concat(chunks, bytes);
        const pipelineDeps = { ...deps, logger: slog };
        processMessage(pipelineDeps, envelopeOf(session), target, raw).then(
          (report) => {
            if (tx) tx.target = null;
            const reply = report.reply;
            if (report.accepted) return callback(null, `${reply.enhanced} ${reply.text}`);
            callback(new SmtpReplyError(reply));
          },
          (err: unknown) => {
            slog.error('pipeline failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
            callback(new SmtpReplyError(toSmtpReply(err)));
          },
        );
      });
    },
  });

  // Clients that connect and never say EHLO/HELO hold a slot: close them after the greeting timeout.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const conn of server.connections) {
      const since = connectedAt.get(conn.id);
      if (since !== undefined && !conn.hostNameAppearsAs && now - since > timeouts.greetingMs) {
        log.info('greeting timeout', { conn: conn.id });
        conn.send(421, `${opts.hostname} 4.4.2 Timeout waiting for EHLO, closing connection`);
        conn.close();
        connectedAt.delete(conn.id);
      }
    }
  }, Math.min(1000, timeouts.greetingMs));
  sweep.unref();

  server.on('error', (err) => log.error('smtp server error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  log.info('smtp listening', { host: opts.host, port, starttls: Boolean(opts.tls) });
  return {
    port,
    host: opts.host,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        server.close(() => resolve());
      }),
  };
}
