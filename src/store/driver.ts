/**
 * Opens the database behind the store: embedded PGlite in `<dataDir>/pglite` when no
 * DATABASE_URL is given, a PostgreSQL server through postgres-js otherwise; and applies the
 * drizzle migrations under a PostgreSQL advisory lock so nodes starting together take turns.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { Logger } from '../core/ports.ts';
import * as schema from './schema/index.ts';

/** The drizzle database both drivers are used through. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open database: the drizzle handle, the driver kind, and how to close it. */
export interface Driver {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The embedded database itself (one per data directory and process), for components that must share its single session, such as the job queue; null on a server. */
  pglite: PGlite | null;
  /** The server URL (a queue opens its own pool with it); null for the embedded database. */
  url: string | null;
  close(): Promise<void>;
}

/** Where the database lives: a server URL, else the embedded database under dataDir. */
export interface DatabaseLocation {
  databaseUrl?: string;
  dataDir: string;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Advisory lock key pair for migrations: 'intm' in ASCII, then 1 (the migration lock). */
const MIGRATION_LOCK = sql.raw('1768846445, 1');

/** Opens the database named by `location` (PGlite directories are created as needed). */
export async function openDriver(location: DatabaseLocation): Promise<Driver> {
  try {
    if (location.databaseUrl === undefined || location.databaseUrl === '') {
      const dir = join(location.dataDir, 'pglite');
      await mkdir(dir, { recursive: true });
      const client = await PGlite.create(dir);
      const db = drizzlePglite({ client, schema }) as unknown as Db;
      return { db, kind: 'pglite', pglite: client, url: null, close: () => client.close() };
    }
    const client = postgres(location.databaseUrl, { max: LIMITS.DB_POOL_MAX, onnotice: () => {} });
    const db = drizzlePostgres({ client, schema }) as unknown as Db;
    return { db, kind: 'postgres', pglite: null, url: location.databaseUrl, close: () => client.end({ timeout: 5 }) };
  } catch (cause) {
    throw new IntentmailError('storage_unavailable', 'cannot open the database', { cause });
  }
}

/** Opens the database and applies pending migrations; the driver is closed again if migrating fails. */
export async function openMigratedDriver(location: DatabaseLocation, logger: Logger): Promise<Driver> {
  const driver = await openDriver(location);
  try {
    await applyMigrations(driver, location, logger);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return driver;
}

/**
 * Applies pending migrations while holding the migration advisory lock. PGlite has a single
 * session, so the store's own handle is used; on a server a dedicated one-connection client
 * holds the session lock for the whole run (a pooled handle could lock on one connection and
 * migrate on another).
 */
export async function applyMigrations(driver: Driver, location: DatabaseLocation, logger: Logger): Promise<{ applied: number }> {
  try {
    if (driver.kind === 'pglite') return await migrateLocked(driver.db, (db) => migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER }), logger);
    const client = postgres(location.databaseUrl!, { max: 1, onnotice: () => {} });
    try {
      const db = drizzlePostgres({ client, schema }) as unknown as Db;
      await db.execute(sql.raw(`SET lock_timeout = ${LIMITS.DB_MIGRATION_LOCK_WAIT_MS}`));
      return await migrateLocked(db, (locked) => migratePostgres(locked as never, { migrationsFolder: MIGRATIONS_FOLDER }), logger);
    } finally {
      await client.end({ timeout: 5 });
    }
  } catch (cause) {
    if (cause instanceof IntentmailError) throw cause;
    throw new IntentmailError('storage_unavailable', 'database migration failed', { cause });
  }
}

async function migrateLocked(db: Db, run: (db: Db) => Promise<void>, logger: Logger): Promise<{ applied: number }> {
  await db.execute(sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    const before = await appliedCount(db);
    await run(db);
    const applied = (await appliedCount(db)) - before;
    if (applied > 0) logger.info('database migrations applied', { applied });
    return { applied };
  } finally {
    await db.execute(sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
  }
}

/** Rows in drizzle's migration journal table (0 before the first migration created it). */
async function appliedCount(db: Db): Promise<number> {
  const exists = resultRows(await db.execute(sql`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`));
  if (exists[0]?.present !== true) return 0;
  const rows = resultRows(await db.execute(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`));
  return Number(rows[0]?.n ?? 0);
}

/** Rows of a raw `db.execute` result: postgres-js returns an array, PGlite an object with `rows`. */
export function resultRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}
