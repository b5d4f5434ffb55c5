/**
 * The contract between the step runner and the step handlers (webhook, reply, forward, smime,
 * pgp, pdf_container, …). A handler gets everything through its context and ports and returns
 * an outcome; it never throws for anything a receiver or a sender controls.
 */
import type { AuditEvent } from '../core/audit-event.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { AuthOutcome } from '../auth/authenticate.ts';
import type { MessageFacts } from '../message/facts.ts';
import type { ParsedMessage } from '../message/parse.ts';
import type { Intent, Tenant } from '../policy/types.ts';

/** An outbound message handed to the relay: complete RFC 5322 bytes and the SMTP envelope. */
export interface OutboundMail {
  from: string;
  to: string[];
  raw: Uint8Array;
}

/**
 * The outbound mail port (nodemailer's SMTP transport to INTENTMAIL_RELAY_URL in Node). `send`
 * rejects with an IntentmailError('delivery_failed') whose detail is a DeliveryFailure.
 */
export interface Mailer {
  send(mail: OutboundMail): Promise<{ messageId: string | null; response: string }>;
}

/** Why a relay or gateway did not take a message; `permanent` when retrying cannot help (an SMTP 5xx, RFC 5321 §4.2.1; an HTTP 4xx). */
export interface DeliveryFailure {
  permanent: boolean;
  reason: string;
}

/** The SMS port (an HTTP gateway, INTENTMAIL_SMS_GATEWAY_URL); rejects like Mailer.send. */
export interface SmsSender {
  send(to: string, text: string): Promise<{ id: string | null }>;
}

/** `encrypt:` of reply and forward. */
export type ProtectMode = 'auto' | 'smime' | 'pgp' | 'pdf' | 'none';

/**
 * The one seam where secure delivery (S/MIME, OpenPGP, password PDF) wraps an outbound message
 * before it goes to the relay. The default protects nothing and refuses every mode but `none`.
 */
export type Protect = (
  mail: OutboundMail,
  mode: ProtectMode,
  context: { message: StepMessage; step: StepInvocation; ports: StepPorts },
) => Promise<{ status: 'ok'; mail: OutboundMail } | { status: 'failed' | 'retry'; reason: string }>;

/** Keeps the original message (sealed again, its own data key) until the retention ends; idempotent per job and step. */
export type ArchivePort = (message: StepMessage, step: StepInvocation, retentionMs: number | null) => Promise<{ archiveId: string; retainUntil: Date | null }>;

/** What earlier `tag` steps set on what is forwarded or copied. */
export interface OutboundDecorations {
  /** Subject tags such as `[support]`, in step order. */
  subjectTags: string[];
  headers: { name: string; value: string }[];
}

/** The message a chain runs on, decrypted for the duration of the step only. */
export interface StepMessage {
  id: string;
  tenant: Tenant;
  intent: Intent;
  raw: Uint8Array;
  parsed: ParsedMessage;
  facts: MessageFacts;
  envelope: { mailFrom: string | null; recipient: string; clientIp: string | null; helo: string | null; tls: boolean };
  auth: AuthOutcome | null;
  receivedAt: Date;
  /** What earlier `tag` steps of this chain set (absent: nothing). */
  decorations?: OutboundDecorations;
}

/** What a handler is asked to do. Params are already templated and `${env.NAME}`-resolved. */
export interface StepInvocation {
  /** Position in the step tree, e.g. `0.then.1`; stable across retries. */
  path: string;
  name: string;
  action: string;
  params: Record<string, unknown>;
  /** 1 on the first attempt. */
  attempt: number;
  jobId: string;
  /** A stable id for this step of this message (Standard Webhooks `webhook-id`, Message-ID seeds). */
  idempotencyKey: string;
}

/** The ports a handler may use; each is null when not configured (the handler then fails, clearly). */
export interface StepPorts {
  clock: Clock;
  logger: Logger;
  mailer: Mailer | null;
  fetch: typeof fetch;
  /** Our host name (Message-ID right-hand side, HELO to the relay). */
  hostname: string;
  /** The address outbound mail comes from (`intentmail@<tenant domain>` unless configured). */
  fromAddress: (tenant: Tenant) => string;
  env: Record<string, string | undefined>;
  /** Appends an extra audit record (e.g. a key learned, a password sent) to the tenant's chain. */
  audit: (event: AuditEvent) => Promise<void>;
  /** The SMS gateway; null or absent when not configured. */
  sms?: SmsSender | null;
  /** Encryption of replies and forwards (absent: only `encrypt: none` works). */
  protect?: Protect;
  /** Where `archive` keeps originals (absent: the step fails, clearly). */
  archive?: ArchivePort | null;
  /** Attachment bytes a webhook payload may inline (absent: LIMITS.WEBHOOK_INLINE_BYTES). */
  webhookInlineBytes?: number;
}

/**
 * A handler's outcome. `retry` is a temporary failure (retried on the schedule, the same step
 * only); `failed` is permanent (dead-letter, operator may re-drive); `stop` and `reject` end the chain.
 */
export type StepOutcome =
  | { status: 'done'; result: unknown; resourceId?: string | null; summary?: string }
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  | { status: 'failed'; reason: string }
  | { status: 'stop'; reason: string }
  /** Nothing to do by policy (e.g. no auto-reply to a mailing list); the chain goes on. */
  | { status: 'skipped'; reason: string };

/** One action's implementation. */
export type StepHandler = (message: StepMessage, step: StepInvocation, ports: StepPorts) => Promise<StepOutcome>;

/** What `simulate` shows for a step without running it: where it would go and what it would send. */
export interface StepPreview {
  action: string;
  name: string;
  target: string | null;
  detail: Record<string, unknown>;
}
