/**
 * The Store port on drizzle-orm, identical on PGlite and a PostgreSQL server. Driver failures
 * become IntentmailError('storage_unavailable') (a 451, so the sender retries: nothing is lost).
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { AuditCheckpoint, AuditEvent, AuditRecord } from '../core/audit-event.ts';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { NewJob, NewMessage, Store, StoredJob, StoredMessage } from '../core/store-port.ts';
import * as audit from './audit-repo.ts';
import type { AuditContext } from './audit-repo.ts';
import type { Db, Driver } from './driver.ts';
import { jobs, messages, rateCounters } from './schema/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Store over an open driver; `close()` closes the driver. */
export class DrizzleStore implements Store {
  readonly #driver: Driver;
  readonly #ctx: AuditContext;
  #rateHits = 0;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(driver: Driver, ctx: AuditContext) {
    this.#driver = driver;
    this.#ctx = ctx;
  }

  /** The open database, for components that share it (the job queue needs PGlite's single session). */
  get driver(): Driver {
    return this.#driver;
  }

  /**
   * Appends events of one tenant inside the caller's transaction (any drizzle transaction on
   * this database), so they commit with the caller's own writes or not at all.
   */
  async appendAuditInTx(tx: Db, tenant: string, events: AuditEvent[]): Promise<AuditRecord[]> {
    return audit.appendManyInTx(tx, tenant, events, this.#ctx);
  }

  /** Message, job and acceptance record commit together or not at all; resolves after COMMIT. */
  async acceptMessage(message: NewMessage, job: NewJob, event: AuditEvent): Promise<AuditRecord> {
    if (job.messageId !== message.id || job.tenant !== message.tenant || event.tenant !== message.tenant) {
      throw new IntentmailError('internal', 'message, job and audit event must belong to the same message and tenant');
    }
    return this.#guard('accept message', () =>
      this.#driver.db.transaction(async (tx) => {
        await tx.insert(messages).values(messageRow(message));
        await tx.insert(jobs).values({ id: job.id, messageId: job.messageId, tenant: job.tenant, intent: job.intent, plan: job.plan });
        return audit.appendInTx(tx, event, this.#ctx);
      }),
    );
  }

  /** One record on the tenant's chain, serialised with every other append to it. */
  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    return this.#guard('append audit record', () => this.#driver.db.transaction((tx) => audit.appendInTx(tx, event, this.#ctx)));
  }

  /** Atomic increment of a fixed-window counter (one upsert, safe across nodes). */
  async hitRateLimit(key: string, windowStart: Date, expiresAt: Date): Promise<number> {
    return this.#guard('rate limit', async () => {
      this.#rateHits += 1;
      if (this.#rateHits % LIMITS.RATE_SWEEP_EVERY === 0) await this.#sweepRateCounters();
      const rows = await this.#driver.db
        .insert(rateCounters)
        .values({ key, windowStart, count: 1, expiresAt })
        .onConflictDoUpdate({ target: [rateCounters.key, rateCounters.windowStart], set: { count: sql`${rateCounters.count} + 1` } })
        .returning({ count: rateCounters.count });
      return rows[0].count;
    });
  }

  /** The counter's current value, 0 when absent. */
  async peekRateLimit(key: string, windowStart: Date): Promise<number> {
    return this.#guard('rate limit', async () => {
      const rows = await this.#driver.db
        .select({ count: rateCounters.count })
        .from(rateCounters)
        .where(and(eq(rateCounters.key, key), eq(rateCounters.windowStart, windowStart)));
      return rows[0]?.count ?? 0;
    });
  }

  /** Signs the head now if it moved since the last checkpoint. */
  async checkpoint(tenant: string): Promise<AuditCheckpoint | null> {
    return this.#guard('audit checkpoint', () => this.#driver.db.transaction((tx) => audit.checkpointInTx(tx, tenant, this.#ctx)));
  }

  /** Tenants with an audit chain, sorted. */
  async auditTenants(): Promise<string[]> {
    return this.#guard('read audit', () => audit.auditTenants(this.#driver.db));
  }

  /** A page of a tenant's records after `afterSeq`. */
  async readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.#guard('read audit', () => audit.readAudit(this.#driver.db, tenant, afterSeq, limit));
  }

  /** A tenant's checkpoints in order. */
  async readCheckpoints(tenant: string): Promise<AuditCheckpoint[]> {
    return this.#guard('read audit', () => audit.readCheckpoints(this.#driver.db, tenant));
  }

  /** The stored chain head. */
  async chainHead(tenant: string): Promise<{ seq: number; hash: string } | null> {
    return this.#guard('read audit', () => audit.chainHead(this.#driver.db, tenant));
  }

  /**
   * A stored message. After crypto-erasure `wrappedKey` is an empty array (the column is
   * NULL) and `erasedAt` is set: the ciphertext can no longer be opened.
   */
  async getMessage(id: string): Promise<StoredMessage | null> {
    if (!UUID.test(id)) return null;
    return this.#guard('read message', async () => {
      const rows = await this.#driver.db.select().from(messages).where(eq(messages.id, id));
      if (rows.length === 0) return null;
      const row = rows[0];
      return { ...row, wrappedKey: row.wrappedKey ?? new Uint8Array(0) };
    });
  }

  /** The job created with a message. */
  async getJobForMessage(messageId: string): Promise<StoredJob | null> {
    if (!UUID.test(messageId)) return null;
    return this.#guard('read job', async () => {
      const rows = await this.#driver.db.select().from(jobs).where(eq(jobs.messageId, messageId));
      return rows[0] ?? null;
    });
  }

  /** True when a trivial query succeeds. */
  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#driver.db.execute(sql`SELECT 1`);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Refuses new work, lets in-flight work finish (bounded by DB_CLOSE_GRACE_MS) so no
   * transaction is cut mid-commit, then closes the driver. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, LIMITS.DB_CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.allSettled([...this.#inFlight]), grace]);
    clearTimeout(timer);
    await this.#driver.close();
  }

  /** Deletes a bounded batch of expired counters (an index range on expires_at). */
  async #sweepRateCounters(): Promise<void> {
    const expired = this.#driver.db
      .select({ key: rateCounters.key, windowStart: rateCounters.windowStart })
      .from(rateCounters)
      .where(lt(rateCounters.expiresAt, this.#ctx.clock.now()))
      .limit(LIMITS.RATE_SWEEP_BATCH);
    await this.#driver.db.delete(rateCounters).where(sql`(${rateCounters.key}, ${rateCounters.windowStart}) IN (${expired})`);
  }

  async #guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new IntentmailError('storage_unavailable', `storage unavailable (${what}): store is closed`);
    const running = work();
    this.#inFlight.add(running);
    try {
      return await running;
    } catch (cause) {
      if (cause instanceof IntentmailError) throw cause;
      throw new IntentmailError('storage_unavailable', `storage unavailable (${what})`, { cause });
    } finally {
      this.#inFlight.delete(running);
    }
  }
}

