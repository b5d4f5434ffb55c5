/**
 * Group commit for the runner's database work. Chains run side by side; each of them asks for
 * small writes (claim this step, record that outcome). A Batcher collects what is asked while
 * one flush is in flight and sends it all in the next flush: one statement or one transaction
 * (one fsync, one hold of the tenant's audit-chain lock) for many chains. With nothing in
 * flight a request is flushed at once, so a quiet system pays no added latency.
 */

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/** Collects items and flushes them in batches of at most `max`, one flush at a time. */
export class Batcher<I, O> {
  readonly #flush: (items: I[]) => Promise<O[]>;
  readonly #max: number;
  #queue: Pending<I, O>[] = [];
  #running = false;

  /** `flush` gets the items in submission order and returns one result per item, in the same order. */
  constructor(flush: (items: I[]) => Promise<O[]>, max: number) {
    this.#flush = flush;
    this.#max = max;
  }

  /** Queues one item; resolves with its result once its batch has been flushed (rejects if that flush failed). */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#max);
        try {
          const results = await this.#flush(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(results[i]));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
