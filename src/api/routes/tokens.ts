/**
 * API tokens: create (the token text is in this one response only), list, revoke. A token can
 * only create tokens with a subset of its own scopes, for its own tenant (an all-tenant token
 * for any tenant, or another all-tenant token): nobody mints more power than they hold.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp, RouteContext } from '../app.ts';
import { BOOTSTRAP_ID, canSee, newToken, principalOf, requireScope, tokenUsable } from '../auth.ts';
import type { TokenRecord } from '../ports.ts';
import { problem } from '../problems.ts';
import { BEARER, IdParam, Note, Rfc3339, ScopeSchema, Timestamp, iso, problemResponses } from '../schemas.ts';
import { checkExpiry, fieldError } from '../validate.ts';

const Token = z
  .object({
    id: z.string().openapi({ example: '3f9a1c0d5e7b2a48' }),
    name: z.string(),
    tenant: z.string().nullable().openapi({ description: 'null: every tenant' }),
    scopes: z.array(ScopeSchema),
    createdAt: Timestamp,
    createdBy: z.string(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    active: z.boolean(),
  })
  .openapi('Token');

const CreatedToken = Token.extend({
  token: z.string().openapi({ description: 'The bearer token. Shown only in this response: store it now.', example: 'im_3f9a1c0d5e7b2a48_…' }),
}).openapi('CreatedToken');

const NewToken = z
  .strictObject({
    name: Note.min(1).openapi({ example: 'helpdesk allowlist manager' }),
    tenant: z.string().min(1).max(100).nullable().optional().openapi({ description: 'The tenant the token is bound to; null for every tenant (only an all-tenant token may create one). A tenant-bound caller may omit it.' }),
    scopes: z.array(ScopeSchema).min(1).openapi({ example: ['allowlist:read', 'allowlist:write'] }),
    expiresAt: Rfc3339.optional(),
  })
  .openapi('NewToken');

function tokenJson(t: TokenRecord, now: Date) {
  return {
    id: t.id,
    name: t.name,
    tenant: t.tenant,
    scopes: t.scopes,
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    active: tokenUsable(t, now),
  };
}

/** Registers POST/GET /v1/tokens and DELETE /v1/tokens/{id}. */
export function registerTokens(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tokens',
      tags: ['tokens'],
      summary: 'Create an API token (scope tokens:write); the token text is returned once',
      security: BEARER,
      middleware: [requireScope('tokens:write'), ctx.jsonLimit] as const,
      request: { body: { content: { 'application/json': { schema: NewToken } }, required: true } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: CreatedToken } } }, ...problemResponses(400, 404, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const p = principalOf(c);
      const now = deps.clock.now();
      let tenant: string | null;
      if (body.tenant === null) {
        if (p.tenant !== null) throw problem('forbidden', 'Only a token for every tenant may create one for every tenant');
        tenant = null;
      } else if (body.tenant === undefined) {
        if (p.tenant === null) throw fieldError('tenant', 'required for a token that is not bound to one tenant: a tenant name, or null for every tenant');
        tenant = p.tenant;
      } else {
        tenant = ctx.tenant(c, body.tenant).name;
      }
      const missing = body.scopes.filter((s) => !p.scopes.has(s));
      if (missing.length > 0) throw problem('forbidden', `A token cannot grant scopes it does not hold: ${missing.join(', ')}`, { missingScopes: missing });
      const made = newToken();
      const record: TokenRecord = { id: made.id, name: body.name, tenant, scopes: [...new Set(body.scopes)], createdBy: `token:${p.tokenId}`, createdAt: now, expiresAt: checkExpiry(body.expiresAt, now), revokedAt: null };
      await deps.admin.createToken(record, made.secretHash, ctx.event(c, { tenant, type: 'api.token.create', target: record.id, before: null, after: tokenJson(record, now), scope: 'tokens:write' }));
      return c.json({ ...tokenJson(record, now), token: made.token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tokens',
      tags: ['tokens'],
      summary: 'List tokens (scope tokens:read): a tenant-bound token sees its tenant\'s; an all-tenant token all, or one tenant\'s with ?tenant=',
      security: BEARER,
      middleware: [requireScope('tokens:read')] as const,
      request: { query: z.object({ tenant: z.string().min(1).max(100).optional() }) },
      responses: { 200: { description: 'Tokens, oldest first (never their secrets)', content: { 'application/json': { schema: z.object({ items: z.array(Token) }) } } }, ...problemResponses(400, 404) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const p = principalOf(c);
      const scope = p.tenant !== null || q.tenant !== undefined ? ctx.tenant(c, q.tenant).name : undefined;
      const now = deps.clock.now();
      return c.json({ items: (await deps.admin.listTokens(scope)).map((t) => tokenJson(t, now)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tokens/{id}',
      tags: ['tokens'],
      summary: 'Revoke a token (scope tokens:write); it stops working at once',
      security: BEARER,
      middleware: [requireScope('tokens:write')] as const,
      request: { params: IdParam },
      responses: { 204: { description: 'Revoked' }, ...problemResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const p = principalOf(c);
      const found = id === BOOTSTRAP_ID ? null : await deps.admin.findToken(id);
      // A tenant-bound caller sees neither other tenants' tokens nor the all-tenant ones.
      if (!found || (p.tenant !== null && (found.token.tenant === null || !canSee(p, found.token.tenant)))) throw problem('not_found', `No token ${id}`);
      const now = deps.clock.now();
      const outcome = await deps.admin.revokeToken(id, now, (before) =>
        ctx.event(c, { tenant: before.tenant, type: 'api.token.revoke', target: id, before: tokenJson(before, now), after: { ...tokenJson(before, now), revokedAt: now.toISOString(), active: false }, scope: 'tokens:write' }),
      );
      if (outcome.status !== 'changed') throw problem('not_found', `No token ${id}`);
      return c.body(null, 204);
    },
  );
}