/** Exactly the columns of a new message (a caller's extra properties never reach the insert). */
function messageRow(m: NewMessage): typeof messages.$inferInsert {
  return {
    id: m.id,
    tenant: m.tenant,
    intent: m.intent,
    recipient: m.recipient,
    addressDetail: m.addressDetail,
    envelopeFrom: m.envelopeFrom,
    headerFrom: m.headerFrom,
    senderVerified: m.senderVerified,
    messageIdHeader: m.messageIdHeader,
    size: m.size,
    sha256: m.sha256,
    clientIp: m.clientIp,
    helo: m.helo,
    tls: m.tls,
    receivedAt: m.receivedAt,
    authentication: m.authentication,
    ciphertext: m.ciphertext,
    wrappedKey: m.wrappedKey,
    keyId: m.keyId,
    policyFile: m.policyFile,
    policyVersion: m.policyVersion,
  };
}

/** The drizzle store behind a Store (the composition root hands its database to the job queue). */
export function drizzleStoreOf(store: Store): DrizzleStore {
  if (!(store instanceof DrizzleStore)) throw new IntentmailError('internal', 'the job queue needs the drizzle store (PGlite or PostgreSQL)');
  return store;
}

/** The database under a store built by this module. */
export function storeDriver(store: Store): Driver {
  return drizzleStoreOf(store).driver;
}
