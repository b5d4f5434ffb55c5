/**
 * The Node side of the HTTP surface: serves the Hono app (src/api/app.ts) through
 * @hono/node-server, reads the Swagger UI files for /docs from the installed swagger-ui-dist
 * package (the machine may be offline; nothing comes from a CDN), and tells the app the
 * client's address for audit records.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { Logger } from '../../core/ports.ts';
import type { DocsAssets } from '../../api/ports.ts';

/** A running HTTP listener. */
export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `fetch` (a Hono app's) on host:port; resolves once listening. */
export async function startHttpServer(opts: { host: string; port: number; fetch: (req: Request, env: unknown) => Response | Promise<Response>; logger: Logger }): Promise<HttpListener> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: opts.fetch, port: opts.port, hostname: opts.host }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info('http listening', { host: opts.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open; idle ones go now, busy ones finish their request.
        server.closeIdleConnections();
      }),
  };
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
};

/** The Swagger UI files from node_modules/swagger-ui-dist, read on first use and kept in memory. */
export function swaggerUiAssets(): DocsAssets {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<{ body: Uint8Array; type: string } | null>>();
  return {
    get(name) {
      const ext = name.slice(name.lastIndexOf('.'));
      // Only plain file names of known types: the route allows a fixed list, this is the second fence.
      if (!/^[a-z0-9-]+\.[a-z]+$/.test(name) || TYPES[ext] === undefined) return Promise.resolve(null);
      let entry = cache.get(name);
      if (entry === undefined) {
        entry = readFile(join(dir, name)).then(
          (buf) => ({ body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), type: TYPES[ext] }),
          () => null,
        );
        cache.set(name, entry);
      }
      return entry;
    },
  };
}

/** The remote address of the request's connection (the audit records' actor IP). */
export function nodeClientIp(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}
