/**
 * The admin API's run-time data on drizzle (PGlite or PostgreSQL): tokens, allow and deny
 * entries, role bindings, legal hold and crypto-erasure of messages, audit queries. Every
 * change commits in one transaction with its audit record (appended through the same chain
 * code as the inbound pipeline), after reading the row `FOR UPDATE` so "before" is exact.
 */
import { and, asc, desc, eq, gt, gte, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { RuntimeGrants } from '../access/access.ts';
import type { AuditEvent } from '../core/audit-event.ts';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { silentLogger, systemClock, type Clock } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import type {
  AccessEntry,
  AdminStore,
  AuditQuery,
  AuditRow,
  ChangeOutcome,
  MessageInfo,
  MessageQuery,
  RoleBinding,
  Scope,
  TokenRecord,
} from '../api/ports.ts';
import * as audit from './audit-repo.ts';
import type { AuditContext } from './audit-repo.ts';
import { openMigratedDriver, type Db, type Driver } from './driver.ts';
import { DrizzleStore } from './drizzle-store.ts';
import type { OpenStoreOptions } from './open.ts';
import { accessEntries, apiTokens, auditRecords, messages, roleBindings } from './schema/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant's run-time grants as read, kept briefly; expiry is checked on every lookup. */
interface CachedGrants {
  readAt: number;
  entries: AccessEntry[];
  bindings: RoleBinding[];
}

/** AdminStore over an open driver (shared with the DrizzleStore of the same database). */
export class DrizzleAdminStore implements AdminStore {
  readonly #db: Db;
  readonly #ctx: AuditContext;
  readonly #clock: Clock;
  readonly #grants = new Map<string, CachedGrants>();

  constructor(driver: Driver, ctx: AuditContext) {
    this.#db = driver.db;
    this.#ctx = ctx;
    this.#clock = ctx.clock;
  }

  /** Inserts the token row and its audit record together. */
  async createToken(token: TokenRecord, secretHash: string, event: AuditEvent): Promise<void> {
    await this.#tx('create token', async (tx) => {
      await tx.insert(apiTokens).values({ ...token, secretHash });
      await audit.appendInTx(tx, event, this.#ctx);
    });
  }

  /** The token and its stored hash, or null. */
  async findToken(id: string): Promise<{ token: TokenRecord; secretHash: string } | null> {
    return this.#guard('read token', async () => {
      const rows = await this.#db.select().from(apiTokens).where(eq(apiTokens.id, id));
      if (rows.length === 0) return null;
      const { secretHash, ...token } = rows[0];
      return { token: tokenOf(token), secretHash };
    });
  }

  /** Tokens of a tenant, of all tenants (null), or every token (undefined); oldest first. */
  async listTokens(tenant: string | null | undefined): Promise<TokenRecord[]> {
    return this.#guard('read tokens', async () => {
      const where = tenant === undefined ? undefined : tenant === null ? isNull(apiTokens.tenant) : eq(apiTokens.tenant, tenant);
      const rows = await this.#db
        .select({
          id: apiTokens.id,
          name: apiTokens.name,
          tenant: apiTokens.tenant,
          scopes: apiTokens.scopes,
          createdBy: apiTokens.createdBy,
          createdAt: apiTokens.createdAt,
          expiresAt: apiTokens.expiresAt,
          revokedAt: apiTokens.revokedAt,
        })
        .from(apiTokens)
        .where(where)
        .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id))
        .limit(LIMITS.API_GRANTS_PER_TENANT);
      return rows.map(tokenOf);
    });
  }

  /** Sets revoked_at (idempotent: a revoked token stays revoked at its first time, and nothing is audited again). */
  async revokeToken(id: string, at: Date, makeAudit: (before: TokenRecord) => AuditEvent): Promise<ChangeOutcome<TokenRecord>> {
    return this.#tx('revoke token', async (tx) => {
      const rows = await tx.select().from(apiTokens).where(eq(apiTokens.id, id)).for('update');
      if (rows.length === 0) return { status: 'missing' };
      const { secretHash: _hash, ...row } = rows[0];
      const before = tokenOf(row);
      if (before.revokedAt !== null) return { status: 'changed', before, after: before };
      await tx.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, id));
      await audit.appendInTx(tx, makeAudit(before), this.#ctx);
      return { status: 'changed', before, after: { ...before, revokedAt: at } };
    });
  }

  /** Inserts an allow or deny entry with its audit record and drops the tenant's cached grants. */
  async addEntry(entry: AccessEntry, event: AuditEvent): Promise<void> {
    await this.#tx('add entry', async (tx) => {
      await tx.insert(accessEntries).values(entry);
      await audit.appendInTx(tx, event, this.#ctx);
    });
    this.#grants.delete(entry.tenant);
  }

  /** One entry by id, or null. */
  async getEntry(id: string): Promise<AccessEntry | null> {
    if (!UUID.test(id)) return null;
    return this.#guard('read entry', async () => {
      const rows = await this.#db.select().from(accessEntries).where(eq(accessEntries.id, id));
      return rows[0] ?? null;
    });
  }

  /** A tenant's entries of one kind, optionally of one intent, oldest first. */
  async listEntries(tenant: string, kind: 'allow' | 'deny', intent?: string): Promise<AccessEntry[]> {
    return this.#guard('read entries', async () => {
      const filters = [eq(accessEntries.tenant, tenant), eq(accessEntries.kind, kind)];
      if (intent !== undefined) filters.push(eq(accessEntries.intent, intent));
      return this.#db
        .select()
        .from(accessEntries)
        .where(and(...filters))
        .orderBy(asc(accessEntries.createdAt), asc(accessEntries.id))
        .limit(LIMITS.API_GRANTS_PER_TENANT);
    });
  }

  /** Deletes an entry with its audit record. */
  async deleteEntry(id: string, makeAudit: (before: AccessEntry) => AuditEvent): Promise<ChangeOutcome<AccessEntry>> {
    if (!UUID.test(id)) return { status: 'missing' };
    const outcome = await this.#tx('delete entry', async (tx): Promise<ChangeOutcome<AccessEntry>> => {
      const rows = await tx.select().from(accessEntries).where(eq(accessEntries.id, id)).for('update');
      if (rows.length === 0) return { status: 'missing' };
      await tx.delete(accessEntries).where(eq(accessEntries.id, id));
      await audit.appendInTx(tx, makeAudit(rows[0]), this.#ctx);
      return { status: 'changed', before: rows[0], after: rows[0] };
    });
    if (outcome.status === 'changed') this.#grants.delete(outcome.before.tenant);
    return outcome;
  }

  /** Inserts a role binding with its audit record. */
  async addBinding(binding: RoleBinding, event: AuditEvent): Promise<void> {
    await this.#tx('add role binding', async (tx) => {
      await tx.insert(roleBindings).values(binding);
      await audit.appendInTx(tx, event, this.#ctx);
    });
    this.#grants.delete(binding.tenant);
  }

  /** One binding by id, or null. */
  async getBinding(id: string): Promise<RoleBinding | null> {
    if (!UUID.test(id)) return null;
    return this.#guard('read role binding', async () => {
      const rows = await this.#db.select().from(roleBindings).where(eq(roleBindings.id, id));
      return rows[0] ?? null;
    });
  }

  /** A tenant's bindings, oldest first. */
  async listBindings(tenant: string): Promise<RoleBinding[]> {
    return this.#guard('read role bindings', () =>
      this.#db.select().from(roleBindings).where(eq(roleBindings.tenant, tenant)).orderBy(asc(roleBindings.createdAt), asc(roleBindings.id)).limit(LIMITS.API_GRANTS_PER_TENANT),
    );
  }

  /** Deletes a binding with its audit record. */
  async deleteBinding(id: string, makeAudit: (before: RoleBinding) => AuditEvent): Promise<ChangeOutcome<RoleBinding>> {
    if (!UUID.test(id)) return { status: 'missing' };
    const outcome = await this.#tx('delete role binding', async (tx): Promise<ChangeOutcome<RoleBinding>> => {
      const rows = await tx.select().from(roleBindings).where(eq(roleBindings.id, id)).for('update');
      if (rows.length === 0) return { status: 'missing' };
      await tx.delete(roleBindings).where(eq(roleBindings.id, id));
      await audit.appendInTx(tx, makeAudit(rows[0]), this.#ctx);
      return { status: 'changed', before: rows[0], after: rows[0] };
    });
    if (outcome.status === 'changed') this.#grants.delete(outcome.before.tenant);
    return outcome;
  }

  /** Rows of one kind a tenant holds (expired ones count until deleted). */
  async countGrants(tenant: string, kind: 'allow' | 'deny' | 'role'): Promise<number> {
    return this.#guard('count grants', async () => {
      const rows =
        kind === 'role'
          ? await this.#db.select({ n: sql<number>`count(*)::int` }).from(roleBindings).where(eq(roleBindings.tenant, tenant))
          : await this.#db
              .select({ n: sql<number>`count(*)::int` })
              .from(accessEntries)
              .where(and(eq(accessEntries.tenant, tenant), eq(accessEntries.kind, kind)));
      return Number(rows[0]?.n ?? 0);
    });
  }

  /**
   * The grants in force now: read per tenant at most every GRANTS_CACHE_MS (other nodes'
   * writes show within that time; this node's writes drop the cache at once), filtered by
   * intent and by expiry on every call so an entry stops working the moment it expires.
   */
  async runtimeGrants(tenant: string, intent: string): Promise<RuntimeGrants> {
    const now = this.#clock.now().getTime();
    let cached = this.#grants.get(tenant);
    if (cached === undefined || now - cached.readAt >= LIMITS.GRANTS_CACHE_MS || now < cached.readAt) {
      const [entries, bindings] = await this.#guard('read grants', () =>
        Promise.all([
          this.#db
            .select()
            .from(accessEntries)
            .where(and(eq(accessEntries.tenant, tenant), or(isNull(accessEntries.expiresAt), gt(accessEntries.expiresAt, new Date(now)))))
            .orderBy(asc(accessEntries.createdAt), asc(accessEntries.id))
            .limit(LIMITS.API_GRANTS_PER_TENANT * 2),
          this.#db
            .select()
            .from(roleBindings)
            .where(and(eq(roleBindings.tenant, tenant), or(isNull(roleBindings.expiresAt), gt(roleBindings.expiresAt, new Date(now)))))
            .orderBy(asc(roleBindings.createdAt), asc(roleBindings.id))
            .limit(LIMITS.API_GRANTS_PER_TENANT),
        ]),
      );
      cached = { readAt: now, entries, bindings };
      this.#grants.set(tenant, cached);
    }
    const live = (expiresAt: Date | null) => expiresAt === null || expiresAt.getTime() > now;
    const forIntent = (kind: 'allow' | 'deny') => cached.entries.filter((e) => e.kind === kind && (e.intent === '*' || e.intent === intent) && live(e.expiresAt)).map((e) => e.sender);
    const roles: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    for (const b of cached.bindings) {
      if (!live(b.expiresAt)) continue;
      roles[b.member] = [...new Set([...(roles[b.member] ?? []), ...b.roles])];
    }
    return { allow: forIntent('allow'), deny: forIntent('deny'), roles };
  }

  /** Metadata of one message, or null. */
  async getMessageInfo(id: string): Promise<MessageInfo | null> {
    if (!UUID.test(id)) return null;
    return this.#guard('read message', async () => {
      const rows = await this.#db.select(MESSAGE_COLUMNS).from(messages).where(eq(messages.id, id));
      return rows[0] ?? null;
    });
  }

  /** A page of a tenant's messages, newest first. */
  async listMessages(q: MessageQuery): Promise<MessageInfo[]> {
    return this.#guard('read messages', () => {
      const filters: SQL[] = [eq(messages.tenant, q.tenant)];
      if (q.intent !== undefined) filters.push(eq(messages.intent, q.intent));
      if (q.sender !== undefined) filters.push(sql`lower(${messages.headerFrom}) = ${q.sender.toLowerCase()}`);
      if (q.status !== undefined) filters.push(eq(messages.status, q.status));
      if (q.since !== undefined) filters.push(gte(messages.receivedAt, q.since));
      if (q.until !== undefined) filters.push(lt(messages.receivedAt, q.until));
      if (q.before !== undefined) {
        const b = q.before;
        filters.push(or(lt(messages.receivedAt, b.receivedAt), and(eq(messages.receivedAt, b.receivedAt), lt(messages.id, b.id)))!);
      }
      return this.#db
        .select(MESSAGE_COLUMNS)
        .from(messages)
        .where(and(...filters))
        .orderBy(desc(messages.receivedAt), desc(messages.id))
        .limit(q.limit);
    });
  }

  /** Sets or clears the legal hold; refused on an erased message (nothing left to hold). */
  async setLegalHold(id: string, hold: boolean, makeAudit: (before: MessageInfo, after: MessageInfo) => AuditEvent): Promise<ChangeOutcome<MessageInfo>> {
    if (!UUID.test(id)) return { status: 'missing' };
    return this.#tx('legal hold', async (tx): Promise<ChangeOutcome<MessageInfo>> => {
      const rows = await tx.select(MESSAGE_COLUMNS).from(messages).where(eq(messages.id, id)).for('update');
      if (rows.length === 0) return { status: 'missing' };
      const before = rows[0];
      if (before.erasedAt !== null) return { status: 'refused', before, reason: 'erased' };
      const after = { ...before, legalHold: hold };
      if (before.legalHold === hold) return { status: 'changed', before, after };
      await tx.update(messages).set({ legalHold: hold }).where(eq(messages.id, id));
      await audit.appendInTx(tx, makeAudit(before, after), this.#ctx);
      return { status: 'changed', before, after };
    });
  }

  /** Destroys the message's data key (crypto-erasure) unless it is on legal hold; both outcomes are audited. */
  async eraseMessage(id: string, at: Date, makeAudit: (before: MessageInfo, after: MessageInfo | null) => AuditEvent): Promise<ChangeOutcome<MessageInfo>> {
    if (!UUID.test(id)) return { status: 'missing' };
    return this.#tx('erase message', async (tx): Promise<ChangeOutcome<MessageInfo>> => {
      const rows = await tx.select(MESSAGE_COLUMNS).from(messages).where(eq(messages.id, id)).for('update');
      if (rows.length === 0) return { status: 'missing' };
      const before = rows[0];
      if (before.erasedAt !== null) return { status: 'refused', before, reason: 'erased' };
      if (before.legalHold) {
        await audit.appendInTx(tx, makeAudit(before, null), this.#ctx);
        return { status: 'refused', before, reason: 'legal_hold' };
      }
      const after: MessageInfo = { ...before, erasedAt: at, status: 'erased' };
      await tx.update(messages).set({ wrappedKey: null, erasedAt: at, status: 'erased' }).where(eq(messages.id, id));
      await audit.appendInTx(tx, makeAudit(before, after), this.#ctx);
      return { status: 'changed', before, after };
    });
  }

  /** Audit records matching the filters, in seq order after `afterSeq`. */
  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    return this.#guard('read audit', () => {
      const filters: SQL[] = [eq(auditRecords.tenant, q.tenant), gt(auditRecords.seq, q.afterSeq)];
      if (q.since !== undefined) filters.push(gte(auditRecords.createdAt, q.since));
      if (q.until !== undefined) filters.push(lte(auditRecords.createdAt, q.until));
      if (q.actor !== undefined) filters.push(sql`lower(${auditRecords.actorEmail}) = ${q.actor.toLowerCase()}`);
      if (q.intent !== undefined) filters.push(eq(auditRecords.intent, q.intent));
      if (q.result !== undefined) filters.push(eq(auditRecords.resultStatus, q.result));
      if (q.type !== undefined) filters.push(eq(auditRecords.eventType, q.type));
      return this.#db
        .select({
          tenant: auditRecords.tenant,
          seq: auditRecords.seq,
          prevHash: auditRecords.prevHash,
          hash: auditRecords.hash,
          createdAt: auditRecords.createdAt,
          body: auditRecords.body,
        })
        .from(auditRecords)
        .where(and(...filters))
        .orderBy(asc(auditRecords.seq))
        .limit(q.limit);
    });
  }

  async #tx<T>(what: string, work: (tx: Db) => Promise<T>): Promise<T> {
    return this.#guard(what, () => this.#db.transaction((tx) => work(tx as unknown as Db)));
  }

  async #guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (cause) {
      if (cause instanceof IntentmailError) throw cause;
      throw new IntentmailError('storage_unavailable', `storage unavailable (${what})`, { cause });
    }
  }
}

