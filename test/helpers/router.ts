/**
 * Starts the real router in-process for end-to-end tests: the composition root, the SMTP and
 * HTTP listeners on ephemeral loopback ports, DNS answered by a real local DNS server, and the
 * store on PGlite (or on PostgreSQL when DATABASE_URL is set; see test/helpers/db.ts).
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../src/config/env.ts';
import { buildApp, startServing, type App, type Running } from '../../src/app/compose.ts';
import { silentLogger, type Logger } from '../../src/core/ports.ts';
import { jsonLogger } from '../../src/adapters/node/logger.ts';
import type { SmtpTimeouts } from '../../src/adapters/smtp/listener.ts';

export interface TestRouter {
  smtpPort: number;
  httpPort: number;
  app: App;
  running: Running;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Writes a policy folder from `{ 'acme/tenant.yaml': '…' }` into a fresh temp dir and returns its path. */
export function writePolicyFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'intentmail-intents-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Starts the router with the given environment (ports default to 0 = any free port). */
export async function startRouter(env: Record<string, string>, opts: { timeouts?: Partial<SmtpTimeouts> } = {}): Promise<TestRouter> {
  const full: Record<string, string> = {
    INTENTMAIL_SMTP_PORT: '0',
    INTENTMAIL_HTTP_PORT: '0',
    INTENTMAIL_HOSTNAME: 'mx.intentmail.test',
    INTENTMAIL_LOG_LEVEL: 'error',
    ...env,
  };
  const config = loadConfig(full, { hostname: 'mx.intentmail.test' });
  const logger: Logger = process.env.INTENTMAIL_TEST_LOG ? jsonLogger('debug') : silentLogger;
  const app = await buildApp(config, { logger, env: full });
  const running = await startServing(app, opts);
  return {
    smtpPort: running.smtp.port,
    httpPort: running.http.port,
    app,
    running,
    env: full,
    async stop() {
      await running.close();
      await app.close();
    },
  };
}
