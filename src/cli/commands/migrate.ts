/**
 * `intentmail migrate`: applies pending database migrations (also done on every start).
 */
import { migrateDatabase } from '../../store/open.ts';
import { configFromArgs } from '../context.ts';

/** Applies migrations and reports how many ran. */
export async function migrateCommand(args: string[]): Promise<number> {
  const { config } = configFromArgs(args);
  const { applied } = await migrateDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  process.stdout.write(`migrations applied: ${applied} (${config.databaseUrl ? 'PostgreSQL server' : `embedded database in ${config.dataDir}`})\n`);
  return 0;
}
