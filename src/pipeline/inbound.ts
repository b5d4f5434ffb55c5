/**
 * The inbound pipeline after DATA: size → structure guard → authentication (SPF, DKIM, DMARC,
 * ARC) → parse → access → rate limit → plan → seal and store. Every stage yields a verdict that
 * ends up in the report and the audit record; the first refusal ends the pipeline. The same
 * function serves SMTP, HTTP inbound and `simulate` (dry run: nothing written, nothing counted).
 */
import { createHash, randomUUID } from 'node:crypto';
import { type ErrorCode, IntentmailError, type SmtpReply, formatSmtpReply, toSmtpReply } from '../core/errors.ts';
import type { AuditEvent } from '../core/audit-event.ts';
import type { Clock, Logger, Resolver } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import type { Verdict } from '../core/verdict.ts';
import { authenticate, type AuthOutcome } from '../auth/authenticate.ts';
import { enforceRequire, type RequireVerdict } from '../auth/require.ts';
import { decideAccess, type AccessDecision, type RuntimeGrants } from '../access/access.ts';
import { senderGroups, senderRoles } from '../access/identity.ts';
import { checkRateLimit, rateLimitKey } from '../access/rate-limit.ts';
import { sealMessage } from '../crypto/envelope.ts';
import { buildFacts, type MessageFacts } from '../message/facts.ts';
import { guardMessage } from '../message/guard.ts';
import { parseMessage, type ParsedMessage } from '../message/parse.ts';
import { prependHeaderField, removeOwnAuthenticationResults } from '../message/headers.ts';
import { planSteps, type PlanResult } from '../policy/plan.ts';
import type { ResolvedRecipient } from './recipient.ts';
import { messageLimit } from './recipient.ts';
import { auditEventFor } from './audit-events.ts';

/** What the pipeline needs from the outside, all through ports. */
export interface PipelineDeps {
  resolver: Resolver;
  /** Null only for `simulate`, which reads and writes nothing (rate limits are then not evaluated). */
  store: Store | null;
  clock: Clock;
  logger: Logger;
  masterKey: Uint8Array;
  /** Our host name: the authserv-id of the Authentication-Results we add (RFC 8601 §2.5). */
  mta: string;
  maxMessageBytes: number;
  /**
   * Run-time grants (admin API allow/deny entries and role bindings) in force now for an
   * intent; read per message so a change applies to the next one without a restart.
   */
  grants?: (tenant: string, intent: string) => Promise<RuntimeGrants>;
  /**
   * The tenant key store's answer for `key.smime` / `key.pgp`: whether a reply to this
   * address could be encrypted. Absent (e.g. `simulate` without a store), both read `missing`.
   */
  keyPresence?: (tenant: string, address: string | null) => Promise<MessageFacts['keys']>;
  /** Parses the message (default: src/message/parse.ts on this thread; the router passes its parser threads). */
  parse?: (raw: Uint8Array) => Promise<Verdict<ParsedMessage>>;
}

/** The SMTP envelope and connection facts of one transaction. */
export interface Envelope {
  mailFrom: string | null;
  clientIp: string | null;
  helo: string | null;
  tls: boolean;
}

/** Everything the pipeline decided, stage by stage: the SMTP reply, `simulate` and the audit read from it. */
export interface InboundReport {
  accepted: boolean;
  reply: SmtpReply;
  tenant: string;
  intent: string;
  recipient: string;
  /** Raw message size in bytes. */
  size: number;
  messageId: string | null;
  jobId: string | null;
  /** Which stage refused, if any. */
  refusedAt: 'size' | 'guard' | 'authentication' | 'parse' | 'access' | 'rate_limit' | 'store' | null;
  guard: Verdict<unknown> | null;
  auth: AuthOutcome | null;
  require: RequireVerdict | null;
  parsed: ParsedMessage | null;
  access: AccessDecision | null;
  rateLimit: { allowed: boolean; count: number; limit: number; retryAfterMs: number } | null;
  plan: PlanResult | null;
  policy: { file: string; version: string };
  audit: AuditEvent;
}

