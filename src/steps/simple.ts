/**
 * The steps that send nothing: `tag` (marks what later forwards and copies carry), `archive`
 * (keeps the original, sealed, for the policy's retention), and the chain enders `stop`,
 * `reject` and `quarantine`.
 */
import { LIMITS } from '../core/limits.ts';
import { headerText } from './outbound.ts';
import type { StepHandler } from './types.ts';

/** Header fields a tag may not set: they carry the message's own structure, addressing and threading. */
const STRUCTURAL_HEADERS = new Set([
  'from', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'reply-to', 'sender',
  'return-path', 'mime-version', 'auto-submitted', 'received', 'dkim-signature', 'authentication-results',
]);

/** Whether a tag may set this header field on outbound mail. */
export function taggableHeader(name: string): boolean {
  const n = name.toLowerCase();
  return !STRUCTURAL_HEADERS.has(n) && !n.startsWith('content-') && !n.startsWith('arc-');
}

/** The `tag` action: its result (a subject tag and/or a header) decorates later forwards and copies. */
export const tagHandler: StepHandler = async (_message, step) => {
  const p = step.params as { subject?: string; header?: { name: string; value: string } };
  if (p.header && !taggableHeader(p.header.name)) return { status: 'failed', reason: `a tag may not set the ${p.header.name} header` };
  const result: Record<string, unknown> = {};
  if (p.subject !== undefined) result.subject = headerText(p.subject, LIMITS.MAX_STEP_ERROR_CHARS);
  if (p.header) result.header = { name: p.header.name, value: headerText(p.header.value, LIMITS.MAX_STEP_ERROR_CHARS) };
  const summary = [result.subject ? `subject ${String(result.subject)}` : null, p.header ? `header ${p.header.name}` : null].filter(Boolean).join(', ');
  return { status: 'done', result, summary };
};

/** The `archive` action: the original is sealed again under its own data key, kept until `retention` ends. */
export const archiveHandler: StepHandler = async (message, step, ports) => {
  if (!ports.archive) return { status: 'failed', reason: 'no archive store in this process' };
  const retention = typeof step.params.retention === 'number' ? step.params.retention : null;
  const kept = await ports.archive(message, step, retention);
  return {
    status: 'done',
    result: { archiveId: kept.archiveId, retainUntil: kept.retainUntil?.toISOString() ?? null },
    resourceId: kept.archiveId,
    summary: kept.retainUntil ? `kept until ${kept.retainUntil.toISOString()}` : 'kept without an end date',
  };
};

/** `stop`: the chain ends here, successfully. */
export const stopHandler: StepHandler = async () => ({ status: 'stop', reason: 'stop step' });

/** `reject`: the chain ends; the message was accepted, but policy refuses to act on it. */
export const rejectHandler: StepHandler = async (_message, step) => ({
  status: 'stop',
  reason: typeof step.params.reason === 'string' && step.params.reason !== '' ? step.params.reason : 'rejected by policy',
});

/** `quarantine`: the chain ends and the message is held for review. */
export const quarantineHandler: StepHandler = async (_message, step) => ({
  status: 'stop',
  reason: typeof step.params.reason === 'string' && step.params.reason !== '' ? `quarantined: ${step.params.reason}` : 'quarantined',
});
