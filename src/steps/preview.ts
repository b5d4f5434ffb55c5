/**
 * `simulate`'s view of a step: where it would go and what it would send (URL, headers, payload,
 * recipients, threading), built by the same code the handlers send with, and sent nowhere.
 */
import { senderGroups, senderRoles } from '../access/identity.ts';
import type { Clock } from '../core/ports.ts';
import { buildFacts } from '../message/facts.ts';
import type { InboundReport } from '../pipeline/inbound.ts';
import type { ResolvedRecipient } from '../pipeline/recipient.ts';
import { templateContext } from '../policy/template.ts';
import type { Tenant } from '../policy/types.ts';
import { previewMail } from './mail.ts';
import { renderStepParams } from './render.ts';
import type { StepInvocation, StepMessage, StepPorts, StepPreview } from './types.ts';
import { previewWebhook } from './webhook.ts';

/** The preview of one rendered step. */
export async function previewStep(message: StepMessage, step: StepInvocation, ports: Pick<StepPorts, 'clock' | 'fromAddress' | 'hostname' | 'webhookInlineBytes'>): Promise<StepPreview> {
  const base = { action: step.action, name: step.name };
  switch (step.action) {
    case 'webhook':
    case 'incident':
      return previewWebhook(message, step, ports);
    case 'reply':
    case 'forward':
    case 'copy':
    case 'notify':
      return previewMail(message, step, ports);
    case 'archive':
      return { ...base, target: null, detail: { retentionMs: step.params.retention ?? null, stored: 'the original, sealed under its own data key' } };
    case 'tag':
      return { ...base, target: null, detail: { ...step.params } };
    case 'stop':
    case 'reject':
    case 'quarantine':
      return { ...base, target: null, detail: { endsChain: true, ...step.params } };
    default:
      return { ...base, target: null, detail: { params: step.params } };
  }
}

/** What `previewPlan` needs from a dry run of the pipeline. */
export interface PlanPreviewInput {
  report: InboundReport;
  target: ResolvedRecipient;
  raw: Uint8Array;
  envelope: { mailFrom: string | null; clientIp: string | null; helo: string | null; tls: boolean };
  env: Record<string, string | undefined>;
  hostname: string;
  fromAddress: (tenant: Tenant) => string;
  webhookInlineBytes?: number;
  clock: Clock;
}

/**
 * Previews every step of an accepted dry run's plan with its parameters rendered as the worker
 * would render them. Earlier steps' results do not exist in a dry run, so `{{steps.…}}` render
 * empty, and later branches that read them are shown as the plan decided them.
 */
export async function previewPlan(i: PlanPreviewInput): Promise<StepPreview[]> {
  const { report, target } = i;
  if (!report.accepted || !report.plan || !report.parsed || !report.auth) return [];
  const sender = report.auth.headerFrom;
  const facts = buildFacts({
    parsed: report.parsed,
    recipient: target.address,
    addressDetail: target.detail,
    sender,
    senderVerified: report.require?.verified ?? false,
    senderGroups: senderGroups(target.tenant, sender),
    senderRoles: senderRoles(target.tenant, sender),
    size: report.size,
    auth: { spf: report.auth.spf.result, dkim: report.auth.dkim.result, dmarc: report.auth.dmarc.result, arc: report.auth.arc.result },
    tls: i.envelope.tls,
  });
  const now = i.clock.now();
  const message: StepMessage = {
    id: '(dry run)',
    tenant: target.tenant,
    intent: target.intent,
    raw: i.raw,
    parsed: report.parsed,
    facts,
    envelope: { ...i.envelope, recipient: target.address },
    auth: report.auth,
    receivedAt: now,
    decorations: { subjectTags: [], headers: [] },
  };
  const ctx = templateContext(facts, { message: { id: '(dry run)', receivedAt: now.toISOString(), messageId: report.parsed.messageId, size: report.size }, intent: target.intent.name, tenant: target.tenant.name });
  const ports = { clock: i.clock, fromAddress: i.fromAddress, hostname: i.hostname, webhookInlineBytes: i.webhookInlineBytes };
  const out: StepPreview[] = [];
  for (const s of report.plan.steps) {
    const rendered = renderStepParams(s.params, ctx, i.env);
    const step: StepInvocation = { path: s.path, name: s.name, action: s.action, params: rendered.params, attempt: 1, jobId: '(dry run)', idempotencyKey: `dry-run:${s.path}` };
    const preview = await previewStep(message, step, ports);
    if (rendered.missing.length > 0) preview.detail = { ...preview.detail, unsetEnvironment: rendered.missing };
    out.push(preview);
    if (s.action === 'tag') {
      const p = rendered.params as { subject?: string; header?: { name: string; value: string } };
      if (p.subject) message.decorations!.subjectTags.push(p.subject);
      if (p.header) message.decorations!.headers.push(p.header);
    }
  }
  return out;
}
