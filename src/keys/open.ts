/**
 * Builds a key store over an open database driver (the same one the Store and AdminStore use,
 * so PGlite's single handle is shared), and a standalone variant for the `keys` command that
 * opens, migrates and closes the database itself, auditing through a Store on the same driver.
 */
import { LIMITS } from '../core/limits.ts';
import { silentLogger, systemClock, type Clock, type Logger, type Signer } from '../core/ports.ts';
import type { AuditEvent } from '../core/audit-event.ts';
import { DrizzleStore } from '../store/drizzle-store.ts';
import { openMigratedDriver, type Driver } from '../store/driver.ts';
import { drizzleKeyRepository } from './repository.ts';
import { KeyStore } from './store.ts';

/** A key store on `driver`, auditing through `audit` (usually `store.appendAudit`). */
export function keyStoreOver(driver: Driver, opts: { masterKey: Uint8Array; clock?: Clock; audit?: (event: AuditEvent) => Promise<void> }): KeyStore {
  return new KeyStore(drizzleKeyRepository(driver.db), opts);
}

/** Opens the database (migrating it), a Store for the audit chain and a key store on the same driver. */
export async function openKeyStore(opts: {
  databaseUrl?: string;
  dataDir: string;
  signer: Signer;
  masterKey: Uint8Array;
  clock?: Clock;
  logger?: Logger;
}): Promise<{ keys: KeyStore; close(): Promise<void> }> {
  const location = { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir };
  const logger = opts.logger ?? silentLogger;
  const driver = await openMigratedDriver(location, logger);
  const clock = opts.clock ?? systemClock;
  const store = new DrizzleStore(driver, {
    signer: opts.signer,
    clock,
    checkpointEvery: LIMITS.AUDIT_CHECKPOINT_EVERY,
    checkpointMaxAgeMs: LIMITS.AUDIT_CHECKPOINT_MAX_AGE_MS,
    logger,
  });
  const keys = keyStoreOver(driver, { masterKey: opts.masterKey, clock, audit: async (event) => void (await store.appendAudit(event)) });
  return {
    keys,
    close: async () => {
      // Sign the chain head so the key changes are covered by a checkpoint before the process ends.
      for (const t of await store.auditTenants()) await store.checkpoint(t);
      await store.close();
    },
  };
}
