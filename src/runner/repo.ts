/**
 * The SQL of the action chain (tables in src/store/schema/steps.ts): loading a chain, claiming a
 * step, recording its outcome, finishing the job, and the audit repair. Times that decide who
 * may run a step (claims, retry due times) are the database's `now()`, the one clock all nodes
 * share.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { resultRows, type Db } from '../store/driver.ts';
import type { Tx } from '../queue/boss.ts';
import { jobs, messages, stepRuns } from '../store/schema/index.ts';
import type { AuditEvent } from '../core/audit-event.ts';

/** A job with its message, as the runner needs them. */
export type ChainRow = Awaited<ReturnType<typeof loadChainRow>>;
/** One step's stored state. */
export type StepRunRow = typeof stepRuns.$inferSelect;

/** Final job statuses: the chain will not run again unless an operator re-drives it. */
export const FINAL_JOB_STATUSES = new Set(['done', 'stopped', 'rejected', 'quarantined', 'dead', 'erased']);

/** The job (by its id) with its message, or null. */
export async function loadChainRow(db: Db, jobId: string) {
  const rows = await db
    .select({
      jobId: jobs.id,
      jobStatus: jobs.status,
      plan: jobs.plan,
      tenant: jobs.tenant,
      intent: jobs.intent,
      messageId: messages.id,
      recipient: messages.recipient,
      addressDetail: messages.addressDetail,
      envelopeFrom: messages.envelopeFrom,
      headerFrom: messages.headerFrom,
      senderVerified: messages.senderVerified,
      size: messages.size,
      clientIp: messages.clientIp,
      helo: messages.helo,
      tls: messages.tls,
      receivedAt: messages.receivedAt,
      authentication: messages.authentication,
      ciphertext: messages.ciphertext,
      wrappedKey: messages.wrappedKey,
      keyId: messages.keyId,
      erasedAt: messages.erasedAt,
    })
    .from(jobs)
    .innerJoin(messages, eq(messages.id, jobs.messageId))
    .where(eq(jobs.id, jobId));
  return rows[0] ?? null;
}

/** Every step run of a job. */
export async function loadStepRuns(db: Db, jobId: string): Promise<StepRunRow[]> {
  return db.select().from(stepRuns).where(eq(stepRuns.jobId, jobId));
}

/** What a claim needs to know about the step. */
export interface ClaimInput {
  jobId: string;
  messageId: string;
  tenant: string;
  path: string;
  name: string;
  action: string;
  /** The queue job and attempt claiming it. */
  token: string;
  leaseMs: number;
  webhookId: string | null;
}

/**
 * Claims a step for one attempt, creating its row on first reach. It succeeds only if the step
 * is new, re-driven (`pending`), due for a retry, or `running` under a lapsed claim; the job is
 * marked `running` in the same statement. Returns the attempt number and re-drive count, or
 * null when someone else holds the step or it is not due.
 */
export async function claimStep(db: Db, c: ClaimInput): Promise<{ attempts: number; redrives: number } | null> {
  const rows = resultRows(
    await db.execute(sql`
      WITH c AS (
        INSERT INTO step_runs (id, job_id, message_id, tenant, path, name, action, status, attempts, claim_token, claimed_until, webhook_id, started_at, updated_at)
        VALUES (${randomUUID()}, ${c.jobId}, ${c.messageId}, ${c.tenant}, ${c.path}, ${c.name}, ${c.action}, 'running', 1, ${c.token},
                now() + ${c.leaseMs}::int * interval '1 millisecond', ${c.webhookId}, now(), now())
        ON CONFLICT (job_id, path) DO UPDATE SET
          status = 'running',
          attempts = step_runs.attempts + 1,
          claim_token = excluded.claim_token,
          claimed_until = excluded.claimed_until,
          next_attempt_at = NULL,
          webhook_id = COALESCE(step_runs.webhook_id, excluded.webhook_id),
          started_at = COALESCE(step_runs.started_at, excluded.started_at),
          updated_at = now()
        WHERE step_runs.status = 'pending'
           OR (step_runs.status = 'retry' AND (step_runs.next_attempt_at IS NULL OR step_runs.next_attempt_at <= now()))
           OR (step_runs.status = 'running' AND step_runs.claimed_until < now())
        RETURNING attempts, redrives
      ),
      j AS (
        UPDATE jobs SET status = 'running', updated_at = now()
        WHERE id = ${c.jobId} AND status <> 'running' AND EXISTS (SELECT 1 FROM c)
      )
      SELECT attempts, redrives FROM c`),
  );
  if (rows.length === 0) return null;
  return { attempts: Number(rows[0].attempts), redrives: Number(rows[0].redrives) };
}

