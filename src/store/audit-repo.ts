/**
 * Audit chain persistence: appends serialised per tenant by a row lock on the chain head
 * (`SELECT … FOR UPDATE` on audit_heads, which holds across processes and nodes), signed
 * checkpoints taken in the same transaction, and the read side the verifier uses.
 */
import { Buffer } from 'node:buffer';
import { and, asc, eq, gt } from 'drizzle-orm';
import { union } from 'drizzle-orm/pg-core';
import type { AuditCheckpoint, AuditEvent, AuditRecord } from '../core/audit-event.ts';
import { IntentmailError } from '../core/errors.ts';
import type { Clock, Logger, Signer } from '../core/ports.ts';
import { GENESIS_HASH, chainRecord, checkpointHash, checkpointSigningInput } from '../audit/chain.ts';
import type { Db } from './driver.ts';
import { auditCheckpoints, auditHeads, auditRecords } from './schema/index.ts';

/** What appends need besides the transaction: who signs, what time it is, when a checkpoint is due. */
export interface AuditContext {
  signer: Signer;
  clock: Clock;
  checkpointEvery: number;
  checkpointMaxAgeMs: number;
  logger: Logger;
}

type Head = typeof auditHeads.$inferSelect;

/** Appends `event` to its tenant's chain inside `tx`; signs a checkpoint too when one is due. */
export async function appendInTx(tx: Db, event: AuditEvent, ctx: AuditContext): Promise<AuditRecord> {
  const now = ctx.clock.now();
  const head = await lockOrCreateHead(tx, event.tenant, now);
  const rec = chainRecord(head.seq === 0 ? null : { seq: head.seq, hash: head.hash }, event);
  await tx.insert(auditRecords).values({
    tenant: event.tenant,
    seq: rec.seq,
    prevHash: rec.prevHash,
    hash: rec.hash,
    body: rec.body,
    eventType: event.action.type,
    intent: event.action.intent,
    actorEmail: event.actor.email,
    resultStatus: event.result.status,
    createdAt: now,
  });
  const due = rec.seq - head.checkpointSeq >= ctx.checkpointEvery || now.getTime() - head.checkpointAt.getTime() >= ctx.checkpointMaxAgeMs;
  const cp = due ? await insertCheckpoint(tx, head, rec.seq, rec.hash, now, ctx) : null;
  await tx
    .update(auditHeads)
    .set(cp === null ? { seq: rec.seq, hash: rec.hash } : { seq: rec.seq, hash: rec.hash, checkpointSeq: cp.seq, checkpointHash: cp.hash, checkpointAt: now })
    .where(eq(auditHeads.tenant, event.tenant));
  return { tenant: event.tenant, ...rec, event };
}

/**
 * Appends several events of one tenant inside `tx` under a single head lock: one multi-row
 * insert and one head update however many events there are, a checkpoint when one is due after
 * the last of them. The action chain uses it to group-commit step outcomes with their records.
 */
export async function appendManyInTx(tx: Db, tenant: string, events: AuditEvent[], ctx: AuditContext): Promise<AuditRecord[]> {
  if (events.length === 0) return [];
  if (events.some((e) => e.tenant !== tenant)) throw new IntentmailError('internal', 'every event of a batch append must belong to its tenant');
  const now = ctx.clock.now();
  const head = await lockOrCreateHead(tx, tenant, now);
  const out: AuditRecord[] = [];
  let prev = head.seq === 0 ? null : { seq: head.seq, hash: head.hash };
  for (const event of events) {
    const rec = chainRecord(prev, event);
    out.push({ tenant, ...rec, event });
    prev = { seq: rec.seq, hash: rec.hash };
  }
  await tx.insert(auditRecords).values(
    out.map((r) => ({
      tenant,
      seq: r.seq,
      prevHash: r.prevHash,
      hash: r.hash,
      body: r.body,
      eventType: r.event.action.type,
      intent: r.event.action.intent,
      actorEmail: r.event.actor.email,
      resultStatus: r.event.result.status,
      createdAt: now,
    })),
  );
  const last = out[out.length - 1];
  const due = last.seq - head.checkpointSeq >= ctx.checkpointEvery || now.getTime() - head.checkpointAt.getTime() >= ctx.checkpointMaxAgeMs;
  const cp = due ? await insertCheckpoint(tx, head, last.seq, last.hash, now, ctx) : null;
  await tx
    .update(auditHeads)
    .set(cp === null ? { seq: last.seq, hash: last.hash } : { seq: last.seq, hash: last.hash, checkpointSeq: cp.seq, checkpointHash: cp.hash, checkpointAt: now })
    .where(eq(auditHeads.tenant, tenant));
  return out;
}

