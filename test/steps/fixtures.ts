/**
 * Step-handler fixtures: a real message (built, parsed by the real parser, facts by the real
 * builder) for a tenant and intent loaded by the real policy loader, and handler ports.
 */
import { buildMessage } from '../helpers/dkim.ts';
import { silentLogger, type Clock } from '../../src/core/ports.ts';
import { buildFacts } from '../../src/message/facts.ts';
import { parseMessage } from '../../src/message/parse.ts';
import { loadPolicies } from '../../src/policy/loader.ts';
import type { PolicySet } from '../../src/policy/types.ts';
import type { StepInvocation, StepMessage, StepPorts } from '../../src/steps/types.ts';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const SECRET_2 = 'whsec_QmFja3VwIGtleSBmb3Igcm90YXRpb24gdGVzdHMh';

/** A one-tenant policy set with one intent holding the given step YAML. */
export function policyWith(stepsYaml: string, env: Record<string, string> = {}): PolicySet {
  const files = [
    { path: 'acme/tenant.yaml', text: 'tenant: acme\ndomains: [in.acme.example]\n' },
    { path: 'acme/task.hook.yaml', text: `intent: task.hook\nsenders: ["@acme.example"]\nsteps:\n${stepsYaml}` },
  ];
  const r = loadPolicies(files, 'test', env);
  if (!r.policy || r.problems.length > 0) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

/** What the message looks like and how it arrived. */
export interface MessageOptions {
  from?: string;
  subject?: string;
  text?: string;
  headers?: Record<string, string>;
  attachments?: { filename: string; contentType: string; content: string | Buffer }[];
  mailFrom?: string | null;
  verified?: boolean;
  detail?: string | null;
}

/** A parsed StepMessage for intent task.hook of `policy`. */
export async function stepMessage(policy: PolicySet, o: MessageOptions = {}): Promise<StepMessage> {
  const tenant = policy.tenants.get('acme')!;
  const intent = tenant.intents.get('task.hook')!;
  const from = o.from ?? 'alice@acme.example';
  const raw = Buffer.from(
    buildMessage({ from, to: 'task.hook@in.acme.example', subject: o.subject ?? 'Printer on fire #urgent', text: o.text ?? 'The printer is on fire.', headers: o.headers, attachments: o.attachments, messageId: '<orig-1@acme.example>' }),
  );
  const parsed = await parseMessage(raw);
  if (!parsed.detail) throw new Error(parsed.reason);
  const recipient = o.detail ? `task.hook+${o.detail}@in.acme.example` : 'task.hook@in.acme.example';
  const facts = buildFacts({
    parsed: parsed.detail,
    recipient,
    addressDetail: o.detail ?? null,
    sender: from,
    senderVerified: o.verified ?? true,
    senderGroups: [],
    senderRoles: [],
    size: raw.byteLength,
    auth: { spf: 'pass', dkim: 'pass', dmarc: o.verified === false ? 'fail' : 'pass', arc: 'none' },
    tls: false,
  });
  return {
    id: '11111111-2222-4333-8444-555555555555',
    tenant,
    intent,
    raw: new Uint8Array(raw),
    parsed: parsed.detail,
    facts,
    envelope: { mailFrom: o.mailFrom === undefined ? from : o.mailFrom, recipient, clientIp: '127.0.0.1', helo: 'mail.acme.example', tls: false },
    auth: null,
    receivedAt: new Date('2026-01-02T03:04:05Z'),
  };
}

/** A clock that stays where it is put. */
export function fixedClock(at = new Date()): Clock {
  return { now: () => at };
}

/** Handler ports; mailer, SMS and archive are null unless given. */
export function ports(over: Partial<StepPorts> = {}): StepPorts {
  return {
    clock: fixedClock(),
    logger: silentLogger,
    mailer: null,
    fetch: globalThis.fetch,
    hostname: 'mx.intentmail.test',
    fromAddress: (t) => `intentmail@${t.domains[0]}`,
    env: {},
    audit: async () => {},
    ...over,
  };
}

/** The invocation of a step with rendered params. */
export function invocation(action: string, params: Record<string, unknown>, over: Partial<StepInvocation> = {}): StepInvocation {
  return { path: '0', name: action, action, params, attempt: 1, jobId: '99999999-8888-4777-8666-555555555555', idempotencyKey: '99999999-8888-4777-8666-555555555555:0', ...over };
}
