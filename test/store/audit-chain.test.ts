import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH, checkpointHash, checkpointSigningInput } from '../../src/audit/chain.ts';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { openStore } from '../../src/store/open.ts';
import { TestClock, onServer, openRawStore, testStoreOptions, type RawStore, type TestStoreOptions } from '../helpers/db.ts';
import { sampleEvent } from './fixtures.ts';

describe('audit chain in the store', () => {
  const signer = ed25519Signer(generateSigningSeed());
  const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });
  const clock = new TestClock();
  let db: TestStoreOptions;
  let handle: RawStore;

  before(async () => {
    db = await testStoreOptions();
    handle = await openRawStore(db, { signer, clock, checkpointEvery: 8, checkpointMaxAgeMs: 10_000 });
  });
  after(async () => {
    await handle.store.close();
    await db.cleanup();
  });

  test('50 parallel appends on one tenant: contiguous seqs, valid chain, checkpoints every 8', async () => {
    const recs = await Promise.all(Array.from({ length: 50 }, (_, i) => handle.store.appendAudit(sampleEvent('busy', i + 1))));
    assert.deepEqual(recs.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
    const stored = await handle.store.readAudit('busy', 0, 100);
    assert.deepEqual(stored.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(stored[0].prevHash, GENESIS_HASH);
    assert.deepEqual(await handle.store.chainHead('busy'), { seq: 50, hash: stored[49].hash });
    const cps = await handle.store.readCheckpoints('busy');
    assert.deepEqual(cps.map((c) => c.seq), [8, 16, 24, 32, 40, 48]);
    const report = await verifyAudit(handle.store, verifier, { tenant: 'busy' });
    assert.deepEqual(report, { ok: true, tenants: [{ tenant: 'busy', records: 50, checkpoints: 6, lastCheckpointSeq: 48, unsignedTail: 2 }], firstBad: null });
  });

  test('checkpoints link to their predecessor by hash and carry a verifiable signature', async () => {
    for (let i = 1; i <= 17; i++) await handle.store.appendAudit(sampleEvent('linked', i));
    const cps = await handle.store.readCheckpoints('linked');
    assert.deepEqual(cps.map((c) => c.seq), [8, 16]);
    assert.equal(cps[0].prevCheckpointHash, GENESIS_HASH);
    assert.equal(cps[1].prevCheckpointHash, checkpointHash(cps[0]));
    const records = await handle.store.readAudit('linked', 0, 100);
    for (const cp of cps) {
      assert.equal(cp.hash, checkpointHash(cp));
      assert.equal(cp.headHash, records[cp.seq - 1].hash);
      assert.equal(cp.keyId, signer.keyId);
      assert.equal(cp.timestamp, clock.now().toISOString());
      assert.ok(await verifier.verify(cp.keyId, checkpointSigningInput(cp), Buffer.from(cp.signature, 'base64')));
    }
    // checkpoint() signs the unsigned tail now, then has nothing left to sign.
    const tail = await handle.store.checkpoint('linked');
    assert.ok(tail);
    assert.equal(tail.seq, 17);
    assert.equal(tail.prevCheckpointHash, cps[1].hash);
    assert.equal(await handle.store.checkpoint('linked'), null);
    assert.equal(await handle.store.checkpoint('no-such-tenant'), null);
    const report = await verifyAudit(handle.store, verifier, { tenant: 'linked' });
    assert.deepEqual(report.tenants[0], { tenant: 'linked', records: 17, checkpoints: 3, lastCheckpointSeq: 17, unsignedTail: 0 });
    // The next regular checkpoint counts from the manual one.
    for (let i = 18; i <= 25; i++) await handle.store.appendAudit(sampleEvent('linked', i));
    assert.deepEqual((await handle.store.readCheckpoints('linked')).map((c) => c.seq), [8, 16, 17, 25]);
  });

  test('a checkpoint is due once the last one is older than the maximum age', async () => {
    await handle.store.appendAudit(sampleEvent('quiet', 1));
    await handle.store.appendAudit(sampleEvent('quiet', 2));
    assert.deepEqual(await handle.store.readCheckpoints('quiet'), []);
    clock.advance(10_000);
    await handle.store.appendAudit(sampleEvent('quiet', 3));
    assert.deepEqual((await handle.store.readCheckpoints('quiet')).map((c) => c.seq), [3]);
    clock.advance(9_999);
    await handle.store.appendAudit(sampleEvent('quiet', 4));
    assert.deepEqual((await handle.store.readCheckpoints('quiet')).map((c) => c.seq), [3]);
  });

  test('tenants have independent chains, listed in name order', async () => {
    const b = await handle.store.appendAudit(sampleEvent('zeta', 1));
    const a = await handle.store.appendAudit(sampleEvent('alpha', 1));
    assert.equal(a.seq, 1);
    assert.equal(b.seq, 1);
    const tenants = await handle.store.auditTenants();
    assert.deepEqual(tenants, [...tenants].sort());
    assert.ok(tenants.includes('alpha') && tenants.includes('zeta'));
    assert.equal((await verifyAudit(handle.store, verifier)).ok, true);
  });
});

test('two store instances appending to one tenant at once keep one valid chain', { skip: onServer ? false : 'needs DATABASE_URL (PGlite is one process)' }, async () => {
  const db = await testStoreOptions();
  const signer = ed25519Signer(generateSigningSeed());
  try {
    const [one, two] = await Promise.all([openStore({ ...db, signer, checkpointEvery: 5 }), openStore({ ...db, signer, checkpointEvery: 5 })]);
    try {
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? one : two).appendAudit(sampleEvent('shared', i + 1))));
      const records = await one.readAudit('shared', 0, 1000);
      assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 60 }, (_, i) => i + 1));
      const report = await verifyAudit(two, ed25519Verifier({ [signer.keyId]: signer.publicKey }));
      assert.equal(report.firstBad, null);
      assert.deepEqual(report.tenants, [{ tenant: 'shared', records: 60, checkpoints: 12, lastCheckpointSeq: 60, unsignedTail: 0 }]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  } finally {
    await db.cleanup();
  }
});
