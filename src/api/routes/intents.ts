/**
 * Tenants and intents as loaded from the policy folder (read-only: policies change through
 * git), validation of a proposed policy file in its tenant's context, and simulation of a raw
 * message: the full `intentmail simulate` report, nothing stored, counted, audited or sent.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { formatSmtpReply, toSmtpReply } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { PolicyFile } from '../../core/ports.ts';
import { processMessage, type InboundReport } from '../../pipeline/inbound.ts';
import { loadPolicies } from '../../policy/loader.ts';
import type { Intent, Tenant } from '../../policy/types.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { canSee, principalOf, requireScope } from '../auth.ts';
import { problem } from '../problems.ts';
import { EnvelopeQuery, envelopeOf, readRawMessage, recipientsOf, resolveRecipients } from '../raw-message.ts';
import { BEARER, RawMessageBody, TenantQuery, problemResponses } from '../schemas.ts';

const Origin = { file: z.string().openapi({ example: 'acme/task.linear.yaml' }), version: z.string().openapi({ description: 'git blob id of the file as loaded' }) };

const IntentSummary = z
  .object({
    name: z.string(),
    tenant: z.string(),
    description: z.string(),
    level: z.enum(['read', 'create', 'modify', 'approve']),
    require: z.enum(['dmarc', 'dkim', 'spf', 'none']),
    senders: z.array(z.string()),
    deny: z.array(z.string()),
    ...Origin,
  })
  .openapi('IntentSummary');

const IntentDetail = IntentSummary.extend({
  limits: z.object({ perSender: z.string().nullable(), maxSize: z.number().int().nullable() }),
  steps: z.array(z.looseObject({ kind: z.enum(['if', 'action']), line: z.number().int() })).openapi({ description: 'The steps as loaded (if/then/else trees and actions with their validated parameters)' }),
  runtime: z.object({ allow: z.array(z.string()), deny: z.array(z.string()) }).openapi({ description: 'Run-time allow and deny entries in force now for this intent' }),
}).openapi('IntentDetail');

const Tenants = z.object({
  items: z.array(z.object({ name: z.string(), domains: z.array(z.string()), intents: z.array(z.string()), ...Origin })),
});

const PolicyProblem = z.object({ file: z.string(), line: z.number().int(), column: z.number().int(), field: z.string(), message: z.string() }).openapi('PolicyProblem');

const Validation = z
  .object({
    valid: z.boolean(),
    file: z.string().openapi({ description: 'The proposed file, relative to the policy folder' }),
    problems: z.array(PolicyProblem),
    warnings: z.array(PolicyProblem),
  })
  .openapi('PolicyValidation');

const Reply = z.object({ code: z.number().int(), enhanced: z.string(), text: z.string() }).openapi('SmtpReply');

const SimulateReport = z
  .looseObject({
    accepted: z.boolean(),
    smtp: z.string().openapi({ example: '250 2.6.0 Message would be accepted (dry run: nothing stored)' }),
    reply: Reply,
    stage: z.string().nullable().openapi({ description: 'The stage that refused: recipient, size, guard, authentication, parse, access, rate_limit; null when accepted' }),
    lineEndingsNormalised: z.boolean(),
  })
  .openapi('SimulateReport');

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$/;

function summary(i: Intent) {
  return { name: i.name, tenant: i.tenant, description: i.description, level: i.level, require: i.require, senders: i.senders, deny: i.deny, file: i.origin.file, version: i.origin.version };
}

function folderOf(t: Tenant): string {
  const i = t.origin.file.lastIndexOf('/');
  return i < 0 ? '' : t.origin.file.slice(0, i);
}

/** The report without the message's text: the caller sent it, and the response stays small. */
function reportJson(r: InboundReport, normalised: boolean) {
  const parsed = r.parsed === null ? null : { ...r.parsed, text: undefined, html: undefined, body: undefined };
  return { ...r, parsed, smtp: formatSmtpReply(r.reply), stage: r.refusedAt, lineEndingsNormalised: normalised };
}

