/**
 * Run-time allowlist entries (/v1/allowlist, the shape of ../shared/spec/interface.md) and
 * explicit deny entries (/v1/deny): per intent or for every intent (`*`), optional note and
 * expiry. They apply to the next message without a restart (the pipeline reads them through
 * AdminStore.runtimeGrants) and stop applying the moment they expire.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { LIMITS } from '../../core/limits.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { canSee, principalOf, requireScope } from '../auth.ts';
import type { AccessEntry } from '../ports.ts';
import { problem } from '../problems.ts';
import { Address, BEARER, IdParam, Note, Rfc3339, TenantQuery, Timestamp, iso, problemResponses } from '../schemas.ts';
import { checkExpiry, checkIntent, checkSenderEntry } from '../validate.ts';

interface Kind {
  kind: 'allow' | 'deny';
  path: '/v1/allowlist' | '/v1/deny';
  resource: 'allowlist' | 'deny';
  schema: string;
  read: 'allowlist:read' | 'deny:read';
  write: 'allowlist:write' | 'deny:write';
  senderText: string;
}

const KINDS: Record<'allow' | 'deny', Kind> = {
  allow: {
    kind: 'allow',
    path: '/v1/allowlist',
    resource: 'allowlist',
    schema: 'AllowlistEntry',
    read: 'allowlist:read',
    write: 'allowlist:write',
    senderText: 'Address, `@domain`, `group:NAME` or `role:NAME` of the tenant. Only a DMARC-verified sender matches (a `*` entry belongs in git).',
  },
  deny: {
    kind: 'deny',
    path: '/v1/deny',
    resource: 'deny',
    schema: 'DenyEntry',
    read: 'deny:read',
    write: 'deny:write',
    senderText: 'Address, `@domain`, `group:NAME`, `role:NAME`, or `*` (everyone). Deny wins over every allow, verified or not.',
  },
};

/** The entry as the API shows it; `active` is false once it expired. */
function entryJson(e: AccessEntry, now: Date) {
  return {
    id: e.id,
    tenant: e.tenant,
    intent: e.intent,
    sender: e.sender,
    note: e.note,
    expiresAt: iso(e.expiresAt),
    active: e.expiresAt === null || e.expiresAt.getTime() > now.getTime(),
    createdAt: e.createdAt.toISOString(),
    createdBy: e.createdBy,
  };
}

