/**
 * `simulate`'s view of a step: where it would go and what it would send (URL, headers, payload,
 * recipients, threading), built by the same code the handlers send with, and sent nowhere.
 */
import { previewMail } from './mail.ts';
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
