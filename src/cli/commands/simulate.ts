/**
 * `intentmail simulate FILE.eml --to ADDR`: the full decision for a message without any side
 * effect — no message stored, no counter touched, no audit record, nothing sent.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { IntentmailError, formatSmtpReply, toSmtpReply } from '../../core/errors.ts';
import { silentLogger } from '../../core/ports.ts';
import { buildResolver, loadPolicyFolder } from '../../app/compose.ts';
import { processMessage } from '../../pipeline/inbound.ts';
import { resolveRecipient } from '../../pipeline/recipient.ts';
import { configFromArgs } from '../context.ts';
import { formatReport } from '../report.ts';
import { previewPlan } from '../../steps/preview.ts';
import { annotateProtection, withPreviewKeyStore } from '../../secure/simulate.ts';

/** Prints the report (text or --json); exit 0 when the message would be accepted, 1 when refused. */
export async function simulateCommand(args: string[]): Promise<number> {
  const { config, env, rest } = configFromArgs(args);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { to: { type: 'string' }, from: { type: 'string' }, ip: { type: 'string' }, helo: { type: 'string' }, tls: { type: 'boolean' }, json: { type: 'boolean' }, keys: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (!file || !values.to) {
    process.stderr.write('usage: intentmail simulate FILE.eml --to ADDR [--from ADDR] [--ip IP] [--helo NAME] [--tls] [--json] [--keys]\n');
    return 2;
  }
  let raw: Buffer = readFileSync(file);
  // Files on disk often use bare LF; an SMTP client sends CRLF (RFC 5321 §2.3.8), so do the same.
  const normalised = !raw.includes('\r\n') && raw.includes('\n');
  if (normalised) raw = Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const policy = await loadPolicyFolder(config.intentsDir, env, silentLogger);
  const envelope = { mailFrom: values.from ?? null, clientIp: values.ip ?? null, helo: values.helo ?? null, tls: Boolean(values.tls) };
  const declared = raw.byteLength;
  const rcpt = resolveRecipient(policy, values.to, null, config.maxMessageBytes, declared);
  if (!rcpt.ok) {
    const reply = toSmtpReply(rcpt.error);
    if (values.json) process.stdout.write(`${JSON.stringify({ accepted: false, stage: 'recipient', reply, reason: rcpt.error.message }, null, 2)}\n`);
    else process.stdout.write(`Recipient   ${values.to}: refused at RCPT TO\nDecision    ${formatSmtpReply(reply)}\n`);
    return 1;
  }
  const deps = { resolver: buildResolver(config, { now: () => new Date() }), store: null, clock: { now: () => new Date() }, logger: silentLogger, masterKey: new Uint8Array(32), mta: config.hostname, maxMessageBytes: config.maxMessageBytes };
  const report = await processMessage(deps, envelope, rcpt.target, raw, { dryRun: true });
  // What each step would send, rendered as a worker would render it, sent nowhere.
  const previews = await previewPlan({
    report,
    target: rcpt.target,
    raw,
    envelope,
    env,
    hostname: config.hostname,
    fromAddress: (tenant) => config.mailFrom ?? `intentmail@${tenant.domains[0]}`,
    webhookInlineBytes: config.webhookInlineBytes,
    clock: deps.clock,
  });
  // Which key and protection each outbound message would get, from the tenant's key store: always
  // with a database server; with the embedded one only on --keys (PGlite is one process: not beside serve).
  if (report.accepted && (values.keys || config.databaseUrl)) {
    await withPreviewKeyStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, (keys) => annotateProtection(report, rcpt.target.tenant.name, previews, keys));
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, previews, lineEndingsNormalised: normalised }, null, 2)}\n`);
  } else {
    process.stdout.write(formatReport(report, { file, normalised, location: policy.location, previews }));
  }
  if (report.reply.code >= 400 && report.reply.code < 500) return 1;
  if (!report.accepted && !report.refusedAt) throw new IntentmailError('internal', 'inconsistent report');
  return report.accepted ? 0 : 1;
}