/** Registers create, list, show and delete for allow (`/v1/allowlist`) or deny (`/v1/deny`) entries. */
export function registerEntries(app: ApiApp, ctx: RouteContext, which: 'allow' | 'deny'): void {
  const k = KINDS[which];
  const { deps } = ctx;
  const Entry = z
    .object({
      id: z.uuid(),
      tenant: z.string(),
      intent: z.string().openapi({ example: 'task.linear' }),
      sender: z.string().openapi({ example: 'alice@x.example' }),
      note: z.string().nullable(),
      expiresAt: Timestamp.nullable(),
      active: z.boolean().openapi({ description: 'false once expiresAt has passed (the entry no longer applies)' }),
      createdAt: Timestamp,
      createdBy: z.string().openapi({ description: 'The token that created it: `token:<id>`', example: 'token:bootstrap' }),
    })
    .openapi(k.schema);
  const NewEntry = z
    .strictObject({
      tenant: TenantQuery,
      intent: z.string().min(1).max(100).openapi({ description: 'An intent of the tenant, or `*` for all its intents', example: 'task.linear' }),
      sender: Address.openapi({ description: k.senderText, example: 'alice@x.example' }),
      note: Note.optional(),
      expiresAt: Rfc3339.optional().openapi({ description: 'RFC 3339; the entry stops applying at this time' }),
    })
    .openapi(`New${k.schema}`);
  const tag = k.resource;

  app.openapi(
    createRoute({
      method: 'post',
      path: k.path,
      tags: [tag],
      summary: `Add a ${k.kind} entry (scope ${k.write})`,
      security: BEARER,
      middleware: [requireScope(k.write), ctx.jsonLimit] as const,
      request: { body: { content: { 'application/json': { schema: NewEntry } }, required: true } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: Entry } } }, ...problemResponses(400, 404, 409, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const tenant = ctx.tenant(c, body.tenant);
      const now = deps.clock.now();
      const intent = checkIntent(tenant, body.intent);
      const sender = checkSenderEntry(tenant, body.sender, k.kind);
      const expiresAt = checkExpiry(body.expiresAt, now);
      const existing = await deps.admin.listEntries(tenant.name, k.kind, intent);
      const same = existing.find((e) => e.sender.toLowerCase() === sender.toLowerCase() && (e.expiresAt === null || e.expiresAt > now));
      if (same) throw problem('conflict', `An active ${k.kind} entry for ${sender} on ${intent} exists already`, { existingId: same.id });
      if ((await deps.admin.countGrants(tenant.name, k.kind)) >= LIMITS.API_GRANTS_PER_TENANT) {
        throw problem('conflict', `Tenant ${tenant.name} has ${LIMITS.API_GRANTS_PER_TENANT} ${k.kind} entries, the most it may hold; delete some first`);
      }
      const entry: AccessEntry = { id: randomUUID(), tenant: tenant.name, kind: k.kind, intent, sender, note: body.note ?? null, expiresAt, createdBy: `token:${principalOf(c).tokenId}`, createdAt: now };
      await deps.admin.addEntry(entry, ctx.event(c, { tenant: tenant.name, type: `api.${k.resource}.create`, target: entry.id, intent: intent === '*' ? null : intent, before: null, after: entryJson(entry, now), scope: k.write }));
      return c.json(entryJson(entry, now), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: k.path,
      tags: [tag],
      summary: `List ${k.kind} entries of a tenant (scope ${k.read})`,
      security: BEARER,
      middleware: [requireScope(k.read)] as const,
      request: {
        query: z.object({
          tenant: TenantQuery,
          intent: z.string().min(1).max(100).optional().openapi({ description: 'Only entries of this intent (`*`: only the all-intent entries)' }),
          includeExpired: z.enum(['true', 'false']).optional().openapi({ description: 'Also list entries past their expiry (default false)' }),
        }),
      },
      responses: { 200: { description: 'The entries, oldest first', content: { 'application/json': { schema: z.object({ items: z.array(Entry) }) } } }, ...problemResponses(400, 404) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      const now = deps.clock.now();
      const intent = q.intent === undefined ? undefined : q.intent.trim().toLowerCase();
      const rows = await deps.admin.listEntries(tenant.name, k.kind, intent);
      const items = rows.map((e) => entryJson(e, now)).filter((e) => q.includeExpired === 'true' || e.active);
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${k.path}/{id}`,
      tags: [tag],
      summary: `Show one ${k.kind} entry (scope ${k.read})`,
      security: BEARER,
      middleware: [requireScope(k.read)] as const,
      request: { params: IdParam },
      responses: { 200: { description: 'The entry', content: { 'application/json': { schema: Entry } } }, ...problemResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const entry = await deps.admin.getEntry(id);
      if (!entry || entry.kind !== k.kind || !canSee(principalOf(c), entry.tenant)) throw problem('not_found', `No ${k.resource} entry ${id}`);
      return c.json(entryJson(entry, deps.clock.now()), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${k.path}/{id}`,
      tags: [tag],
      summary: `Remove a ${k.kind} entry (scope ${k.write})`,
      security: BEARER,
      middleware: [requireScope(k.write)] as const,
      request: { params: IdParam },
      responses: { 204: { description: 'Removed' }, ...problemResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const found = await deps.admin.getEntry(id);
      if (!found || found.kind !== k.kind || !canSee(principalOf(c), found.tenant)) throw problem('not_found', `No ${k.resource} entry ${id}`);
      const now = deps.clock.now();
      const outcome = await deps.admin.deleteEntry(id, (before) =>
        ctx.event(c, { tenant: before.tenant, type: `api.${k.resource}.delete`, target: before.id, intent: before.intent === '*' ? null : before.intent, before: entryJson(before, now), after: null, scope: k.write }),
      );
      if (outcome.status !== 'changed') throw problem('not_found', `No ${k.resource} entry ${id}`);
      return c.body(null, 204);
    },
  );
}
