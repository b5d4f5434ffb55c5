/**
 * Raw SQL against a test database while nothing else holds it (PGlite allows one process per
 * data directory): the tamper tests change rows behind the router's back this way.
 */
import { sql } from 'drizzle-orm';
import { openDriver, resultRows } from '../../src/store/driver.ts';

/** Opens the database at `location`, runs one statement, closes it, returns the rows. */
export async function withSql(location: { databaseUrl?: string; dataDir: string }, text: string): Promise<Record<string, unknown>[]> {
  const driver = await openDriver(location);
  try {
    return resultRows(await driver.db.execute(sql.raw(text)));
  } finally {
    await driver.close();
  }
}
