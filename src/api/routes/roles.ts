/**
 * Run-time role bindings (/v1/roles): member → roles, adding to tenant.yaml `members`. The
 * roles themselves (what a role may do per intent pattern) stay in git; a binding can only
 * name roles tenant.yaml defines. Bindings apply to the next message, like allowlist entries.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { LIMITS } from '../../core/limits.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { canSee, principalOf, requireScope } from '../auth.ts';
import type { RoleBinding } from '../ports.ts';
import { problem } from '../problems.ts';
import { Address, BEARER, IdParam, Note, Rfc3339, TenantQuery, Timestamp, iso, problemResponses } from '../schemas.ts';
import { checkExpiry, checkMember, checkRoles } from '../validate.ts';

const Binding = z
  .object({
    id: z.uuid(),
    tenant: z.string(),
    member: z.string().openapi({ example: 'dave@acme.example' }),
    roles: z.array(z.string()).openapi({ example: ['developer'] }),
    note: z.string().nullable(),
    expiresAt: Timestamp.nullable(),
    active: z.boolean(),
    createdAt: Timestamp,
    createdBy: z.string(),
  })
  .openapi('RoleBinding');

const NewBinding = z
  .strictObject({
    tenant: TenantQuery,
    member: Address.openapi({ description: 'Address, `@domain` or `group:NAME` (the forms of tenant.yaml `members`)', example: 'dave@acme.example' }),
    roles: z.array(z.string().min(1).max(64)).min(1).max(LIMITS.API_ROLES_PER_BINDING).openapi({ description: 'Role names defined in tenant.yaml', example: ['developer'] }),
    note: Note.optional(),
    expiresAt: Rfc3339.optional(),
  })
  .openapi('NewRoleBinding');

function bindingJson(b: RoleBinding, now: Date) {
  return {
    id: b.id,
    tenant: b.tenant,
    member: b.member,
    roles: b.roles,
    note: b.note,
    expiresAt: iso(b.expiresAt),
    active: b.expiresAt === null || b.expiresAt.getTime() > now.getTime(),
    createdAt: b.createdAt.toISOString(),
    createdBy: b.createdBy,
  };
}

/** Registers create, list (with the tenant.yaml members for context), show and delete of role bindings. */
export function registerRoles(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/roles',
      tags: ['roles'],
      summary: 'Bind a member to roles of tenant.yaml (scope roles:write)',
      security: BEARER,
      middleware: [requireScope('roles:write'), ctx.jsonLimit] as const,
      request: { body: { content: { 'application/json': { schema: NewBinding } }, required: true } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: Binding } } }, ...problemResponses(400, 404, 409, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const tenant = ctx.tenant(c, body.tenant);
      const now = deps.clock.now();
      const member = checkMember(tenant, body.member);
      const roles = checkRoles(tenant, body.roles);
      const expiresAt = checkExpiry(body.expiresAt, now);
      if ((await deps.admin.countGrants(tenant.name, 'role')) >= LIMITS.API_GRANTS_PER_TENANT) {
        throw problem('conflict', `Tenant ${tenant.name} has ${LIMITS.API_GRANTS_PER_TENANT} role bindings, the most it may hold; delete some first`);
      }
      const binding: RoleBinding = { id: randomUUID(), tenant: tenant.name, member, roles, note: body.note ?? null, expiresAt, createdBy: `token:${principalOf(c).tokenId}`, createdAt: now };
      await deps.admin.addBinding(binding, ctx.event(c, { tenant: tenant.name, type: 'api.roles.create', target: binding.id, before: null, after: bindingJson(binding, now), scope: 'roles:write' }));
      return c.json(bindingJson(binding, now), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/roles',
      tags: ['roles'],
      summary: 'List run-time role bindings, with the members of tenant.yaml (scope roles:read)',
      security: BEARER,
      middleware: [requireScope('roles:read')] as const,
      request: { query: z.object({ tenant: TenantQuery, includeExpired: z.enum(['true', 'false']).optional() }) },
      responses: {
        200: {
          description: 'Run-time bindings (oldest first) and the bindings from tenant.yaml',
          content: {
            'application/json': {
              schema: z.object({
                items: z.array(Binding),
                policy: z.object({ file: z.string(), version: z.string(), members: z.record(z.string(), z.array(z.string())), roles: z.array(z.string()) }),
              }),
            },
          },
        },
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      const now = deps.clock.now();
      const items = (await deps.admin.listBindings(tenant.name)).map((b) => bindingJson(b, now)).filter((b) => q.includeExpired === 'true' || b.active);
      return c.json({ items, policy: { file: tenant.origin.file, version: tenant.origin.version, members: tenant.members, roles: Object.keys(tenant.roles) } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/roles/{id}',
      tags: ['roles'],
      summary: 'Show one role binding (scope roles:read)',
      security: BEARER,
      middleware: [requireScope('roles:read')] as const,
      request: { params: IdParam },
      responses: { 200: { description: 'The binding', content: { 'application/json': { schema: Binding } } }, ...problemResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = await deps.admin.getBinding(id);
      if (!b || !canSee(principalOf(c), b.tenant)) throw problem('not_found', `No role binding ${id}`);
      return c.json(bindingJson(b, deps.clock.now()), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/roles/{id}',
      tags: ['roles'],
      summary: 'Remove a role binding (scope roles:write)',
      security: BEARER,
      middleware: [requireScope('roles:write')] as const,
      request: { params: IdParam },
      responses: { 204: { description: 'Removed' }, ...problemResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const found = await deps.admin.getBinding(id);
      if (!found || !canSee(principalOf(c), found.tenant)) throw problem('not_found', `No role binding ${id}`);
      const now = deps.clock.now();
      const outcome = await deps.admin.deleteBinding(id, (before) =>
        ctx.event(c, { tenant: before.tenant, type: 'api.roles.delete', target: before.id, before: bindingJson(before, now), after: null, scope: 'roles:write' }),
      );
      if (outcome.status !== 'changed') throw problem('not_found', `No role binding ${id}`);
      return c.body(null, 204);
    },
  );
}
