/**
 * Parses stored messages for chain passes off the main thread (src/runner/parse-worker.ts): the
 * worker threads use the second core, and parse several times faster than the main thread
 * can (see the worker for why). The result is the same ParsedMessage verdict that
 * src/message/parse.ts gives; header maps get their null prototype back after the copy.
 */
import { Worker } from 'node:worker_threads';
import type { Verdict } from '../core/verdict.ts';
import type { ParsedMessage } from '../message/parse.ts';

/** A pool of parser threads. */
export interface ParsePool {
  parse(raw: Uint8Array): Promise<Verdict<ParsedMessage>>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (v: Verdict<ParsedMessage>) => void; reject: (e: unknown) => void }>;
}

/** Starts `size` parser threads; requests go round-robin. */
export function startParsePool(size: number): ParsePool {
  let next = 0;
  let seq = 0;
  const slots: Slot[] = Array.from({ length: size }, () => {
    const worker = new Worker(new URL('./parse-worker.ts', import.meta.url));
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; verdict?: Verdict<ParsedMessage>; error?: string }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.error !== undefined || !m.verdict) p.reject(new Error(m.error ?? 'parser thread gave no answer'));
      else p.resolve(restorePrototypes(m.verdict));
    });
    worker.on('error', (err) => {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    });
    worker.unref();
    return slot;
  });
  return {
    parse(raw) {
      const slot = slots[next++ % slots.length];
      const id = seq++;
      return new Promise((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, raw });
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/** The header map is prototype-less in the parser (a header named `constructor` is just a header); a copy is not. */
function restorePrototypes(v: Verdict<ParsedMessage>): Verdict<ParsedMessage> {
  if (!v.detail) return v;
  const headers = Object.create(null) as Record<string, string[]>;
  for (const [k, values] of Object.entries(v.detail.headers)) Object.defineProperty(headers, k, { value: values, enumerable: true, writable: true, configurable: true });
  return { ...v, detail: { ...v.detail, headers } };
}
