/**
 * A fresh, empty database for one test: with DATABASE_URL set, a uniquely named database on
 * that PostgreSQL server (dropped on cleanup); otherwise a temp directory for embedded PGlite
 * (removed on cleanup). The same test files thus run on both drivers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { LIMITS } from '../../src/core/limits.ts';
import { silentLogger, systemClock, type Clock, type Signer } from '../../src/core/ports.ts';
import { applyMigrations, openDriver, resultRows } from '../../src/store/driver.ts';
import { DrizzleStore } from '../../src/store/drizzle-store.ts';

/** Options for openStore/migrateDatabase pointing at an empty database, and how to remove it. */
export interface TestStoreOptions {
  databaseUrl?: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** True when tests run against a PostgreSQL server (DATABASE_URL) rather than PGlite. */
export const onServer = (process.env.DATABASE_URL ?? '') !== '';

/** Creates the fresh database (and always a temp data dir) for one test. */
export async function testStoreOptions(): Promise<TestStoreOptions> {
  const dataDir = await mkdtemp(join(tmpdir(), 'intentmail-store-'));
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl === undefined || serverUrl === '') {
    return { dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `intentmail_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir,
    cleanup: async () => {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        // WITH (FORCE) (PostgreSQL 13+) ends sessions a failed test may have left open.
        await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end({ timeout: 5 });
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A store over a driver the test can also reach with raw SQL (PGlite allows one handle per
 * data directory, so tampering must go through the store's own connection).
 */
export interface RawStore {
  store: DrizzleStore;
  /** Runs raw SQL on the store's database and returns the rows. */
  query(text: string): Promise<Record<string, unknown>[]>;
}

/** Opens and migrates the database like openStore, keeping a raw SQL handle for tampering tests. */
export async function openRawStore(
  location: { databaseUrl?: string; dataDir: string },
  opts: { signer: Signer; clock?: Clock; checkpointEvery?: number; checkpointMaxAgeMs?: number },
): Promise<RawStore> {
  const driver = await openDriver(location);
  await applyMigrations(driver, location, silentLogger);
  const store = new DrizzleStore(driver, {
    signer: opts.signer,
    clock: opts.clock ?? systemClock,
    checkpointEvery: opts.checkpointEvery ?? LIMITS.AUDIT_CHECKPOINT_EVERY,
    checkpointMaxAgeMs: opts.checkpointMaxAgeMs ?? LIMITS.AUDIT_CHECKPOINT_MAX_AGE_MS,
    logger: silentLogger,
  });
  return { store, query: async (text) => resultRows(await driver.db.execute(sql.raw(text))) };
}

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  #ms: number;
  constructor(start = Date.parse('2025-01-01T00:00:00Z')) {
    this.#ms = start;
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}
