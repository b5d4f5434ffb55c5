/**
 * The SQL of the action chain (tables in src/store/schema/steps.ts): loading chains, claiming
 * steps, and recording outcomes together with their audit records — each for many chains in one
 * statement or transaction (src/runner/batch.ts). Times that decide who may run a step (claims,
 * retry due times) are the database's `now()`, the one clock all nodes share.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AuditEvent } from '../core/audit-event.ts';
import type { Queue, Tx } from '../queue/boss.ts';
import { resultRows, type Db } from '../store/driver.ts';
import { jobs, messages, stepRuns } from '../store/schema/index.ts';

/** One step's stored state. */
export type StepRunRow = typeof stepRuns.$inferSelect;

/** Final job statuses: the chain will not run again unless an operator re-drives it. */
export const FINAL_JOB_STATUSES = new Set(['done', 'stopped', 'rejected', 'quarantined', 'dead', 'erased']);

const chainColumns = {
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
};

/** A job with its message, as the runner needs them. */
export type ChainRow = Awaited<ReturnType<typeof selectChains>>[number];

function selectChains(db: Db, jobIds: string[]) {
  return db.select(chainColumns).from(jobs).innerJoin(messages, eq(messages.id, jobs.messageId)).where(inArray(jobs.id, jobIds));
}

/** Jobs (with their messages and step runs) by id, in the order asked; null for an unknown id. */
export async function loadChains(db: Db, jobIds: string[]): Promise<({ row: ChainRow; runs: StepRunRow[] } | null)[]> {
  const unique = [...new Set(jobIds)];
  const [rows, runs] = await Promise.all([selectChains(db, unique), db.select().from(stepRuns).where(inArray(stepRuns.jobId, unique))]);
  const byJob = new Map<string, StepRunRow[]>();
  for (const r of runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r]);
  const byId = new Map(rows.map((r) => [r.jobId, r]));
  return jobIds.map((id) => {
    const row = byId.get(id);
    return row ? { row, runs: byJob.get(id) ?? [] } : null;
  });
}

