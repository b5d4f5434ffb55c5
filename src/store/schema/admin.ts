/**
 * Run-time data the admin API manages around the policies in git: API tokens, allowlist and
 * deny entries, and role bindings. Policies stay the source of truth for intents and steps;
 * these rows only add to them (src/access/access.ts, RuntimeGrants).
 */
import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Bearer tokens `im_<id>_<secret>`: only the SHA-256 of the secret is stored (the token is
 * shown once). `tenant` NULL means all tenants. Revocation keeps the row for the audit trail.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    tenant: text('tenant'),
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    secretHash: text('secret_hash').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_tokens_tenant_idx').on(t.tenant)],
);

/**
 * Allow (`kind = 'allow'`) and explicit deny (`kind = 'deny'`) entries per intent or for all
 * intents (`intent = '*'`), in the forms of an intent's `senders` list. An entry past
 * `expires_at` no longer applies; it stays listed until deleted.
 */
export const accessEntries = pgTable(
  'access_entries',
  {
    id: uuid('id').primaryKey(),
    tenant: text('tenant').notNull(),
    kind: text('kind').$type<'allow' | 'deny'>().notNull(),
    intent: text('intent').notNull(),
    sender: text('sender').notNull(),
    note: text('note'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('access_entries_tenant_kind_idx').on(t.tenant, t.kind)],
);

/** Role bindings added at run time: member (address, `@domain`, `group:NAME`) → role names of tenant.yaml. */
export const roleBindings = pgTable(
  'role_bindings',
  {
    id: uuid('id').primaryKey(),
    tenant: text('tenant').notNull(),
    member: text('member').notNull(),
    roles: jsonb('roles').$type<string[]>().notNull(),
    note: text('note'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('role_bindings_tenant_idx').on(t.tenant)],
);
