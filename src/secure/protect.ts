/**
 * Outbound protection: what a reply, forward or copy gets on its way out.
 *
 *   encrypt: auto   S/MIME when the tenant's store holds a usable certificate for the recipient
 *                   (every recipient, for a message to several), else OpenPGP when it holds a
 *                   usable key, else a password PDF container with the password sent by a second
 *                   channel (the seed policy's "ELSE IF key missing → PDF container + return channel");
 *   encrypt: smime | pgp | pdf   exactly that, or the step fails naming what is missing;
 *   encrypt: none   in clear (signing may still apply).
 *
 * `smime`, `pgp` and `pdf_container` steps earlier in the chain record directives (their step
 * results) that apply to the outbound steps after them: signing, an encryption mode when the
 * outbound step sets none itself, and the PDF password source and channel. Everything is planned
 * first (`planProtection`, which `simulate` shows through `previewProtection`) and then carried out.
 */
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../core/audit-event.ts';
import type { KeyStore } from '../keys/store.ts';
import type { OutboundMail, Protect, StepInvocation, StepMessage } from '../steps/types.ts';
import type { ContentCipher } from './cms.ts';
import { OID } from './oids.ts';
import { buildPdfContainer, containerContentOf, wrapPdfMessage } from './pdf-container.ts';
import { deliverPassword, type PasswordNotice } from './password-delivery.ts';
import { headerPasswordProblem, passwordFromSeed } from './passwords.ts';
import { protectPgp } from './pgp.ts';
import { protectSmime } from './smime.ts';

/** The `encrypt:` parameter of reply and forward (src/steps/types.ts ProtectMode). */
export type EncryptMode = 'auto' | 'smime' | 'pgp' | 'pdf' | 'none';

/** Marks a step result as a protection directive. */
export const PROTECTION_DIRECTIVE = 'intentmail.protection';

/** What an smime, pgp or pdf_container step asks of the outbound steps after it. */
export interface ProtectionDirective {
  type: typeof PROTECTION_DIRECTIVE;
  mode: 'smime' | 'pgp' | 'pdf';
  sign: boolean;
  encrypt: boolean;
  /** `generated` or `header:NAME` (pdf only). */
  password: string | null;
  /** How the PDF password travels (pdf only); null lets the plan choose (SMS when a number is known). */
  sendPassword: 'sms' | 'email' | null;
  /** The step that recorded it. */
  step: string;
}

/** The directive an smime, pgp or pdf_container step records (from its validated parameters), or null for other actions. */
export function directiveFor(step: { action: string; name: string; params: Record<string, unknown> }): ProtectionDirective | null {
  const p = step.params;
  if (step.action === 'smime' || step.action === 'pgp') {
    return { type: PROTECTION_DIRECTIVE, mode: step.action, sign: p.sign === true, encrypt: p.encrypt === true, password: null, sendPassword: null, step: step.name };
  }
  if (step.action === 'pdf_container') {
    const sendPassword = p.send_password === 'sms' || p.send_password === 'email' ? p.send_password : null;
    return { type: PROTECTION_DIRECTIVE, mode: 'pdf', sign: false, encrypt: true, password: typeof p.password === 'string' ? p.password : 'generated', sendPassword, step: step.name };
  }
  return null;
}

/** The directives recorded so far, in chain order, from the step results of a message's facts. */
export function directivesOf(steps: Record<string, { result: unknown }>): ProtectionDirective[] {
  const out: ProtectionDirective[] = [];
  for (const { result } of Object.values(steps)) {
    if (result !== null && typeof result === 'object' && (result as { protection?: { type?: unknown } }).protection?.type === PROTECTION_DIRECTIVE) {
      out.push((result as { protection: ProtectionDirective }).protection);
    }
  }
  return out;
}

/** What one recipient's copy gets, and why; `problem` says why it cannot be sent as the policy demands. */
export interface RecipientPlan {
  recipient: string;
  encryption: 'smime' | 'pgp' | 'pdf' | 'none';
  sign: 'smime' | 'pgp' | null;
  /** The recipient's key used for encryption. */
  key: { kind: 'smime_cert' | 'pgp_public'; fingerprint: string; subject: string } | null;
  /** The tenant's identity used for signing. */
  signer: { kind: 'smime_identity' | 'pgp_identity'; fingerprint: string; subject: string } | null;
  /** S/MIME content encryption and key transport, when S/MIME encrypts. */
  smime: { cipher: ContentCipher; transport: 'rsa-oaep' | 'rsa-pkcs1' } | null;
  /** PDF password source and channel, when a container is built. */
  password: { source: string; channel: 'sms' | 'email'; to: string | null } | null;
  reason: string;
  problem: string | null;
}