/** One step's row, fresh. */
export async function loadStepRun(db: Db, jobId: string, path: string): Promise<StepRunRow | null> {
  const rows = await db
    .select()
    .from(stepRuns)
    .where(and(eq(stepRuns.jobId, jobId), eq(stepRuns.path, path)));
  return rows[0] ?? null;
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

/** A granted claim: the attempt number and how often the step was re-driven. */
export interface Claim {
  attempts: number;
  redrives: number;
}

/**
 * Claims steps for one attempt each, creating rows on first reach, in one statement. A claim
 * succeeds only if the step is new, re-driven (`pending`), due for a retry, or `running` under a
 * lapsed claim; the jobs of granted claims are marked `running` in the same statement. Returns
 * the claim or null (someone else holds the step, it is not due, or it is done), per input.
 */
export async function claimSteps(db: Db, claims: ClaimInput[]): Promise<(Claim | null)[]> {
  // One row per (job, path) per statement: ON CONFLICT cannot touch a row twice. A duplicate (two
  // passes of one chain in one process) simply does not get the claim.
  const seen = new Set<string>();
  const firsts = claims.filter((c) => {
    const k = `${c.jobId}\n${c.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const values = sql.join(
    firsts.map(
      (c) =>
        sql`(${randomUUID()}::uuid, ${c.jobId}::uuid, ${c.messageId}::uuid, ${c.tenant}, ${c.path}, ${c.name}, ${c.action}, 'running', 1, ${c.token}, now() + ${c.leaseMs}::int * interval '1 millisecond', ${c.webhookId}, now(), now())`,
    ),
    sql`, `,
  );
  const rows = resultRows(
    await db.execute(sql`
      WITH c AS (
        INSERT INTO step_runs (id, job_id, message_id, tenant, path, name, action, status, attempts, claim_token, claimed_until, webhook_id, started_at, updated_at)
        VALUES ${values}
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
        RETURNING job_id, path, attempts, redrives, claim_token
      ),
      j AS (
        UPDATE jobs SET status = 'running', updated_at = now()
        WHERE id IN (SELECT job_id FROM c) AND status <> 'running'
      )
      SELECT job_id, path, attempts, redrives, claim_token FROM c`),
  );
  const granted = new Map(rows.map((r) => [`${String(r.job_id)}\n${String(r.path)}\n${String(r.claim_token)}`, { attempts: Number(r.attempts), redrives: Number(r.redrives) }]));
  return claims.map((c) => granted.get(`${c.jobId}\n${c.path}\n${c.token}`) ?? null);
}

/** A step outcome as stored. */
export interface StepRecord {
  status: 'done' | 'skipped' | 'retry' | 'dead' | 'stopped' | 'rejected' | 'quarantined';
  result: unknown;
  resourceId: string | null;
  lastError: string | null;
  /** For `retry`: milliseconds until the next attempt. */
  retryInMs?: number;
}

/** One outcome to write, with everything that commits with it. */
export interface OutcomeWrite {
  jobId: string;
  messageId: string;
  tenant: string;
  path: string;
  /** The claim the outcome belongs to: it is kept only if that claim still holds. */
  token: string;
  record: StepRecord;
  event: AuditEvent;
  /** For a retry: the queue job that runs the next attempt (its id fixed, so it is queued once). */
  retryJobId: string | null;
  /** The job's status after this outcome (`waiting`, a final status), or null while the chain goes on. */
  jobStatus: string | null;
}

/** What writing outcomes needs besides the database. */
export interface OutcomeSinks {
  queue: Pick<Queue, 'enqueueInTx'>;
  appendAudit: (tx: Tx, tenant: string, events: AuditEvent[]) => Promise<unknown>;
}

/**
 * Writes outcomes in one transaction: each step's outcome (only while its claim still holds),
 * the queue jobs of retries, the jobs' new statuses, and the audit records — so an outcome and
 * its audit record exist together or not at all. Returns, per input, whether it was kept (false:
 * the claim lapsed and another worker took the step over; that attempt's outcome is dropped).
 */
export async function writeOutcomes(db: Db, writes: OutcomeWrite[], sinks: OutcomeSinks): Promise<boolean[]> {
  return db.transaction(async (tx) => {
    const values = sql.join(
      writes.map((w) => {
        const r = w.record;
        return sql`(${w.jobId}::uuid, ${w.path}, ${w.token}, ${r.status}, ${r.result === undefined ? null : JSON.stringify(r.result)}::jsonb, ${r.resourceId}::text, ${r.lastError}::text, ${r.retryInMs === undefined ? null : Math.ceil(r.retryInMs)}::bigint, ${w.event.eventId}::uuid)`;
      }),
      sql`, `,
    );
    const kept = resultRows(
      await tx.execute(sql`
        UPDATE step_runs s SET
          status = v.status,
          result = v.result,
          resource_id = v.resource_id,
          last_error = v.last_error,
          next_attempt_at = CASE WHEN v.retry_ms IS NULL THEN NULL ELSE now() + v.retry_ms * interval '1 millisecond' END,
          claim_token = NULL,
          claimed_until = NULL,
          finished_at = CASE WHEN v.status = 'retry' THEN NULL ELSE now() END,
          audit_event_id = v.event_id,
          updated_at = now()
        FROM (VALUES ${values}) AS v(job_id, path, token, status, result, resource_id, last_error, retry_ms, event_id)
        WHERE s.job_id = v.job_id AND s.path = v.path AND s.claim_token = v.token AND s.status = 'running'
        RETURNING s.job_id, s.path`),
    );
    const keptKeys = new Set(kept.map((r) => `${String(r.job_id)}\n${String(r.path)}`));
    const ok = writes.map((w) => keptKeys.has(`${w.jobId}\n${w.path}`));
    const mine = writes.filter((_, i) => ok[i]);
    if (mine.length === 0) return ok;
    const retries = mine.filter((w) => w.retryJobId !== null);
    await sinks.queue.enqueueInTx(
      tx,
      retries.map((w) => ({ id: w.retryJobId!, jobId: w.jobId, messageId: w.messageId, startAfterSeconds: (w.record.retryInMs ?? 0) / 1000 })),
    );
    const statuses = mine.filter((w) => w.jobStatus !== null);
    if (statuses.length > 0) {
      const sv = sql.join(
        statuses.map((w) => sql`(${w.jobId}::uuid, ${w.jobStatus})`),
        sql`, `,
      );
      await tx.execute(sql`UPDATE jobs SET status = v.status, updated_at = now() FROM (VALUES ${sv}) AS v(id, status) WHERE jobs.id = v.id`);
    }
    const byTenant = new Map<string, AuditEvent[]>();
    for (const w of mine) byTenant.set(w.tenant, [...(byTenant.get(w.tenant) ?? []), w.event]);
    for (const [tenant, events] of byTenant) await sinks.appendAudit(tx, tenant, events);
    return ok;
  });
}

/** Sets a job's status (a chain that ended before or between its steps). */
export async function setJobStatus(db: Db, jobId: string, status: string): Promise<void> {
  await db.update(jobs).set({ status, updatedAt: sql`now()` }).where(eq(jobs.id, jobId));
}

/** Re-queues dead-lettered work of a message: its dead step (or `stepPath`) becomes `pending` again and the job goes back to the outbox. */
export async function redriveJob(db: Db, messageId: string, stepPath?: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const job = await tx.select({ id: jobs.id, status: jobs.status }).from(jobs).where(eq(jobs.messageId, messageId)).for('update');
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

/** A SQL fragment: an interval of `ms` milliseconds from now. */
export function fromNow(ms: number): SQL {
  return sql`now() + ${Math.round(ms)}::bigint * interval '1 millisecond'`;
}