/** Registers /v1/tenants, /v1/intents, /v1/intents/{name}, /v1/intents/validate and /v1/intents/simulate. */
export function registerIntents(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tenants',
      tags: ['intents'],
      summary: 'Tenants this token may see, as loaded (scope intents:read)',
      security: BEARER,
      middleware: [requireScope('intents:read')] as const,
      responses: { 200: { description: 'Tenants', content: { 'application/json': { schema: Tenants } } }, ...problemResponses() },
    }),
    (c) => {
      const p = principalOf(c);
      const items = [...deps.policy().tenants.values()]
        .filter((t) => canSee(p, t.name))
        .map((t) => ({ name: t.name, domains: t.domains, intents: [...t.intents.keys()].sort(), file: t.origin.file, version: t.origin.version }));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/intents',
      tags: ['intents'],
      summary: 'Intents of a tenant, as loaded (scope intents:read)',
      security: BEARER,
      middleware: [requireScope('intents:read')] as const,
      request: { query: z.object({ tenant: TenantQuery }) },
      responses: { 200: { description: 'Intents by name', content: { 'application/json': { schema: z.object({ items: z.array(IntentSummary) }) } } }, ...problemResponses(400, 404) },
    }),
    (c) => {
      const tenant = ctx.tenant(c, c.req.valid('query').tenant);
      const items = [...tenant.intents.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(summary);
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/intents/{name}',
      tags: ['intents'],
      summary: 'One intent as loaded, with its file, version and the run-time entries in force (scope intents:read)',
      security: BEARER,
      middleware: [requireScope('intents:read')] as const,
      request: { params: z.object({ name: z.string().min(1).max(100).openapi({ param: { name: 'name', in: 'path' }, example: 'task.linear' }) }), query: z.object({ tenant: TenantQuery }) },
      responses: { 200: { description: 'The intent', content: { 'application/json': { schema: IntentDetail } } }, ...problemResponses(400, 404) },
    }),
    async (c) => {
      const tenant = ctx.tenant(c, c.req.valid('query').tenant);
      const { name } = c.req.valid('param');
      const intent = tenant.intents.get(name.toLowerCase());
      if (!intent) throw problem('not_found', `Tenant ${tenant.name} has no intent ${name}`);
      const grants = await deps.admin.runtimeGrants(tenant.name, intent.name);
      return c.json(
        {
          ...summary(intent),
          limits: { perSender: intent.limits.perSender?.text ?? null, maxSize: intent.limits.maxSize ?? null },
          steps: JSON.parse(JSON.stringify(intent.steps)) as { kind: 'if' | 'action'; line: number }[],
          runtime: { allow: grants.allow, deny: grants.deny },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/intents/validate',
      tags: ['intents'],
      summary: 'Validate a proposed policy file in its tenant folder as it is now (scope intents:read); nothing is changed',
      description:
        'The body is the YAML text. It is checked together with the other files of the tenant folder (so a duplicate intent name, an unknown group or role is found) and the answer names each problem with line, column and field, like `intentmail policy validate`.',
      security: BEARER,
      middleware: [requireScope('intents:read'), ctx.limit(LIMITS.API_POLICY_BODY_BYTES, 'A policy file'), ctx.mediaType('application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain')] as const,
      request: {
        query: z.object({
          tenant: TenantQuery,
          file: z.string().regex(FILE_NAME).openapi({ description: 'File name in the tenant folder (`tenant.yaml` replaces the tenant file)', example: 'task.new.yaml' }),
        }),
        body: { content: { 'application/yaml': { schema: z.string().openapi({ example: 'intent: task.new\nsenders: ["@acme.example"]\nsteps:\n  - stop: {}\n' }) } }, required: true },
      },
      responses: { 200: { description: 'The validation result (problems are data, not an error)', content: { 'application/json': { schema: Validation } } }, ...problemResponses(400, 404, 413, 415) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(await c.req.arrayBuffer());
      } catch {
        throw problem('validation_failed', 'The policy file is not UTF-8 text', { errors: [{ in: 'body', path: '', message: 'not UTF-8' }] });
      }
      const folder = folderOf(tenant);
      const path = folder === '' ? q.file : `${folder}/${q.file}`;
      const inFolder = (f: PolicyFile) => f.path.startsWith(folder === '' ? '' : `${folder}/`) && !f.path.slice(folder === '' ? 0 : folder.length + 1).includes('/');
      const files = (await deps.policySource.list()).filter((f) => inFolder(f) && f.path !== path);
      const result = loadPolicies([...files, { path, text }], deps.policySource.location, deps.env);
      return c.json({ valid: result.problems.length === 0, file: path, problems: result.problems, warnings: result.warnings }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/intents/simulate',
      tags: ['intents'],
      summary: 'Simulate a raw message: the full decision, nothing stored, counted, audited or sent (scope intents:simulate)',
      description:
        'Runs every stage of the inbound pipeline (size, structure, SPF/DKIM/DMARC/ARC, access with the run-time entries, plan) on the message as `intentmail simulate` does. Rate limits are not evaluated. A recipient that no tenant visible to the token claims is refused at the recipient stage.',
      security: BEARER,
      middleware: [requireScope('intents:simulate'), ctx.limit(deps.maxMessageBytes, 'A message'), ctx.mediaType('message/rfc822', 'application/octet-stream')] as const,
      request: { query: EnvelopeQuery, body: RawMessageBody },
      responses: { 200: { description: 'The simulate report (accepted or not)', content: { 'application/json': { schema: SimulateReport } } }, ...problemResponses(400, 413, 415) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { raw, normalised } = await readRawMessage(c);
      const rcpt = resolveRecipients(deps.policy(), principalOf(c), recipientsOf(q), deps.maxMessageBytes, raw.byteLength);
      if (!rcpt.ok) {
        const reply = toSmtpReply(rcpt.error);
        return c.json({ accepted: false, smtp: formatSmtpReply(reply), reply, stage: 'recipient', reason: rcpt.error.message, recipient: rcpt.recipient, lineEndingsNormalised: normalised }, 200);
      }
      const report = await processMessage({ ...deps.pipeline, store: null }, envelopeOf(q), rcpt.target, raw, { dryRun: true });
      return c.json(reportJson(report, normalised), 200);
    },
  );
}