/** Runs one received message through every stage; never throws for anything the sender controls. */
export async function processMessage(deps: PipelineDeps, envelope: Envelope, target: ResolvedRecipient, raw: Uint8Array, opts: { dryRun?: boolean } = {}): Promise<InboundReport> {
  const { intent, tenant } = target;
  const report: Omit<InboundReport, 'audit' | 'reply' | 'accepted'> = {
    tenant: tenant.name,
    intent: intent.name,
    recipient: target.address,
    size: raw.byteLength,
    messageId: null,
    jobId: null,
    refusedAt: null,
    guard: null,
    auth: null,
    require: null,
    parsed: null,
    access: null,
    rateLimit: null,
    plan: null,
    policy: { file: intent.origin.file, version: intent.origin.version },
  };
  const refuse = async (stage: NonNullable<InboundReport['refusedAt']>, code: ErrorCode, text: string): Promise<InboundReport> => {
    report.refusedAt = stage;
    const reply = toSmtpReply(new IntentmailError(code, text));
    return finish(deps, envelope, target, { ...report, accepted: false, reply }, opts);
  };

  const sizeLimit = messageLimit(intent, deps.maxMessageBytes);
  if (raw.byteLength > sizeLimit) return refuse('size', 'message_too_large', `Message size ${raw.byteLength} exceeds the limit of ${sizeLimit} bytes`);

  report.guard = guardMessage(raw);
  if (report.guard.status !== 'pass') {
    const limit = (report.guard.detail as { limit?: string } | undefined)?.limit;
    const code = limit === 'bare_line_ending' ? 'bare_line_ending' : limit === 'MAX_MESSAGE_BYTES' ? 'message_too_large' : 'message_malformed';
    return refuse('guard', code, report.guard.reason);
  }

  const auth = await authenticate({ raw, ip: envelope.clientIp, helo: envelope.helo, mailFrom: envelope.mailFrom, resolver: deps.resolver, mta: deps.mta, clock: deps.clock });
  report.auth = auth;
  report.require = enforceRequire(intent.require, auth, { trustedArcSealers: tenant.defaults.trustedArcSealers });
  if (report.require.code) return refuse('authentication', report.require.code, report.require.verdict.reason);

  const parsed = await (deps.parse ?? parseMessage)(raw);
  if (parsed.status !== 'pass' || !parsed.detail) return refuse('parse', 'message_malformed', parsed.reason);
  report.parsed = parsed.detail;

  const sender = auth.headerFrom;
  const verified = report.require.verified;
  const grants = deps.grants ? await deps.grants(tenant.name, intent.name) : undefined;
  report.access = decideAccess({ tenant, intent, sender, verified, grants });
  if (!report.access.permitted) return refuse('access', 'sender_not_allowed', `Sender not allowed: ${report.access.reason}`);

  if (intent.limits.perSender && sender && deps.store) {
    const key = rateLimitKey(tenant.name, intent.name, sender);
    const rate = await checkRateLimit(deps.store, deps.clock, key, intent.limits.perSender, { dryRun: opts.dryRun });
    report.rateLimit = rate;
    if (!rate.allowed) {
      return refuse('rate_limit', 'rate_limited', `Rate limit ${intent.limits.perSender.text} reached for ${sender}, try again in ${Math.ceil(rate.retryAfterMs / 1000)} s`);
    }
  }

  const facts = buildFacts({
    parsed: parsed.detail,
    recipient: target.address,
    addressDetail: target.detail,
    sender,
    senderVerified: verified,
    senderGroups: senderGroups(tenant, sender),
    senderRoles: senderRoles(tenant, sender, grants),
    size: raw.byteLength,
    auth: { spf: auth.spf.result, dkim: auth.dkim.result, dmarc: auth.dmarc.result, arc: auth.arc.result },
    tls: envelope.tls,
    keys: deps.keyPresence ? await deps.keyPresence(tenant.name, sender) : undefined,
  });
  report.plan = planSteps(intent.steps, facts);
  report.messageId = randomUUID();
  report.jobId = randomUUID();
  const reply: SmtpReply = { code: 250, enhanced: '2.6.0', text: opts.dryRun ? 'Message would be accepted (dry run: nothing stored)' : `Message accepted as ${report.messageId}` };
  return finish(deps, envelope, target, { ...report, accepted: true, reply }, opts, raw);
}