/** What planning needs to know. */
export interface PlanInput {
  tenant: string;
  from: string;
  recipients: string[];
  /** The outbound step's own `encrypt:` (undefined when it has none). */
  encrypt: EncryptMode | undefined;
  directives: ProtectionDirective[];
  /** Inbound top-level header fields by lower-case name (for `password: header:NAME`). */
  headers: Record<string, string[]>;
}

/**
 * Plans the protection of each recipient from the tenant's key store (checked now). One message
 * goes to all recipients, so under `auto` they share the strongest protection every one of them
 * can open: S/MIME if all have certificates, else OpenPGP if all have keys, else the PDF container.
 */
export async function planProtection(input: PlanInput, keys: KeyStore): Promise<RecipientPlan[]> {
  const signDirective = [...input.directives].reverse().find((d) => d.sign && d.mode !== 'pdf') ?? null;
  const encryptDirective = [...input.directives].reverse().find((d) => d.encrypt) ?? null;
  const mode: EncryptMode = input.encrypt ?? encryptDirective?.mode ?? 'none';
  const why = input.encrypt !== undefined ? `encrypt: ${input.encrypt}` : encryptDirective ? `step ${encryptDirective.step} (${encryptDirective.mode})` : 'no encryption asked for';
  let signer: RecipientPlan['signer'] = null;
  let signProblem: string | null = null;
  if (signDirective) {
    const found = await keys.signingIdentity(input.tenant, input.from, signDirective.mode as 'smime' | 'pgp');
    if (found.ok) signer = { kind: found.key.kind as 'smime_identity' | 'pgp_identity', fingerprint: found.key.fingerprint, subject: found.key.subject };
    else signProblem = `step ${signDirective.step} asks for a${signDirective.mode === 'smime' ? 'n S/MIME' : 'n OpenPGP'} signature: ${found.reasons.join('; ')}`;
  }
  const base = { sign: signDirective ? (signDirective.mode as 'smime' | 'pgp') : null, signer, problem: signProblem };
  const recipients = [...new Set(input.recipients.map((r) => r.toLowerCase()))];
  const planAll = (m: Exclude<EncryptMode, 'auto'>, note: string) => Promise.all(recipients.map((r) => planOne(input, keys, r, m, note, base)));
  if (mode !== 'auto') return planAll(mode, why);
  // auto: the first kind every recipient can open; the reasons say what was missing for whom.
  const misses: string[] = [];
  for (const kind of ['smime', 'pgp'] as const) {
    const plans = await planAll(kind, why);
    const missing = plans.filter((p) => p.encryption !== kind);
    if (missing.length === 0) return plans.map((p) => ({ ...p, reason: `${why}: ${misses.length > 0 ? `${misses.join('; ')}; ` : ''}${p.reason.slice(why.length + 2)}` }));
    misses.push(...missing.map((p) => p.missing ?? `${kind} unavailable for ${p.recipient}`));
  }
  const plans = await planAll('pdf', why);
  return plans.map((p) => ({ ...p, reason: `${why}: ${misses.join('; ')} → ${p.reason.slice(why.length + 2)}` }));
}

/** The plan for one recipient under one mode; `missing` says why that mode's key is not there. */
async function planOne(
  input: PlanInput,
  keys: KeyStore,
  recipient: string,
  mode: Exclude<EncryptMode, 'auto'>,
  why: string,
  base: Pick<RecipientPlan, 'sign' | 'signer' | 'problem'>,
): Promise<RecipientPlan & { missing?: string }> {
  const plan: RecipientPlan & { missing?: string } = { recipient, encryption: 'none', key: null, smime: null, password: null, reason: `${why}: in clear`, ...base };
  if (mode === 'smime') {
    const cert = await keys.smimeRecipient(input.tenant, recipient);
    if (!cert.ok) return { ...plan, missing: cert.reasons.join('; '), problem: plan.problem ?? `S/MIME encryption required (${why}) but: ${cert.reasons.join('; ')}` };
    const caps = Array.isArray(cert.key.entry.details.capabilities) ? (cert.key.entry.details.capabilities as string[]) : [];
    return {
      ...plan,
      encryption: 'smime',
      key: { kind: 'smime_cert', fingerprint: cert.key.entry.fingerprint, subject: cert.key.entry.subject },
      smime: { cipher: caps.includes(OID.aes256Gcm) ? 'aes-256-gcm' : 'aes-256-cbc', transport: cert.key.transport },
      reason: `${why}: S/MIME to certificate "${cert.key.entry.subject}"`,
    };
  }
  if (mode === 'pgp') {
    const key = await keys.pgpRecipient(input.tenant, recipient);
    if (!key.ok) return { ...plan, missing: key.reasons.join('; '), problem: plan.problem ?? `OpenPGP encryption required (${why}) but: ${key.reasons.join('; ')}` };
    return { ...plan, encryption: 'pgp', key: { kind: 'pgp_public', fingerprint: key.key.entry.fingerprint, subject: key.key.entry.subject }, reason: `${why}: OpenPGP to key ${key.key.entry.fingerprint}` };
  }
  if (mode === 'none') return plan;
  const pdf = [...input.directives].reverse().find((d) => d.mode === 'pdf') ?? null;
  const source = pdf?.password ?? 'generated';
  const phone = await keys.repository.phone(input.tenant, recipient);
  const channel = pdf?.sendPassword ?? (phone ? 'sms' : 'email');
  let problem = plan.problem;
  if (channel === 'sms' && !phone) problem ??= `the PDF password goes by SMS but no phone number is known for ${recipient} (intentmail keys phone --tenant ${input.tenant} ${recipient} +NUMBER)`;
  if (source.startsWith('header:')) {
    const name = source.slice('header:'.length);
    const values = Object.hasOwn(input.headers, name.toLowerCase()) ? input.headers[name.toLowerCase()] : [];
    const weak = values.length === 1 ? headerPasswordProblem(values[0]) : null;
    if (values.length !== 1) problem ??= `the PDF password comes from header ${name}, which the message has ${values.length === 0 ? 'not' : `${values.length} times`}`;
    else if (weak) problem ??= `the PDF password from header ${name} ${weak}`;
  }
  return {
    ...plan,
    encryption: 'pdf',
    password: { source, channel, to: channel === 'sms' ? phone : recipient },
    reason: `${why}: password PDF (AES-256), password ${source === 'generated' ? 'generated' : `from ${source}`}, sent by ${channel === 'sms' ? 'SMS' : 'a separate e-mail'}`,
    problem,
  };
}