/** The message columns the admin API shows (never the ciphertext or the wrapped key). */
const MESSAGE_COLUMNS = {
  id: messages.id,
  tenant: messages.tenant,
  intent: messages.intent,
  recipient: messages.recipient,
  headerFrom: messages.headerFrom,
  envelopeFrom: messages.envelopeFrom,
  senderVerified: messages.senderVerified,
  size: messages.size,
  sha256: messages.sha256,
  receivedAt: messages.receivedAt,
  status: messages.status,
  legalHold: messages.legalHold,
  erasedAt: messages.erasedAt,
  policyFile: messages.policyFile,
  policyVersion: messages.policyVersion,
};

function tokenOf(row: Omit<typeof apiTokens.$inferSelect, 'secretHash'>): TokenRecord {
  return { ...row, scopes: row.scopes as Scope[] };
}

/** The Store and the AdminStore over one database, as openStore opens it (migrations applied). */
export async function openStoreWithAdmin(opts: OpenStoreOptions): Promise<{ store: Store; admin: AdminStore }> {
  const location = { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir };
  const logger = opts.logger ?? silentLogger;
  const driver = await openMigratedDriver(location, logger);
  const ctx: AuditContext = {
    signer: opts.signer,
    clock: opts.clock ?? systemClock,
    checkpointEvery: opts.checkpointEvery ?? LIMITS.AUDIT_CHECKPOINT_EVERY,
    checkpointMaxAgeMs: opts.checkpointMaxAgeMs ?? LIMITS.AUDIT_CHECKPOINT_MAX_AGE_MS,
    logger,
  };
  return { store: new DrizzleStore(driver, ctx), admin: new DrizzleAdminStore(driver, ctx) };
}
