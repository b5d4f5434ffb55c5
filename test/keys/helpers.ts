/**
 * A key store on a fresh database (PGlite, or a PostgreSQL server with DATABASE_URL), a raw SQL
 * handle for looking at what is stored, and the audit events it appended.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { AuditEvent } from '../../src/core/audit-event.ts';
import type { Clock } from '../../src/core/ports.ts';
import { keyStoreOver } from '../../src/keys/open.ts';
import type { KeyStore } from '../../src/keys/store.ts';
import { applyMigrations, openDriver, resultRows } from '../../src/store/driver.ts';
import { silentLogger } from '../../src/core/ports.ts';
import { testStoreOptions } from '../helpers/db.ts';

/** An open test key store. */
export interface TestKeyStore {
  keys: KeyStore;
  masterKey: Uint8Array;
  audit: AuditEvent[];
  query(text: string): Promise<Record<string, unknown>[]>;
  /** Another key store on the same database with another master key (what a thief of the database has). */
  withMasterKey(masterKey: Uint8Array): KeyStore;
  close(): Promise<void>;
}

/** Opens a fresh database with the migrations applied and a key store over it. */
export async function openTestKeyStore(clock?: Clock): Promise<TestKeyStore> {
  const opts = await testStoreOptions();
  const location = { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir };
  const driver = await openDriver(location);
  await applyMigrations(driver, location, silentLogger);
  const masterKey = new Uint8Array(randomBytes(32));
  const audit: AuditEvent[] = [];
  const record = async (e: AuditEvent) => {
    audit.push(e);
  };
  return {
    keys: keyStoreOver(driver, { masterKey, clock, audit: record }),
    masterKey,
    audit,
    query: async (text) => resultRows(await driver.db.execute(sql.raw(text))),
    withMasterKey: (other) => keyStoreOver(driver, { masterKey: other, clock }),
    close: async () => {
      await driver.close();
      await opts.cleanup();
    },
  };
}
