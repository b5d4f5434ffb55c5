/**
 * A real HTTP webhook receiver for tests: it checks every delivery's Standard Webhooks signature
 * with the test's secrets (a receiver's own verification, src/steps/signature.ts verifyWebhook)
 * and answers as the test scripts it: a status, headers, a body, or no answer at all (hang).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../src/steps/signature.ts';

/** One request as received. */
export interface Delivery {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: unknown;
  verified: boolean;
  headers: IncomingMessage['headers'];
  method: string;
  path: string;
  /** performance.now() when the body was complete. */
  at: number;
  /** The status answered, or null while (or because) the receiver hangs. */
  answered: number | null;
}

/** How to answer: a response, or `hang` (never answer; the socket stays open until close). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Resolves when `pred` holds over the deliveries (polls), or rejects after `ms`. */
  waitFor(pred: (d: Delivery[]) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the receiver on 127.0.0.1 (any free port). `answer` gets the delivery and how many came before with its id. */
export async function startReceiver(opts: { secrets?: string[]; answer?: (d: Delivery, seenBefore: number) => Answer }): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const timestamp = String(req.headers['webhook-timestamp'] ?? '');
      const signature = String(req.headers['webhook-signature'] ?? '');
      const verified = (opts.secrets ?? []).length > 0 && verifyWebhook({ id, timestamp, signature, body, secrets: opts.secrets!, now: new Date() }).ok;
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const d: Delivery = { id, timestamp, signature, body, json, verified, headers: req.headers, method: req.method ?? '', path: req.url ?? '', at: performance.now(), answered: null };
      const seen = deliveries.filter((x) => x.id === id).length;
      deliveries.push(d);
      const a = opts.answer ? opts.answer(d, seen) : { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `R-${deliveries.length}` }) };
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      d.answered = a.status;
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    async waitFor(pred, ms = 20_000) {
      const end = Date.now() + ms;
      while (!pred(deliveries)) {
        if (Date.now() > end) throw new Error(`receiver: condition not met within ${ms} ms (${deliveries.length} deliveries)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
