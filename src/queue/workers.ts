/**
 * Worker loops on the chain queue. Each loop fetches a batch (pg-boss, `FOR UPDATE SKIP
 * LOCKED`), runs the chains in it side by side and settles each job on its own; heartbeats keep
 * a running job ours, and when a worker dies its jobs go to another worker once the heartbeat
 * stops. A pass that throws (storage trouble, a step still claimed by a dead attempt) is retried
 * by the queue with back-off; after QUEUE_RETRY_LIMIT tries the job reaches the dead-letter
 * queue, whose worker marks the chain dead for an operator.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { AuditEvent } from '../core/audit-event.ts';
import { LIMITS } from '../core/limits.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { Db } from '../store/driver.ts';
import { jobs } from '../store/schema/index.ts';
import { CHAIN_DEAD_QUEUE, CHAIN_QUEUE, type ChainJobData, type Queue } from './boss.ts';
import type { ChainRunner } from '../runner/chain.ts';

/** Loops per process: batches are settled as a whole, so several loops keep a slow chain from holding up the rest. */
const LOOPS = 4;

/** Running workers. */
export interface Workers {
  stop(): Promise<void>;
}

/** Starts `concurrency` chain slots (spread over a few loops) and the dead-letter worker. */
export async function startWorkers(deps: {
  queue: Queue;
  runner: ChainRunner;
  db: Db;
  concurrency: number;
  logger: Logger;
  /** Appends the audit record of a chain the queue gave up on. */
  audit: (event: AuditEvent) => Promise<unknown>;
  clock: Clock;
  pollingIntervalSeconds?: number;
}): Promise<Workers> {
  const { boss } = deps.queue;
  const loops = Math.max(1, Math.min(LOOPS, deps.concurrency));
  const batchSize = Math.max(1, Math.ceil(deps.concurrency / loops));
  const polling = deps.pollingIntervalSeconds ?? 1;
  await boss.work<ChainJobData>(
    CHAIN_QUEUE,
    {
      batchSize,
      localConcurrency: loops,
      includeMetadata: true,
      perJobResults: true,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: polling,
      notifyPollingIntervalSeconds: polling,
    },
    async (batch) =>
      Promise.all(
        batch.map(async (job) => {
          try {
            const r = await deps.runner.run(job.data, { queueJobId: job.id, retryCount: job.retryCount });
            return { id: job.id, status: 'completed' as const, output: r };
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            deps.logger.warn('chain pass failed; the queue retries it', { jobId: job.data.jobId, attempt: job.retryCount, error: reason });
            return { id: job.id, status: 'failed' as const, output: { error: reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) } };
          }
        }),
      ),
  );
  await boss.work<ChainJobData>(CHAIN_DEAD_QUEUE, { batchSize: 10, pollingIntervalSeconds: polling }, async (batch) => {
    for (const job of batch) {
      const dead = await markChainDead(deps.db, job.data.jobId);
      deps.logger.error('chain dead-lettered after repeated worker failures', { jobId: job.data.jobId, messageId: job.data.messageId });
      if (dead) await deps.audit(chainDeadEvent(dead, job.data, deps.clock.now()));
    }
  });
  return {
    stop: async () => {
      await boss.offWork(CHAIN_QUEUE, { wait: true });
      await boss.offWork(CHAIN_DEAD_QUEUE, { wait: true });
    },
  };
}

/** Marks a chain dead after the queue gave up on it (unless it finished meanwhile); returns its tenant and intent when it did. */
export async function markChainDead(db: Db, jobId: string): Promise<{ tenant: string; intent: string } | null> {
  const rows = await db
    .update(jobs)
    .set({ status: 'dead', updatedAt: sql`now()` })
    .where(sql`${eq(jobs.id, jobId)} AND ${jobs.status} NOT IN ('done', 'stopped', 'rejected', 'quarantined', 'dead', 'erased')`)
    .returning({ tenant: jobs.tenant, intent: jobs.intent });
  return rows[0] ?? null;
}

/** The audit record of a chain the queue gave up on (no step outcome tells it). */
function chainDeadEvent(job: { tenant: string; intent: string }, data: ChainJobData, now: Date): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant: job.tenant,
    actor: { email: null, verified: false, ip: null, helo: null },
    action: { type: 'chain.dead', target: data.messageId, intent: job.intent, parameters: { messageId: data.messageId, jobId: data.jobId } },
    authentication: null,
    authorization: { permitted: true, role: null, policy: null, reason: `the queue gave up after ${LIMITS.QUEUE_RETRY_LIMIT} failed passes (worker crashes or storage errors)` },
    result: { status: 'dead', resourceId: data.jobId },
  };
}
