/**
 * `intentmail worker`: workers only — the outbox relay and the chain workers, no listeners.
 * Many of these share one PostgreSQL (scale-out); on the embedded database only one process can
 * hold it, so there `serve` runs its workers itself. Stops cleanly on SIGINT/SIGTERM: running
 * steps finish (up to QUEUE_STOP_GRACE_MS), chain heads are signed.
 */
import { buildApp, startChain } from '../../app/compose.ts';
import { IntentmailError } from '../../core/errors.ts';
import { configFromArgs } from '../context.ts';

/** How often the worker signs audit chain heads (records it appended since the last checkpoint). */
const CHECKPOINT_EVERY_MS = 10_000;

/** Runs until a signal arrives. */
export async function workerCommand(args: string[]): Promise<number> {
  const { config, env, rest, logger } = configFromArgs(args);
  if (rest.length > 0) {
    process.stderr.write(`intentmail worker: unexpected argument ${rest[0]}\n`);
    return 2;
  }
  if (config.workerConcurrency === 0) {
    throw new IntentmailError('config_invalid', 'INTENTMAIL_WORKER_CONCURRENCY: a worker needs at least 1', { detail: { variable: 'INTENTMAIL_WORKER_CONCURRENCY' } });
  }
  const app = await buildApp(config, { logger, env });
  const store = await app.store();
  const chain = await startChain(app);
  const sign = async () => {
    for (const t of await store.auditTenants()) await store.checkpoint(t);
  };
  const timer = setInterval(() => {
    sign().catch((err: unknown) => logger.warn('audit checkpoint failed', { error: err instanceof Error ? err.message : String(err) }));
  }, CHECKPOINT_EVERY_MS);
  timer.unref();
  logger.info('intentmail worker ready', {
    concurrency: config.workerConcurrency,
    database: config.databaseUrl ? 'postgresql' : 'embedded (PGlite)',
    relay: config.relayUrl ? 'configured' : 'none',
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  logger.info('shutting down');
  clearInterval(timer);
  await chain.stop();
  await sign();
  await app.close();
  return 0;
}
