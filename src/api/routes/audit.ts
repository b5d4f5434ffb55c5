/**
 * The audit trail over HTTP: query a tenant's chain by time, actor (sender or token), intent,
 * result and type; verify it (hashes, links, signed checkpoints, as `intentmail audit verify`);
 * export it as JSON lines for a SIEM, streamed page by page so a chain of millions of records
 * never sits in memory.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { verifyAudit } from '../../audit/verify.ts';
import { LIMITS } from '../../core/limits.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { requireScope } from '../auth.ts';
import type { AuditQuery, AuditRow } from '../ports.ts';
import { BEARER, LimitQuery, Rfc3339, TenantQuery, Timestamp, problemResponses } from '../schemas.ts';

const Filters = {
  tenant: TenantQuery,
  since: Rfc3339.optional().openapi({ description: 'Records at or after this time' }),
  until: Rfc3339.optional().openapi({ description: 'Records at or before this time' }),
  sender: z.string().min(1).max(330).optional().openapi({ description: 'The actor: a sender address, or `token:<id>` for API changes (case-insensitive)', example: 'alice@acme.example' }),
  intent: z.string().min(1).max(100).optional(),
  result: z.string().min(1).max(40).optional().openapi({ description: 'result.status: `accepted`, `refused`, `ok`', example: 'refused' }),
  type: z.string().min(1).max(100).optional().openapi({ description: 'action.type, e.g. `inbound.accepted`, `api.allowlist.create`' }),
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'Only records after this seq (the `next` of the previous page)' }),
};

const AuditRecordSchema = z
  .object({
    tenant: z.string(),
    seq: z.number().int(),
    createdAt: Timestamp,
    hash: z.string(),
    prevHash: z.string(),
    event: z.looseObject({ eventId: z.string(), timestamp: z.string(), action: z.looseObject({ type: z.string() }) }).openapi({ description: 'The audit event (its canonical JSON is what the hash covers)' }),
  })
  .openapi('AuditRecord');

const VerifyReport = z
  .object({
    ok: z.boolean(),
    tenants: z.array(z.object({ tenant: z.string(), records: z.number().int(), checkpoints: z.number().int(), lastCheckpointSeq: z.number().int(), unsignedTail: z.number().int() })),
    firstBad: z.object({ tenant: z.string(), seq: z.number().int(), reason: z.string() }).nullable(),
  })
  .openapi('AuditVerifyReport');

function recordJson(r: AuditRow) {
  return { tenant: r.tenant, seq: r.seq, createdAt: r.createdAt.toISOString(), hash: r.hash, prevHash: r.prevHash, event: JSON.parse(r.body) as { eventId: string; timestamp: string; action: { type: string } } };
}

type FilterInput = { [K in keyof typeof Filters]?: z.output<(typeof Filters)[K]> };

function queryOf(tenant: string, q: FilterInput, limit: number): AuditQuery {
  return {
    tenant,
    since: q.since === undefined ? undefined : new Date(q.since),
    until: q.until === undefined ? undefined : new Date(q.until),
    actor: q.sender,
    intent: q.intent,
    result: q.result,
    type: q.type,
    afterSeq: q.after ?? 0,
    limit,
  };
}

/** Registers /v1/audit, /v1/audit/verify and /v1/audit/export. */
export function registerAudit(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      tags: ['audit'],
      summary: 'Query a tenant\'s audit records in chain order (scope audit:read)',
      security: BEARER,
      middleware: [requireScope('audit:read')] as const,
      request: { query: z.object({ ...Filters, limit: LimitQuery }) },
      responses: {
        200: { description: 'A page of records', content: { 'application/json': { schema: z.object({ items: z.array(AuditRecordSchema), next: z.number().int().nullable().openapi({ description: 'Pass as `after` for the next page' }) }) } } },
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      const limit = q.limit ?? LIMITS.API_PAGE_DEFAULT;
      const rows = await deps.admin.queryAudit(queryOf(tenant.name, q, limit));
      return c.json({ items: rows.map(recordJson), next: rows.length === limit ? rows[rows.length - 1].seq : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit/verify',
      tags: ['audit'],
      summary: 'Verify a tenant\'s chain and its signed checkpoints (scope audit:read)',
      description: '200 with `ok: false` and `firstBad` when the chain does not verify (the answer is the report either way).',
      security: BEARER,
      middleware: [requireScope('audit:read')] as const,
      request: { query: z.object({ tenant: TenantQuery }) },
      responses: { 200: { description: 'The verification report', content: { 'application/json': { schema: VerifyReport } } }, ...problemResponses(400, 404) },
    }),
    async (c) => {
      const tenant = ctx.tenant(c, c.req.valid('query').tenant);
      const report = await verifyAudit(deps.store, deps.verifier, { tenant: tenant.name });
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit/export',
      tags: ['audit'],
      summary: 'Export matching audit records as JSON lines, streamed (scope audit:read)',
      description: 'One record per line (`application/x-ndjson`), in chain order, with the same fields as GET /v1/audit; for a SIEM. The filters are those of GET /v1/audit.',
      security: BEARER,
      middleware: [requireScope('audit:read')] as const,
      request: { query: z.object(Filters) },
      responses: {
        200: { description: 'JSON lines', content: { 'application/x-ndjson': { schema: z.string().openapi({ description: 'One AuditRecord as JSON per line' }) } } },
        ...problemResponses(400, 404),
      },
    }),
    (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      const encoder = new TextEncoder();
      let after = q.after ?? 0;
      let done = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (done) return;
          try {
            const rows = await deps.admin.queryAudit({ ...queryOf(tenant.name, q, LIMITS.API_EXPORT_PAGE), afterSeq: after });
            if (rows.length > 0) {
              after = rows[rows.length - 1].seq;
              controller.enqueue(encoder.encode(rows.map((r) => `${JSON.stringify(recordJson(r))}\n`).join('')));
            }
            if (rows.length < LIMITS.API_EXPORT_PAGE) {
              done = true;
              controller.close();
            }
          } catch (err) {
            // Headers are already sent: end the stream with an error so the client sees a broken transfer, not a short export.
            deps.logger.error('audit export failed', { tenant: tenant.name, error: err instanceof Error ? err.message : String(err) });
            done = true;
            controller.error(err);
          }
        },
      });
      const res = c.body(stream, 200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'content-disposition': `attachment; filename="audit-${tenant.name}.jsonl"` });
      // @hono/zod-openapi types every `application/…json` media type as a JSON body; JSON lines is not one, so the typed-response check cannot apply.
      return res as never;
    },
  );
}
