/**
 * A worker thread that parses stored messages for chain passes (src/runner/parse-pool.ts).
 *
 * postal-mime gathers every decoded body line as one part of a `Blob` and reads it back with
 * `Blob.arrayBuffer()`, which Node performs one part per microtask: for a 20 KB text message
 * that is most of the parse time. In this thread, which runs nothing but the parser, `Blob` is
 * replaced by one backed by plain arrays; the parser, its limits and its output are unchanged.
 */
import { parentPort } from 'node:worker_threads';
import { parseMessage } from '../message/parse.ts';

type Part = string | ArrayBuffer | ArrayBufferView | ArrayBlob;

/** The part of the Blob interface postal-mime uses: construction from parts and `arrayBuffer()`. */
class ArrayBlob {
  readonly #bytes: Uint8Array;
  readonly type: string;

  constructor(parts: Part[] = [], options: { type?: string } = {}) {
    const encoder = new TextEncoder();
    const chunks = parts.map((p) => {
      if (typeof p === 'string') return encoder.encode(p);
      if (p instanceof ArrayBlob) return p.#bytes;
      if (p instanceof ArrayBuffer) return new Uint8Array(p);
      return new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    });
    this.#bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      this.#bytes.set(c, at);
      at += c.byteLength;
    }
    this.type = options.type ?? '';
  }

  get size(): number {
    return this.#bytes.byteLength;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes.slice().buffer;
  }

  get [Symbol.toStringTag](): string {
    return 'Blob';
  }
}

(globalThis as { Blob: unknown }).Blob = ArrayBlob;

parentPort!.on('message', (msg: { id: number; raw: Uint8Array }) => {
  parseMessage(msg.raw).then(
    (verdict) => parentPort!.postMessage({ id: msg.id, verdict }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
