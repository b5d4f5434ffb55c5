/**
 * The operator's view of the action chain: each message's progress, the dead-lettered steps, and
 * re-drive. Used by `intentmail jobs` and the admin API (src/api). Re-drive puts the job back in
 * the outbox (`pending`) with its dead step reset, so the relay queues it like a new message —
 * which also works from a process that runs no queue (the CLI next to a running router).
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { LIMITS } from '../core/limits.ts';
import type { Db } from '../store/driver.ts';
import { jobs, stepRuns } from '../store/schema/index.ts';
import { redriveJob } from '../runner/repo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One step of a message's chain as far as it has run. */
export interface StepProgress {
  /** Position in the step tree, e.g. `0.then.1`. */
  path: string;
  name: string;
  action: string;
  /** running | retry | done | skipped | dead | stopped | rejected | quarantined | pending (re-driven) */
  status: string;
  attempts: number;
  lastError: string | null;
  resourceId: string | null;
  webhookId: string | null;
  nextAttemptAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** A message's chain: the job's status (pending, queued, running, waiting, done, stopped, rejected, quarantined, dead, erased) and its steps. */
export interface MessageProgress {
  messageId: string;
  jobId: string;
  tenant: string;
  intent: string;
  status: string;
  createdAt: Date;
  updatedAt: Date;
  steps: StepProgress[];
}

/** A dead-lettered step, or a chain the queue gave up on outside any step (then `stepPath` is empty). */
export interface DeadStep {
  messageId: string;
  jobId: string;
  tenant: string;
  intent: string;
  /** The dead step's path; empty when the chain died outside a step (repeated worker failures). */
  stepPath: string;
  /** The dead step's name and action (absent when the chain died outside a step). */
  name?: string;
  action?: string;
  attempts: number;
  reason: string;
  failedAt: Date;
}

/** The control surface the admin API and the CLI call. */
export interface JobControl {
  messageStatus(messageId: string): Promise<MessageProgress | null>;
  /** Dead-lettered work, oldest first (at most LIMITS.DEAD_LIST_MAX), of one tenant or all. */
  listDead(tenant?: string): Promise<DeadStep[]>;
  /** Re-queues the dead-lettered step (the first one, or `stepPath`); false when nothing was dead-lettered. */
  redrive(messageId: string, stepPath?: string): Promise<boolean>;
}

/** The reason given for a chain that died outside any step. */
const QUEUE_GAVE_UP = 'the queue gave up on this chain after repeated worker failures (crashes or storage errors; see the worker log)';

/** JobControl over the store's database. */
export function createJobControl(db: Db): JobControl {
  return {
    async messageStatus(messageId) {
      if (!UUID.test(messageId)) return null;
      const job = (await db.select().from(jobs).where(eq(jobs.messageId, messageId)))[0];
      if (!job) return null;
      const steps = await db.select().from(stepRuns).where(eq(stepRuns.jobId, job.id)).orderBy(asc(stepRuns.createdAt), asc(stepRuns.path));
      return {
        messageId,
        jobId: job.id,
        tenant: job.tenant,
        intent: job.intent,
        status: job.status,
        createdAt: job.createdAt,
        updatedAt: job.updatedAt,
        steps: steps.map((s) => ({
          path: s.path,
          name: s.name,
          action: s.action,
          status: s.status,
          attempts: s.attempts,
          lastError: s.lastError,
          resourceId: s.resourceId,
          webhookId: s.webhookId,
          nextAttemptAt: s.nextAttemptAt,
          startedAt: s.startedAt,
          finishedAt: s.finishedAt,
          updatedAt: s.updatedAt,
        })),
      };
    },

    async listDead(tenant) {
      const dead = await db
        .select()
        .from(jobs)
        .where(tenant === undefined ? eq(jobs.status, 'dead') : and(eq(jobs.status, 'dead'), eq(jobs.tenant, tenant)))
        .orderBy(asc(jobs.updatedAt))
        .limit(LIMITS.DEAD_LIST_MAX);
      if (dead.length === 0) return [];
      const steps = await db
        .select()
        .from(stepRuns)
        .where(
          and(
            inArray(
              stepRuns.jobId,
              dead.map((j) => j.id),
            ),
            eq(stepRuns.status, 'dead'),
          ),
        );
      const byJob = new Map<string, (typeof steps)[number][]>();
      for (const s of steps) byJob.set(s.jobId, [...(byJob.get(s.jobId) ?? []), s]);
      const out: DeadStep[] = [];
      for (const j of dead) {
        const mine = byJob.get(j.id) ?? [];
        if (mine.length === 0) {
          out.push({ messageId: j.messageId, jobId: j.id, tenant: j.tenant, intent: j.intent, stepPath: '', attempts: 0, reason: QUEUE_GAVE_UP, failedAt: j.updatedAt });
        }
        for (const s of mine) {
          out.push({
            messageId: j.messageId,
            jobId: j.id,
            tenant: j.tenant,
            intent: j.intent,
            stepPath: s.path,
            name: s.name,
            action: s.action,
            attempts: s.attempts,
            reason: s.lastError ?? 'failed',
            failedAt: s.finishedAt ?? s.updatedAt,
          });
        }
      }
      return out;
    },

    async redrive(messageId, stepPath) {
      if (!UUID.test(messageId)) return false;
      return redriveJob(db, messageId, stepPath);
    },
  };
}

/** Counts of jobs by status (for `intentmail jobs` and the benchmark). */
export async function jobCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db.select({ status: jobs.status, n: sql<number>`count(*)::int` }).from(jobs).groupBy(jobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
