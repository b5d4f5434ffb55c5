import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519Signer, generateSigningSeed } from '../../src/audit/keys.ts';
import { LIMITS } from '../../src/core/limits.ts';
import { openStore } from '../../src/store/open.ts';
import { TestClock, onServer, openRawStore, testStoreOptions, type RawStore, type TestStoreOptions } from '../helpers/db.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('rate counters', () => {
  const clock = new TestClock();
  let db: TestStoreOptions;
  let handle: RawStore;

  before(async () => {
    db = await testStoreOptions();
    handle = await openRawStore(db, { signer: ed25519Signer(generateSigningSeed()), clock });
  });
  after(async () => {
    await handle.store.close();
    await db.cleanup();
  });

  test('parallel hits on one key each get a distinct count', async () => {
    const window = clock.now();
    const expires = new Date(window.getTime() + 3_600_000);
    const counts = await Promise.all(range(100).map(() => handle.store.hitRateLimit('sender:a@example.com', window, expires)));
    assert.deepEqual([...counts].sort((a, b) => a - b), range(100));
    assert.equal(await handle.store.peekRateLimit('sender:a@example.com', window), 100);
  });

  test('windows and keys count separately; peek does not count', async () => {
    const w1 = new Date('2025-02-01T00:00:00Z');
    const w2 = new Date('2025-02-01T01:00:00Z');
    const exp = new Date('2025-02-02T00:00:00Z');
    assert.equal(await handle.store.peekRateLimit('k', w1), 0);
    assert.equal(await handle.store.hitRateLimit('k', w1, exp), 1);
    assert.equal(await handle.store.hitRateLimit('k', w1, exp), 2);
    assert.equal(await handle.store.hitRateLimit('k', w2, exp), 1);
    assert.equal(await handle.store.hitRateLimit('other', w1, exp), 1);
    assert.equal(await handle.store.peekRateLimit('k', w1), 2);
    assert.equal(await handle.store.peekRateLimit('k', w1), 2);
  });

  test('expired counters are swept in bounded batches as hits arrive', async () => {
    const old = new Date(clock.now().getTime() - 7_200_000);
    const oldExpiry = new Date(clock.now().getTime() - 3_600_000);
    for (let i = 0; i < 10; i++) await handle.store.hitRateLimit(`stale-${i}`, old, oldExpiry);
    const stale = async () => (await handle.query(`SELECT count(*)::int AS n FROM rate_counters WHERE key LIKE 'stale-%'`))[0].n;
    assert.equal(await stale(), 10);
    const live = new Date(clock.now().getTime() + 3_600_000);
    // At least one full sweep interval of hits, whatever the earlier tests counted.
    for (let i = 0; i < LIMITS.RATE_SWEEP_EVERY; i++) await handle.store.hitRateLimit('fresh', clock.now(), live);
    assert.equal(await stale(), 0);
    assert.equal(await handle.store.peekRateLimit('fresh', clock.now()), LIMITS.RATE_SWEEP_EVERY);
  });
});

test('two store instances share one atomic counter', { skip: onServer ? false : 'needs DATABASE_URL (PGlite is one process)' }, async () => {
  const db = await testStoreOptions();
  const signer = ed25519Signer(generateSigningSeed());
  try {
    const stores = await Promise.all([openStore({ ...db, signer }), openStore({ ...db, signer })]);
    try {
      const window = new Date('2025-03-01T00:00:00Z');
      const expires = new Date('2025-03-01T01:00:00Z');
      const counts = await Promise.all(range(80).map((i) => stores[i % 2].hitRateLimit('shared', window, expires)));
      assert.deepEqual([...counts].sort((a, b) => a - b), range(80));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  } finally {
    await db.cleanup();
  }
});
