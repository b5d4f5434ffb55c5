/**
 * The outbox relay: accepted jobs → queue jobs.
 *
 * Why an outbox rather than enqueueing inside the acceptance transaction: the `jobs` row is
 * already written in that transaction (store.acceptMessage), so the job exists if and only if
 * the message was accepted, and the SMTP path stays free of the queue (the store knows nothing
 * of pg-boss, and a queue outage cannot turn into a 451 for senders). The relay moves `pending`
 * jobs into pg-boss and marks them `queued` in ONE transaction — the queue job exists if and only
 * if that commit happened — so a crash at any point between the 250 and the queue loses nothing
 * (the row is still `pending` and the next pass, on any node, takes it) and duplicates nothing
 * (`FOR UPDATE SKIP LOCKED` keeps two relays off the same rows; the status change is atomic with
 * the enqueue). A local accept nudges the relay at once; it also polls, for jobs accepted on
 * other nodes and rows left by a crash.
 */
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { LIMITS } from '../core/limits.ts';
import type { Logger } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import type { Db } from '../store/driver.ts';
import { jobs } from '../store/schema/index.ts';
import type { Queue } from './boss.ts';

/** A running relay. */
export interface Relay {
  /** Asks for a pass soon (a message was just accepted here). */
  nudge(): void;
  /** One pass now: returns how many jobs it queued. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** Moves up to RELAY_BATCH pending jobs into the queue in one transaction. */
export async function relayPending(db: Db, queue: Queue, limit: number = LIMITS.RELAY_BATCH): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: jobs.id, messageId: jobs.messageId })
      .from(jobs)
      .where(eq(jobs.status, 'pending'))
      .orderBy(asc(jobs.createdAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (rows.length === 0) return 0;
    await queue.enqueueInTx(
      tx,
      rows.map((r) => ({ jobId: r.id, messageId: r.messageId })),
    );
    await tx
      .update(jobs)
      .set({ status: 'queued', updatedAt: sql`now()` })
      .where(
        inArray(
          jobs.id,
          rows.map((r) => r.id),
        ),
      );
    return rows.length;
  });
}

/** Starts the relay loop: a pass on every nudge (coalesced) and every `pollMs`. */
export function startRelay(deps: { db: Db; queue: Queue; logger: Logger; pollMs?: number }): Relay {
  const pollMs = deps.pollMs ?? LIMITS.RELAY_POLL_MS;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const pass = async (): Promise<void> => {
    do {
      again = false;
      try {
        const moved = await relayPending(deps.db, deps.queue);
        if (moved === LIMITS.RELAY_BATCH) again = true;
      } catch (err) {
        deps.logger.warn('outbox relay pass failed; the jobs stay pending and are retried', { error: err instanceof Error ? err.message : String(err) });
        return;
      }
    } while (again && !stopped);
  };
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => {
      running = null;
      if (again && !stopped) kick();
    });
  };
  const timer = setInterval(kick, pollMs);
  timer.unref();
  kick();
  return {
    nudge: kick,
    runOnce: () => relayPending(deps.db, deps.queue),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The store as the pipeline sees it, with every commit of an accepted message nudging the relay. */
export function nudgingStore(store: Store, relay: Pick<Relay, 'nudge'>): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'acceptMessage') {
        return async (...args: Parameters<Store['acceptMessage']>) => {
          const record = await target.acceptMessage(...args);
          relay.nudge();
          return record;
        };
      }
      // The target as receiver: the store's getters read its private fields.
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
