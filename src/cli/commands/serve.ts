/**
 * `intentmail serve`: SMTP ingress and the HTTP listener in one process; stops cleanly on
 * SIGINT/SIGTERM (open sessions finish, chain heads are signed).
 */
import { buildApp, startServing } from '../../app/compose.ts';
import { configFromArgs } from '../context.ts';

/** Runs until a signal arrives. */
export async function serveCommand(args: string[]): Promise<number> {
  const { config, env, rest, logger } = configFromArgs(args);
  if (rest.length > 0) {
    process.stderr.write(`intentmail serve: unexpected argument ${rest[0]}\n`);
    return 2;
  }
  const app = await buildApp(config, { logger, env });
  const running = await startServing(app);
  logger.info('intentmail ready', {
    smtp: `${config.smtpHost}:${running.smtp.port}`,
    http: `${config.httpHost}:${running.http.port}`,
    tenants: [...app.policy.tenants.keys()],
    database: config.databaseUrl ? 'postgresql' : 'embedded (PGlite)',
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  await running.close();
  await app.close();
  return 0;
}
