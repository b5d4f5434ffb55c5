import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IntentmailError } from '../../src/core/errors.ts';
import { ed25519Signer, generateSigningSeed } from '../../src/audit/keys.ts';
import { migrateDatabase, openStore } from '../../src/store/open.ts';
import { onServer, openRawStore, testStoreOptions } from '../helpers/db.ts';

/** Migrations in the journal drizzle-kit maintains (other areas add theirs after 0000_init). */
const journal = JSON.parse(readFileSync(new URL('../../migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: { tag: string }[] };
const total = journal.entries.length;

describe('migrations', () => {
  test('apply once, then are a no-op on every later run and on open', async () => {
    const db = await testStoreOptions();
    try {
      assert.equal(journal.entries[0].tag, '0000_init');
      assert.deepEqual(await migrateDatabase(db), { applied: total });
      assert.deepEqual(await migrateDatabase(db), { applied: 0 });
      const store = await openStore({ ...db, signer: ed25519Signer(generateSigningSeed()) });
      assert.equal(await store.ping(), true);
      await store.close();
      assert.equal(await store.ping(), false);
      assert.deepEqual(await migrateDatabase(db), { applied: 0 });

      const raw = await openRawStore(db, { signer: ed25519Signer(generateSigningSeed()) });
      try {
        const tables = await raw.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`);
        const names = tables.map((t) => t.table_name);
        for (const table of ['audit_checkpoints', 'audit_heads', 'audit_records', 'jobs', 'messages', 'rate_counters']) assert.ok(names.includes(table), table);
        const applied = await raw.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
        assert.equal(applied[0].n, total);
      } finally {
        await raw.store.close();
      }
    } finally {
      await db.cleanup();
    }
  });

  test('a nonsensical checkpoint interval is a configuration error', async () => {
    const signer = ed25519Signer(generateSigningSeed());
    for (const bad of [{ checkpointEvery: 0 }, { checkpointEvery: 1.5 }, { checkpointMaxAgeMs: -1 }]) {
      await assert.rejects(openStore({ dataDir: '/nonexistent', signer, ...bad }), (err: unknown) => err instanceof IntentmailError && err.code === 'config_invalid');
    }
  });

  test('nodes starting at once take turns on the advisory lock: exactly one applies them', { skip: onServer ? false : 'needs DATABASE_URL (PGlite is one process)' }, async () => {
    const db = await testStoreOptions();
    try {
      // allSettled: every run must have finished before the database is dropped, even on failure.
      const settled = await Promise.allSettled(Array.from({ length: 6 }, () => migrateDatabase(db)));
      const results = settled.map((r) => {
        if (r.status === 'rejected') throw r.reason;
        return r.value;
      });
      assert.equal(results.reduce((sum, r) => sum + r.applied, 0), total);
      assert.equal(results.filter((r) => r.applied > 0).length, 1);
      const signer = ed25519Signer(generateSigningSeed());
      const stores = await Promise.all(Array.from({ length: 3 }, () => openStore({ ...db, signer })));
      for (const store of stores) assert.equal(await store.ping(), true);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await db.cleanup();
    }
  });
});