/**
 * What `simulate` shows for an outbound step: the key and protection each recipient would get.
 * The same planning as the real run, against the same store, changing nothing.
 */
export async function previewProtection(message: Pick<StepMessage, 'tenant' | 'facts'>, from: string, recipients: string[], encrypt: EncryptMode | undefined, keys: KeyStore): Promise<RecipientPlan[]> {
  return planProtection({ tenant: message.tenant.name, from, recipients, encrypt, directives: directivesOf(message.facts.steps), headers: message.facts.headers }, keys);
}

/** The seam the outbound steps call. */
export interface ProtectRequest {
  message: StepMessage;
  /** The composed outbound message (RFC 5322 bytes), its sender and recipients. */
  mail: OutboundMail;
  /** The step's own `encrypt:` parameter; undefined when it has none (then directives decide). */
  encrypt: EncryptMode | undefined;
  step: StepInvocation;
}

/** The protected message, the plan per recipient, and the password notices to deliver before it leaves. */
export interface ProtectedMail {
  mail: OutboundMail;
  plans: RecipientPlan[];
  passwords: PasswordNotice[];
}

/** The protected message, or why the policy's protection cannot be met (a permanent failure). */
export type ProtectOutcome = { status: 'ok'; result: ProtectedMail } | { status: 'failed'; reason: string; plans: RecipientPlan[] };

/**
 * Protects an outbound message as planned: signs, S/MIME- or PGP-encrypts to every recipient,
 * or builds the password PDF. A generated password is derived from the master key for this
 * step and its recipients, so a retry builds a container with the same password; a header
 * password is taken from the inbound message and the header is not carried along. Sends nothing.
 */
