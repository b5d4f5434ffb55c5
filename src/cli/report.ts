/**
 * Human-readable form of an InboundReport for `simulate`: every stage, what it saw and why it
 * decided as it did, in pipeline order.
 */
import { formatSmtpReply } from '../core/errors.ts';
import type { InboundReport } from '../pipeline/inbound.ts';
import type { ConditionTrace } from '../policy/conditions.ts';
import type { StepPreview } from '../steps/types.ts';

const pad = (label: string) => label.padEnd(16);

/** Formats the report as aligned text lines. */
export function formatReport(r: InboundReport, ctx: { file: string; normalised: boolean; location: string; previews?: StepPreview[] }): string {
  const out: string[] = [];
  out.push(`intentmail simulate ${ctx.file} (dry run: nothing stored, counted, audited or sent)`);
  if (ctx.normalised) out.push(`${pad('')}line endings: bare LF converted to CRLF as an SMTP client would`);
  out.push(`${pad('Recipient')}${r.recipient} → tenant ${r.tenant}, intent ${r.intent} (${ctx.location}/${r.policy.file} @ ${r.policy.version.slice(0, 12)})`);
  out.push(`${pad('Size')}${r.size} bytes`);
  if (r.guard) out.push(`${pad('Structure')}${r.guard.status}: ${r.guard.reason}`);
  if (r.auth) {
    const a = r.auth;
    const dkim = a.dkim.signatures.length ? a.dkim.signatures.map((s) => `${s.result} d=${s.domain} s=${s.selector}${s.aligned ? ' aligned' : ''}`).join('; ') : 'no signature';
    out.push(`${pad('Authentication')}SPF ${a.spf.result}${a.spf.domain ? ` (${a.spf.domain})` : ''}`);
    out.push(`${pad('')}DKIM ${a.dkim.result}: ${dkim}`);
    out.push(`${pad('')}DMARC ${a.dmarc.result}${a.dmarc.domain ? ` for ${a.dmarc.domain}` : ''}${a.dmarc.policy ? ` (policy ${a.dmarc.policy})` : ''}`);
    out.push(`${pad('')}ARC ${a.arc.result}${a.arc.sealer ? ` (sealed by ${a.arc.sealer})` : ''}`);
    out.push(`${pad('')}header From: ${a.headerFrom ?? '(none)'}`);
  }
  if (r.require) out.push(`${pad('Requirement')}${r.require.verdict.status}: ${r.require.verdict.reason}; sender ${r.require.verified ? `verified${r.require.via ? ` via ${r.require.via}` : ''}` : 'NOT verified'}`);
  if (r.parsed) {
    const p = r.parsed;
    out.push(`${pad('Message')}subject "${p.subject}"${p.subjectTags.length ? ` tags ${p.subjectTags.map((t) => `#${t}`).join(' ')}` : ''}${p.labels.length ? ` labels ${p.labels.join(', ')}` : ''}`);
    for (const a of p.attachments) out.push(`${pad('')}attachment ${a.filename ?? '(unnamed)'} ${a.mimeType} ${a.size} bytes sha256 ${a.sha256.slice(0, 16)}…`);
  }
  if (r.access) out.push(`${pad('Access')}${r.access.permitted ? 'permitted' : 'denied'}: ${r.access.reason}${r.access.roles.length ? ` (roles: ${r.access.roles.join(', ')})` : ''}`);
  if (r.rateLimit) out.push(`${pad('Rate limit')}${r.rateLimit.count}/${r.rateLimit.limit} in the current window${r.rateLimit.allowed ? '' : ' — exceeded'}`);
  else if (r.access?.permitted) out.push(`${pad('Rate limit')}not evaluated by simulate (live counters are not read)`);
  if (r.plan) {
    out.push(`${pad('Steps')}${r.plan.steps.length} step(s) would run${r.plan.endedBy ? `, chain ended by ${r.plan.endedBy}` : ''}`);
    for (const b of r.plan.branches) out.push(`${pad('')}if (line ${b.line}) → ${b.taken}: ${traceText(b.trace)}`);
    r.plan.steps.forEach((s, i) => {
      out.push(`${pad('')}${i + 1}. ${s.name}${s.name !== s.action ? ` (${s.action})` : ''} [line ${s.line}] ${JSON.stringify(s.params)}`);
      const preview = ctx.previews?.[i];
      if (preview) out.push(...previewLines(preview));
    });
  }
  out.push(`${pad('Decision')}${formatSmtpReply(r.reply)}${r.refusedAt ? ` (refused at ${r.refusedAt})` : ''}`);
  out.push(`${pad('Audit record')}${r.audit.action.type}, permitted=${r.audit.authorization.permitted}, reason: ${r.audit.authorization.reason}`);
  return `${out.join('\n')}\n`;
}

function traceText(t: ConditionTrace): string {
  if (t.kind === 'leaf') return `${t.field} ${t.op} ${JSON.stringify(t.expected)} (actual ${t.actual === undefined ? 'none' : JSON.stringify(t.actual)}) ${t.result ? '✓' : '✗'}`;
  if (t.kind === 'not') return `not(${(t.children ?? []).map(traceText).join(', ')}) ${t.result ? '✓' : '✗'}`;
  return `${t.kind}(${(t.children ?? []).map(traceText).join('; ')}) ${t.result ? '✓' : '✗'}`;
}

/** Longest JSON shown inline for one preview value; `--json` shows everything. */
const PREVIEW_VALUE_CHARS = 600;

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > PREVIEW_VALUE_CHARS ? `${text.slice(0, PREVIEW_VALUE_CHARS)}… (${text.length - PREVIEW_VALUE_CHARS} more characters; --json shows all)` : text;
}

/** The lines under a step that say what it would send. */
function previewLines(p: StepPreview): string[] {
  const lead = `${pad('')}     `;
  const lines: string[] = [];
  if (p.target) lines.push(`${lead}would send to ${p.target}`);
  for (const [k, v] of Object.entries(p.detail)) {
    if (v === null || v === undefined || k === 'to' || (k === 'url' && v === p.target)) continue;
    if (k === 'headers' && typeof v === 'object') {
      for (const [h, hv] of Object.entries(v as Record<string, unknown>)) lines.push(`${lead}${h}: ${shown(hv)}`);
    } else lines.push(`${lead}${k}: ${shown(v)}`);
  }
  return lines;
}
