/**
 * The audit hash chain (src/audit/chain.ts): one chain per tenant. `body` is the canonical
 * event the hash covers; event_type, intent, actor_email and result_status are copies
 * extracted for queries and are NOT covered by the hash (the verifier reads only `body`).
 */
import { bigint, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const auditRecords = pgTable(
  'audit_records',
  {
    tenant: text('tenant').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    body: text('body').notNull(),
    eventType: text('event_type').notNull(),
    intent: text('intent'),
    actorEmail: text('actor_email'),
    resultStatus: text('result_status').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.seq] }),
    index('audit_records_tenant_created_idx').on(t.tenant, t.createdAt),
    index('audit_records_actor_idx').on(t.actorEmail),
  ],
);

/**
 * One row per tenant: the chain head, locked FOR UPDATE by every append so appends are
 * serialised per tenant across processes. The checkpoint_* columns describe the last signed
 * checkpoint (seq 0, the genesis hash and the chain's creation time before the first one), so
 * an append knows without another query whether a checkpoint is due.
 */
export const auditHeads = pgTable('audit_heads', {
  tenant: text('tenant').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  checkpointSeq: bigint('checkpoint_seq', { mode: 'number' }).notNull().default(0),
  checkpointHash: text('checkpoint_hash').notNull(),
  checkpointAt: timestamp('checkpoint_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/** Signed checkpoints over a chain head, each linked to the previous one by its hash. */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    tenant: text('tenant').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    headHash: text('head_hash').notNull(),
    prevCheckpointHash: text('prev_checkpoint_hash').notNull(),
    /** The RFC 3339 text exactly as signed (text, not timestamptz, so it round-trips byte for byte). */
    timestamp: text('timestamp').notNull(),
    keyId: text('key_id').notNull(),
    signature: text('signature').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.seq] })],
);