/** Signs the tenant's head inside `tx` if records were appended since its last checkpoint. */
export async function checkpointInTx(tx: Db, tenant: string, ctx: AuditContext): Promise<AuditCheckpoint | null> {
  const head = await lockHead(tx, tenant);
  if (head === null || head.seq <= head.checkpointSeq) return null;
  const now = ctx.clock.now();
  const cp = await insertCheckpoint(tx, head, head.seq, head.hash, now, ctx);
  await tx.update(auditHeads).set({ checkpointSeq: cp.seq, checkpointHash: cp.hash, checkpointAt: now }).where(eq(auditHeads.tenant, tenant));
  return cp;
}

/** Tenants with a chain head or any stored record (a missing head row must still be verified). */
export async function auditTenants(db: Db): Promise<string[]> {
  const rows = await union(db.select({ tenant: auditHeads.tenant }).from(auditHeads), db.selectDistinct({ tenant: auditRecords.tenant }).from(auditRecords));
  return rows.map((r) => r.tenant).sort();
}

/** Records after `afterSeq` in seq order, at most `limit`. */
export async function readAudit(db: Db, tenant: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
  const rows = await db
    .select({ tenant: auditRecords.tenant, seq: auditRecords.seq, prevHash: auditRecords.prevHash, hash: auditRecords.hash, body: auditRecords.body })
    .from(auditRecords)
    .where(and(eq(auditRecords.tenant, tenant), gt(auditRecords.seq, afterSeq)))
    .orderBy(asc(auditRecords.seq))
    .limit(limit);
  return rows.map(withLazyEvent);
}

/** All checkpoints of a tenant in seq order. */
export async function readCheckpoints(db: Db, tenant: string): Promise<AuditCheckpoint[]> {
  return db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenant, tenant)).orderBy(asc(auditCheckpoints.seq));
}

/** The head row's seq and hash, or null when the tenant has no chain. */
export async function chainHead(db: Db, tenant: string): Promise<{ seq: number; hash: string } | null> {
  const rows = await db.select({ seq: auditHeads.seq, hash: auditHeads.hash }).from(auditHeads).where(eq(auditHeads.tenant, tenant));
  return rows[0] ?? null;
}

async function lockHead(tx: Db, tenant: string): Promise<Head | null> {
  const rows = await tx.select().from(auditHeads).where(eq(auditHeads.tenant, tenant)).for('update');
  return rows[0] ?? null;
}

/**
 * Locks the head row, creating it on the tenant's first append. Concurrent first appends both
 * insert with ON CONFLICT DO NOTHING: the loser waits for the winner's commit, inserts
 * nothing, and then queues on the row lock like any later append.
 */
async function lockOrCreateHead(tx: Db, tenant: string, now: Date): Promise<Head> {
  const existing = await lockHead(tx, tenant);
  if (existing !== null) return existing;
  await tx.insert(auditHeads).values({ tenant, seq: 0, hash: GENESIS_HASH, checkpointSeq: 0, checkpointHash: GENESIS_HASH, checkpointAt: now }).onConflictDoNothing();
  const created = await lockHead(tx, tenant);
  if (created === null) throw new IntentmailError('internal', `audit chain head for ${tenant} vanished`);
  return created;
}

async function insertCheckpoint(tx: Db, head: Head, seq: number, headHash: string, now: Date, ctx: AuditContext): Promise<AuditCheckpoint> {
  const unsigned = { tenant: head.tenant, seq, headHash, prevCheckpointHash: head.checkpointHash, timestamp: now.toISOString(), keyId: ctx.signer.keyId };
  const signature = Buffer.from(await ctx.signer.sign(checkpointSigningInput(unsigned))).toString('base64');
  const cp: AuditCheckpoint = { ...unsigned, signature, hash: checkpointHash({ ...unsigned, signature, hash: '' }) };
  await tx.insert(auditCheckpoints).values(cp);
  ctx.logger.debug('audit checkpoint signed', { tenant: cp.tenant, seq: cp.seq, keyId: cp.keyId });
  return cp;
}

/**
 * A record whose `event` is parsed on first access: a tampered, unparseable body must reach
 * the verifier (which reads only `body`) instead of failing the whole page read.
 */
function withLazyEvent(row: Omit<AuditRecord, 'event'>): AuditRecord {
  let parsed: AuditEvent | undefined;
  const record = { ...row } as AuditRecord;
  Object.defineProperty(record, 'event', {
    enumerable: true,
    get(): AuditEvent {
      if (parsed === undefined) {
        try {
          parsed = JSON.parse(row.body) as AuditEvent;
        } catch (cause) {
          throw new IntentmailError('internal', `audit record ${row.tenant}#${row.seq} has a body that is not JSON`, { cause });
        }
      }
      return parsed;
    },
  });
  return record;
}
