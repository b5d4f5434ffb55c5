/**
 * The HTTP listener: `GET /healthz` answers 200 when the database answers, 503 otherwise
 * (../shared/spec/interface.md, HTTP). Errors are RFC 9457 problem documents.
 */
import { createServer, type Server } from 'node:http';
import { IntentmailError, toProblem } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import type { Store } from '../../core/store-port.ts';

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the HTTP listener on host:port. */
export async function startHttpListener(opts: { host: string; port: number; store: Store; logger: Logger }): Promise<HttpListener> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      opts.store.ping().then(
        (ok) => send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', database: ok }),
        () => send(503, { status: 'unavailable', database: false }),
      );
      return;
    }
    const problem = toProblem(new IntentmailError('not_found', `No route for ${req.method} ${url.pathname}`));
    send(problem.status, problem, 'application/problem+json');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  opts.logger.info('http listening', { host: opts.host, port });
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
