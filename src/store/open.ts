/**
 * Entry points for the durable store: `openStore` (migrate, then serve the Store port) and
 * `migrateDatabase` (the `intentmail migrate` command). DATABASE_URL unset means embedded
 * PGlite persisted in `<dataDir>/pglite`; set, a PostgreSQL server through postgres-js.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { silentLogger, systemClock, type Clock, type Logger, type Signer } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import { DrizzleStore } from './drizzle-store.ts';
import { applyMigrations, openDriver, openMigratedDriver } from './driver.ts';

/** How to open the store. */
export interface OpenStoreOptions {
  databaseUrl?: string;
  dataDir: string;
  signer: Signer;
  clock?: Clock;
  /** Records between signed checkpoints (default LIMITS.AUDIT_CHECKPOINT_EVERY). */
  checkpointEvery?: number;
  /** Age of the last checkpoint after which the next append signs one (default LIMITS.AUDIT_CHECKPOINT_MAX_AGE_MS). */
  checkpointMaxAgeMs?: number;
  logger?: Logger;
}

/** Opens the database, applies pending migrations (serialised across nodes) and returns the Store. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const checkpointEvery = opts.checkpointEvery ?? LIMITS.AUDIT_CHECKPOINT_EVERY;
  const checkpointMaxAgeMs = opts.checkpointMaxAgeMs ?? LIMITS.AUDIT_CHECKPOINT_MAX_AGE_MS;
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1 || !Number.isFinite(checkpointMaxAgeMs) || checkpointMaxAgeMs < 0) {
    throw new IntentmailError('config_invalid', 'audit checkpoint interval must be a positive record count and a non-negative age');
  }
  const logger = opts.logger ?? silentLogger;
  const location = { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir };
  const driver = await openMigratedDriver(location, logger);
  return new DrizzleStore(driver, {
    signer: opts.signer,
    clock: opts.clock ?? systemClock,
    checkpointEvery,
    checkpointMaxAgeMs,
    logger,
  });
}

/** Applies pending migrations and closes again; `applied` counts the migrations this call ran. */
export async function migrateDatabase(opts: { databaseUrl?: string; dataDir: string; logger?: Logger }): Promise<{ applied: number }> {
  const driver = await openDriver(opts);
  try {
    return await applyMigrations(driver, opts, opts.logger ?? silentLogger);
  } finally {
    await driver.close();
  }
}