export async function protectOutbound(req: ProtectRequest, keys: KeyStore, now: Date): Promise<ProtectOutcome> {
  const tenant = req.message.tenant.name;
  const plans = await planProtection(
    { tenant, from: req.mail.from, recipients: req.mail.to, encrypt: req.encrypt, directives: directivesOf(req.message.facts.steps), headers: req.message.facts.headers },
    keys,
  );
  const problem = plans.find((p) => p.problem !== null);
  if (problem) return { status: 'failed', reason: `${problem.recipient}: ${problem.problem}`, plans };
  if (plans.length === 0) return { status: 'ok', result: { mail: req.mail, plans, passwords: [] } };
  const first = plans[0];
  let raw: Buffer = Buffer.from(req.mail.raw.buffer, req.mail.raw.byteOffset, req.mail.raw.byteLength);
  const passwords: PasswordNotice[] = [];
  const smimeSigner = first.sign === 'smime' ? await keys.smimeSigner(tenant, req.mail.from) : null;
  const pgpSigner = first.sign === 'pgp' ? await keys.pgpSigner(tenant, req.mail.from) : null;
  const signer = smimeSigner?.ok ? smimeSigner.key : undefined;
  const signingKey = pgpSigner?.ok ? pgpSigner.key.key : undefined;
  const fail = (reason: string): ProtectOutcome => ({ status: 'failed', reason, plans });
  if (first.encryption === 'pdf') {
    const source = first.password!.source;
    const header = source.startsWith('header:') ? source.slice('header:'.length) : null;
    // One container goes to all recipients, so they share its password; each gets it by their own channel.
    const secret = header
      ? req.message.facts.headers[header.toLowerCase()][0]
      : passwordFromSeed(keys.derive('pdf-password', `${req.step.idempotencyKey}\n${plans.map((p) => p.recipient).sort().join(',')}`));
    const pdf = await buildPdfContainer(await containerContentOf(raw), secret, now);
    const channels = [...new Set(plans.map((p) => p.password!.channel))].map((c) => (c === 'sms' ? 'by SMS' : 'by a separate e-mail')).join(' or ');
    raw = wrapPdfMessage(raw, pdf, channels, header ? [header] : []);
    const reference = req.message.facts.subject === '' ? 'no subject' : req.message.facts.subject;
    for (const p of plans) passwords.push({ channel: p.password!.channel, to: p.password!.to!, recipient: p.recipient, reference, password: secret, idempotencyKey: req.step.idempotencyKey });
  }
  if (first.encryption === 'smime') {
    const recipients = [];
    for (const p of plans) {
      const cert = await keys.smimeRecipient(tenant, p.recipient);
      if (!cert.ok) return fail(`${p.recipient}: ${cert.reasons.join('; ')}`);
      recipients.push({ cert: cert.key.cert, transport: p.smime!.transport });
    }
    // GCM only when every recipient said it reads it (AuthEnvelopedData is newer than most installed clients).
    const cipher = plans.every((p) => p.smime!.cipher === 'aes-256-gcm') ? 'aes-256-gcm' : 'aes-256-cbc';
    if (signingKey) raw = await protectPgp(raw, { signingKey, now });
    raw = protectSmime(raw, { signer, recipients, cipher, now });
  } else if (first.encryption === 'pgp') {
    const encryptionKeys = [];
    for (const p of plans) {
      const key = await keys.pgpRecipient(tenant, p.recipient);
      if (!key.ok) return fail(`${p.recipient}: ${key.reasons.join('; ')}`);
      encryptionKeys.push(key.key.key);
    }
    if (signer) raw = protectSmime(raw, { signer, now });
    raw = await protectPgp(raw, { signingKey, encryptionKeys, now });
  } else if (signer) raw = protectSmime(raw, { signer, now });
  else if (signingKey) raw = await protectPgp(raw, { signingKey, now });
  return { status: 'ok', result: { mail: { from: req.mail.from, to: req.mail.to, raw }, plans, passwords } };
}

/**
 * The `Protect` seam of the outbound steps (src/steps/types.ts) over a tenant key store: plans
 * and applies the protection, delivers each container password by its own channel before the
 * container can leave, and appends one audit record per recipient (protection, key, signer,
 * password channel; never the password). The step's `encrypt:` counts only when it set one;
 * otherwise earlier smime / pgp / pdf_container steps decide.
 */
export function keyStoreProtect(keys: KeyStore): Protect {
  return async (mail, mode, { message, step, ports }) => {
    const encrypt = step.params.encrypt === undefined ? undefined : mode;
    const outcome = await protectOutbound({ message, mail, encrypt, step }, keys, ports.clock.now());
    if (outcome.status === 'failed') return { status: 'failed', reason: outcome.reason };
    const delivered = new Map<string, string>();
    for (const notice of outcome.result.passwords) {
      const sent = await deliverPassword(notice, mail.from, ports);
      if (sent.status !== 'done') return sent;
      delivered.set(notice.recipient, sent.detail);
    }
    for (const plan of outcome.result.plans) await ports.audit(protectionAudit(message, step, plan, delivered.get(plan.recipient) ?? null, ports.clock.now()));
    return { status: 'ok', mail: outcome.result.mail };
  };
}

function protectionAudit(m: StepMessage, step: StepInvocation, plan: RecipientPlan, passwordDetail: string | null, now: Date): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant: m.tenant.name,
    actor: { email: m.facts.sender, verified: m.facts.senderVerified, ip: m.envelope.clientIp, helo: m.envelope.helo },
    action: {
      type: 'outbound.protect',
      target: plan.recipient,
      intent: m.intent.name,
      parameters: {
        step: step.path,
        action: step.action,
        encryption: plan.encryption,
        sign: plan.sign,
        key: plan.key ? { ...plan.key } : null,
        signer: plan.signer ? { ...plan.signer } : null,
        smime: plan.smime ? { ...plan.smime } : null,
        password: plan.password ? { source: plan.password.source, channel: plan.password.channel, delivery: passwordDetail } : null,
      },
    },
    authentication: null,
    authorization: { permitted: true, role: null, policy: { file: m.intent.origin.file, version: m.intent.origin.version }, reason: plan.reason },
    result: { status: 'protected', resourceId: null },
  };
}