/** Writes the outcome (message + job + audit, or the refusal's audit record) unless this is a dry run. */
async function finish(
  deps: PipelineDeps,
  envelope: Envelope,
  target: ResolvedRecipient,
  report: Omit<InboundReport, 'audit'>,
  opts: { dryRun?: boolean },
  raw?: Uint8Array,
): Promise<InboundReport> {
  const now = deps.clock.now();
  const audit = auditEventFor(report, envelope, now, report.accepted ? report.messageId : null);
  const done: InboundReport = { ...report, audit };
  if (opts.dryRun) return done;
  const store = deps.store;
  if (!store) throw new IntentmailError('internal', 'the pipeline needs a store unless it is a dry run');
  const log = deps.logger.child({ tenant: report.tenant, intent: report.intent });
  try {
    if (report.accepted && raw && report.messageId && report.jobId) {
      await storeAccepted({ ...deps, store }, envelope, target, done, raw, now);
    } else {
      await store.appendAudit(audit);
    }
  } catch (err) {
    // A decision we cannot record is not taken: the sender retries and the next attempt is audited.
    log.error('could not persist the decision', { error: err instanceof Error ? err.message : String(err), decision: report.reply.code });
    const reply = toSmtpReply(new IntentmailError('storage_unavailable', 'Temporary local problem: could not store the message, please try again later'));
    return { ...done, accepted: false, refusedAt: 'store', reply, messageId: null, jobId: null };
  }
  log.info(report.accepted ? 'message accepted' : 'message refused', { reply: formatSmtpReply(report.reply), messageId: report.messageId });
  return done;
}

async function storeAccepted(deps: PipelineDeps & { store: Store }, envelope: Envelope, target: ResolvedRecipient, report: InboundReport, raw: Uint8Array, now: Date): Promise<void> {
  const auth = report.auth!;
  const stored = prependHeaderField(removeOwnAuthenticationResults(raw, deps.mta), auth.authenticationResults);
  const sealed = sealMessage(stored, deps.masterKey);
  await deps.store.acceptMessage(
    {
      id: report.messageId!,
      tenant: report.tenant,
      intent: report.intent,
      recipient: target.address,
      addressDetail: target.detail,
      envelopeFrom: envelope.mailFrom,
      headerFrom: auth.headerFrom,
      senderVerified: report.require?.verified ?? false,
      messageIdHeader: report.parsed?.messageId ?? null,
      size: raw.byteLength,
      sha256: createHash('sha256').update(raw).digest('hex'),
      clientIp: envelope.clientIp,
      helo: envelope.helo,
      tls: envelope.tls,
      receivedAt: now,
      authentication: { spf: auth.spf, dkim: auth.dkim, dmarc: auth.dmarc, arc: auth.arc, reason: auth.reason },
      ciphertext: sealed.ciphertext,
      wrappedKey: sealed.wrappedKey,
      keyId: sealed.keyId,
      policyFile: report.policy.file,
      policyVersion: report.policy.version,
    },
    {
      id: report.jobId!,
      messageId: report.messageId!,
      tenant: report.tenant,
      intent: report.intent,
      plan: {
        policy: report.policy,
        addressDetail: target.detail,
        steps: target.intent.steps as unknown as Record<string, unknown>[],
        preview: report.plan as unknown as Record<string, unknown>,
      },
    },
    report.audit,
  );
}
