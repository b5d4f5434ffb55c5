/**
 * The durable queue: pg-boss on the project's PostgreSQL. On a server it has its own `pg` pool
 * (LISTEN/NOTIFY wakes workers the moment a job is queued); on embedded PGlite it shares the
 * store's single session through pg-boss's PGlite adapter (notifications are in-process there).
 * pg-boss fetches with `FOR UPDATE SKIP LOCKED`, so two workers never receive the same job, and
 * gives a dead worker's job to another once its heartbeat stops.
 *
 * One queue job means "advance this message's chain as far as it can go now"; the step state
 * that makes a second delivery of such a job harmless lives in `step_runs` (src/runner).
 */
import { sql } from 'drizzle-orm';
import { PgBoss, fromDrizzle, fromPglite, type ConstructorOptions } from 'pg-boss';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { Logger } from '../core/ports.ts';
import type { Driver } from '../store/driver.ts';

/** The chain queue and the queue its poisoned jobs end up in. */
export const CHAIN_QUEUE = 'intentmail-chain';
export const CHAIN_DEAD_QUEUE = 'intentmail-chain-dead';
/** The PostgreSQL schema pg-boss keeps its tables in. */
export const QUEUE_SCHEMA = 'pgboss';

/** What one queue job carries: the chain to advance. */
export interface ChainJobData {
  jobId: string;
  messageId: string;
}

/** A transaction of the store's drizzle database (what the outbox relay and the runner write in). */
export type Tx = Parameters<Parameters<Driver['db']['transaction']>[0]>[0];

/** Timing knobs of pg-boss' own housekeeping (tests shorten them). */
export interface BossOptions {
  /** How often expired or heartbeat-less jobs are looked for, in seconds (default LIMITS.QUEUE_SUPERVISE_S). */
  superviseIntervalSeconds?: number;
}

/** The running queue. */
export interface Queue {
  boss: PgBoss;
  /** Queues a chain run inside the caller's transaction: it exists if and only if that transaction commits. */
  enqueueInTx(tx: Tx, jobs: (ChainJobData & { id?: string; startAfterSeconds?: number })[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts pg-boss on the store's database and makes sure both queues exist. */
export async function startQueue(driver: Driver, logger: Logger, opts: BossOptions = {}): Promise<Queue> {
  const supervise = opts.superviseIntervalSeconds ?? LIMITS.QUEUE_SUPERVISE_S;
  const common: ConstructorOptions = {
    schema: QUEUE_SCHEMA,
    supervise: true,
    superviseIntervalSeconds: supervise,
    monitorIntervalSeconds: supervise,
    useListenNotify: true,
    // Job ids and queue counts are what operators read; the instance registry and OpenTelemetry add nothing here.
    registerInstance: false,
    openTelemetry: { enabled: false },
  };
  let boss: PgBoss;
  if (driver.pglite) {
    boss = new PgBoss({ ...common, db: fromPglite(driver.pglite), backend: 'pglite' });
  } else if (driver.url) {
    boss = new PgBoss({ ...common, connectionString: driver.url, max: LIMITS.QUEUE_POOL_MAX, application_name: 'intentmail-queue' });
  } else {
    throw new IntentmailError('internal', 'the queue needs PGlite or a PostgreSQL URL');
  }
  boss.on('error', (err: unknown) => logger.warn('queue error', { error: err instanceof Error ? err.message : String(err) }));
  boss.on('warning', (w: { message?: string }) => logger.debug('queue warning', { warning: w.message }));
  try {
    await boss.start();
    await ensureQueues(boss);
    // Loads both queues into pg-boss' cache now: a first send inside a PGlite transaction must not
    // have to read the queue table outside it (the single session is held by the transaction).
    await boss.insert(CHAIN_QUEUE, []);
    await boss.insert(CHAIN_DEAD_QUEUE, []);
  } catch (cause) {
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    throw new IntentmailError('storage_unavailable', 'cannot start the job queue', { cause });
  }
  return {
    boss,
    enqueueInTx: async (tx, jobs) => {
      if (jobs.length === 0) return;
      const db = fromDrizzle(tx as unknown as Parameters<typeof fromDrizzle>[0], sql);
      await boss.insert(
        CHAIN_QUEUE,
        jobs.map((j) => ({
          ...(j.id ? { id: j.id } : {}),
          data: { jobId: j.jobId, messageId: j.messageId },
          // An interval is resolved by the database clock, the one every node shares.
          ...(j.startAfterSeconds ? { startAfter: `${Math.ceil(j.startAfterSeconds)} seconds` } : {}),
        })),
        { db },
      );
    },
    stop: () => boss.stop({ graceful: true, close: true, timeout: LIMITS.QUEUE_STOP_GRACE_MS }),
  };
}

/**
 * Creates the chain queue and its dead-letter queue if missing. A chain job is retried by the
 * queue only when its worker died or the store failed (steps schedule their own retries);
 * after QUEUE_RETRY_LIMIT such tries it moves to the dead-letter queue, where a worker marks the
 * job dead for an operator to re-drive.
 */
async function ensureQueues(boss: PgBoss): Promise<void> {
  const have = new Set((await boss.getQueues([CHAIN_QUEUE, CHAIN_DEAD_QUEUE])).map((q) => q.name));
  if (!have.has(CHAIN_DEAD_QUEUE)) await boss.createQueue(CHAIN_DEAD_QUEUE, { notify: true, retryLimit: 3, retentionSeconds: LIMITS.QUEUE_RETENTION_S });
  if (!have.has(CHAIN_QUEUE)) {
    await boss.createQueue(CHAIN_QUEUE, {
      notify: true,
      deadLetter: CHAIN_DEAD_QUEUE,
      retryLimit: LIMITS.QUEUE_RETRY_LIMIT,
      retryDelay: 2,
      retryBackoff: true,
      retryDelayMax: 3600,
      heartbeatSeconds: LIMITS.QUEUE_HEARTBEAT_S,
      expireInSeconds: LIMITS.QUEUE_EXPIRE_S,
      retentionSeconds: LIMITS.QUEUE_RETENTION_S,
      deleteAfterSeconds: LIMITS.QUEUE_KEEP_DONE_S,
    });
  }
}
