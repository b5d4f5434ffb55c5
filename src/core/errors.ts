/**
 * One error taxonomy for the whole router. Every refusal and failure is an `IntentmailError`
 * with a stable `code`; `toSmtpReply` and `toProblem` are the only places that turn a code
 * into an SMTP reply (RFC 5321 §4.2, RFC 3463 enhanced codes, RFC 7372 auth codes) or an
 * RFC 9457 problem document.
 */

export type ErrorCode =
  | 'unknown_recipient' // no tenant for the domain or no intent of that name
  | 'too_many_recipients' // one intent per SMTP transaction
  | 'auth_dmarc_failed'
  | 'auth_spf_failed'
  | 'auth_dkim_failed'
  | 'auth_temporary' // DNS timeout / SERVFAIL during authentication
  | 'sender_not_allowed'
  | 'rate_limited'
  | 'message_too_large'
  | 'message_malformed' // hostile or broken MIME past a named limit
  | 'bare_line_ending' // bare CR or LF in DATA (RFC 5321 §2.3.8; SMTP smuggling)
  | 'storage_unavailable'
  | 'internal'
  | 'config_invalid'
  | 'policy_invalid'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'validation_failed'
  | 'delivery_failed' // a relay, webhook receiver or SMS gateway did not take what a step sent
  | 'payload_too_large' // an HTTP request body over its named limit
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'api_rate_limited' // an API token over its request rate (not a sender's mail rate)
  | 'conflict'
  | 'not_dead_lettered' // re-drive asked for a message with no dead-lettered step
  | 'legal_hold' // erasure refused while the message is on legal hold
  | 'message_erased'; // the message was crypto-erased: its content is gone for good

interface CodeInfo {
  smtp?: { code: number; enhanced: string };
  http: number;
  title: string;
}

/** The single mapping table from error code to SMTP reply and HTTP status. */
const CODES: Record<ErrorCode, CodeInfo> = {
  unknown_recipient: { smtp: { code: 550, enhanced: '5.1.1' }, http: 404, title: 'Unknown recipient' },
  too_many_recipients: { smtp: { code: 452, enhanced: '4.5.3' }, http: 400, title: 'Too many recipients' },
  auth_dmarc_failed: { smtp: { code: 550, enhanced: '5.7.26' }, http: 403, title: 'DMARC authentication failed' },
  auth_spf_failed: { smtp: { code: 550, enhanced: '5.7.23' }, http: 403, title: 'SPF validation failed' },
  auth_dkim_failed: { smtp: { code: 550, enhanced: '5.7.20' }, http: 403, title: 'No passing DKIM signature' },
  auth_temporary: { smtp: { code: 451, enhanced: '4.4.3' }, http: 503, title: 'Temporary authentication failure' },
  sender_not_allowed: { smtp: { code: 550, enhanced: '5.7.1' }, http: 403, title: 'Sender not allowed' },
  rate_limited: { smtp: { code: 451, enhanced: '4.7.1' }, http: 429, title: 'Rate limited' },
  message_too_large: { smtp: { code: 552, enhanced: '5.3.4' }, http: 413, title: 'Message too large' },
  message_malformed: { smtp: { code: 554, enhanced: '5.6.0' }, http: 422, title: 'Message structure refused' },
  bare_line_ending: { smtp: { code: 550, enhanced: '5.6.11' }, http: 422, title: 'Bare CR or LF in message' },
  storage_unavailable: { smtp: { code: 451, enhanced: '4.3.0' }, http: 503, title: 'Storage unavailable' },
  internal: { smtp: { code: 451, enhanced: '4.3.0' }, http: 500, title: 'Internal error' },
  config_invalid: { http: 500, title: 'Invalid configuration' },
  policy_invalid: { http: 422, title: 'Invalid policy' },
  not_found: { http: 404, title: 'Not found' },
  unauthorized: { http: 401, title: 'Unauthorized' },
  forbidden: { http: 403, title: 'Forbidden' },
  validation_failed: { http: 400, title: 'Validation failed' },
  delivery_failed: { http: 502, title: 'Delivery failed' },
  payload_too_large: { http: 413, title: 'Request body too large' },
  unsupported_media_type: { http: 415, title: 'Unsupported media type' },
  method_not_allowed: { http: 405, title: 'Method not allowed' },
  api_rate_limited: { http: 429, title: 'Too many requests for this token' },
  conflict: { http: 409, title: 'Conflict' },
  not_dead_lettered: { http: 409, title: 'Nothing to re-drive' },
  legal_hold: { http: 409, title: 'Message is on legal hold' },
  message_erased: { http: 410, title: 'Message erased' },
};

/** The router's only error class; `code` selects the SMTP reply and HTTP status. */
export class IntentmailError extends Error {
  readonly code: ErrorCode;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntentmailError';
    this.code = code;
    this.detail = options?.detail;
  }
}

/** An SMTP reply as smtp-server and the audit record want it. */
export interface SmtpReply {
  code: number;
  enhanced: string;
  text: string;
}

/** Maps any error to the SMTP reply for it; unknown errors become a temporary 451 so mail is retried, not lost. */
export function toSmtpReply(err: unknown): SmtpReply {
  if (err instanceof IntentmailError) {
    const smtp = CODES[err.code].smtp ?? CODES.internal.smtp!;
    return { code: smtp.code, enhanced: smtp.enhanced, text: sanitizeReplyText(err.message) };
  }
  return { code: 451, enhanced: '4.3.0', text: 'Temporary local problem, please try again later' };
}

/** The error code whose SMTP reply is `reply` (first in table order), or null: lets HTTP ingress map a pipeline reply to a problem. */
export function errorCodeForReply(reply: Pick<SmtpReply, 'code' | 'enhanced'>): ErrorCode | null {
  for (const [code, info] of Object.entries(CODES) as [ErrorCode, CodeInfo][]) {
    if (info.smtp && info.smtp.code === reply.code && info.smtp.enhanced === reply.enhanced) return code;
  }
  return null;
}

/** Formats a reply line: `550 5.7.1 text` (RFC 3463 enhanced status after the basic code). */
export function formatSmtpReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.enhanced} ${reply.text}`;
}

/** RFC 9457 problem details; `type` is stable per code so clients can branch on it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
}

/** Maps any error to an RFC 9457 problem document; never leaks a stack trace. */
export function toProblem(err: unknown): Problem {
  if (err instanceof IntentmailError) {
    const info = CODES[err.code];
    return { type: `https://intentmail.dev/problems/${err.code}`, title: info.title, status: info.http, detail: err.message, code: err.code, ...(err.detail ?? {}) };
  }
  const info = CODES.internal;
  return { type: 'https://intentmail.dev/problems/internal', title: info.title, status: info.http, detail: 'Internal error', code: 'internal' };
}

/** SMTP reply text must be a single line of printable ASCII (RFC 5321 §4.2). */
function sanitizeReplyText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return clean.length > 400 ? `${clean.slice(0, 397)}...` : clean || 'Refused';
}
