/**
 * The action chain's state (src/runner): one `step_runs` row per step of a job that the chain
 * reached, unique per (job, path), holding the step's status, attempts, result and the fencing
 * claim that keeps two workers off the same step; and `archives`, the sealed copies the
 * `archive` step keeps until their retention ends.
 */
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { bytea } from './bytea.ts';
import { jobs } from './jobs.ts';

export const stepRuns = pgTable(
  'step_runs',
  {
    id: uuid('id').primaryKey(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id),
    messageId: uuid('message_id').notNull(),
    tenant: text('tenant').notNull(),
    /** Position in the step tree (`0.then.1`), stable across retries and re-drives. */
    path: text('path').notNull(),
    name: text('name').notNull(),
    action: text('action').notNull(),
    /** running | retry | done | skipped | dead | stopped | rejected | quarantined */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** When a `retry` step may run again. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
    /** Who holds a `running` step (queue job id and attempt) and until when; a lapsed claim may be taken over. */
    claimToken: text('claim_token'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true, mode: 'date' }),
    /** What later steps read as `{{steps.NAME.result}}`. */
    result: jsonb('result'),
    resourceId: text('resource_id'),
    lastError: text('last_error'),
    /** The Standard Webhooks `webhook-id` (the same on every attempt). */
    webhookId: text('webhook_id'),
    /** The audit record of the latest outcome (committed in the same transaction). */
    auditEventId: uuid('audit_event_id'),
    redrives: integer('redrives').notNull().default(0),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('step_runs_job_path_unique').on(t.jobId, t.path),
    index('step_runs_message_idx').on(t.messageId),
    index('step_runs_dead_idx').on(t.tenant, t.updatedAt).where(sql`${t.status} = 'dead'`),
  ],
);

/** Originals kept by an `archive` step: sealed again under their own data key, with the policy's retention. */
export const archives = pgTable(
  'archives',
  {
    id: uuid('id').primaryKey(),
    messageId: uuid('message_id').notNull(),
    jobId: uuid('job_id').notNull(),
    stepPath: text('step_path').notNull(),
    tenant: text('tenant').notNull(),
    intent: text('intent').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    wrappedKey: bytea('wrapped_key').notNull(),
    keyId: text('key_id').notNull(),
    /** Null: kept until an operator removes it. */
    retainUntil: timestamp('retain_until', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [unique('archives_job_step_unique').on(t.jobId, t.stepPath), index('archives_retain_idx').on(t.retainUntil), index('archives_message_idx').on(t.messageId)],
);