/** A step outcome as stored. */
export interface StepRecord {
  status: 'done' | 'skipped' | 'retry' | 'dead' | 'stopped' | 'rejected' | 'quarantined';
  result: unknown;
  resourceId: string | null;
  lastError: string | null;
  /** For `retry`: milliseconds until the next attempt. */
  retryInMs?: number;
  event: AuditEvent;
}

/**
 * Records the outcome of the attempt holding `token`, with its audit event marked pending
 * (appended next, then cleared). False when the claim was lost meanwhile (it lapsed and another
 * worker took the step over): then this attempt's outcome is not recorded.
 */
export async function recordOutcome(db: Db | Tx, jobId: string, path: string, token: string, r: StepRecord): Promise<boolean> {
  const finished = r.status !== 'retry';
  const rows = resultRows(
    await db.execute(sql`
      UPDATE step_runs SET
        status = ${r.status},
        result = ${r.result === undefined ? null : JSON.stringify(r.result)}::jsonb,
        resource_id = ${r.resourceId},
        last_error = ${r.lastError},
        next_attempt_at = ${r.retryInMs === undefined ? null : sql`now() + ${Math.ceil(r.retryInMs)}::bigint * interval '1 millisecond'`},
        claim_token = NULL,
        claimed_until = NULL,
        finished_at = ${finished ? sql`now()` : null},
        audit_event_id = ${r.event.eventId},
        audit_pending = true,
        audit_event = ${JSON.stringify(r.event)}::jsonb,
        updated_at = now()
      WHERE job_id = ${jobId} AND path = ${path} AND claim_token = ${token} AND status = 'running'
      RETURNING id`),
  );
  return rows.length === 1;
}

/** Sets the job's status (unless null) and clears the audit-pending marks of the given events, in one statement. */
export async function finishPass(db: Db | Tx, jobId: string, status: string | null, audited: string[]): Promise<void> {
  if (status === null && audited.length === 0) return;
  const ids = audited.length === 0 ? sql`ARRAY[]::uuid[]` : sql`ARRAY[${sql.join(audited.map((id) => sql`${id}::uuid`), sql`, `)}]`;
  const job = status === null ? sql`SELECT 1` : sql`UPDATE jobs SET status = ${status}, updated_at = now() WHERE id = ${jobId}`;
  await db.execute(sql`
    WITH a AS (
      UPDATE step_runs SET audit_pending = false, audit_event = NULL
      WHERE job_id = ${jobId} AND audit_pending AND audit_event_id = ANY(${ids})
      RETURNING 1
    )
    ${job}`);
}

/** Whether an audit record with this event id is already on the tenant's chain (written no earlier than `since`). */
export async function auditRecorded(db: Db, tenant: string, eventId: string, since: Date): Promise<boolean> {
  const rows = resultRows(
    await db.execute(sql`
      SELECT 1 AS found FROM audit_records
      WHERE tenant = ${tenant} AND created_at >= ${since.toISOString()}::timestamptz AND position(${`"eventId":"${eventId}"`} in body) > 0
      LIMIT 1`),
  );
  return rows.length > 0;
}

/** Re-queues dead-lettered work of a message: its dead step (or `stepPath`) becomes `pending` again and the job goes back to the outbox. */
export async function redriveJob(db: Db, messageId: string, stepPath?: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const job = await tx
      .select({ id: jobs.id, status: jobs.status })
      .from(jobs)
      .where(eq(jobs.messageId, messageId))
      .for('update');
    if (job.length === 0 || job[0].status !== 'dead') return false;
    const dead = await tx
      .select({ id: stepRuns.id, path: stepRuns.path })
      .from(stepRuns)
      .where(and(eq(stepRuns.jobId, job[0].id), eq(stepRuns.status, 'dead')));
    const chosen = stepPath === undefined ? dead : dead.filter((d) => d.path === stepPath);
    if (stepPath !== undefined && chosen.length === 0) return false;
    for (const d of chosen) {
      await tx
        .update(stepRuns)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: null, redrives: sql`${stepRuns.redrives} + 1`, updatedAt: sql`now()` })
        .where(eq(stepRuns.id, d.id));
    }
    await tx.update(jobs).set({ status: 'pending', updatedAt: sql`now()` }).where(eq(jobs.id, job[0].id));
    return true;
  });
}
