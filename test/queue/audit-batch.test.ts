/**
 * The runner's group commit appends several step records in one transaction under one lock of
 * the tenant's chain head (DrizzleStore.appendAuditInTx): the chain stays gap-free and verifies,
 * interleaved with single appends; a rolled-back transaction leaves no record behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { openRawStore, testStoreOptions, type RawStore } from '../helpers/db.ts';
import { sampleEvent } from '../store/fixtures.ts';

const signer = ed25519Signer(generateSigningSeed());
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let raw: RawStore;

describe('batched audit appends', () => {
  before(async () => {
    db = await testStoreOptions();
    raw = await openRawStore(db, { signer, checkpointEvery: 4 });
  });
  after(async () => {
    await raw?.store.close();
    await db?.cleanup();
  });

  test('three records in one transaction, then single ones: consecutive, linked, checkpointed, verifiable', async () => {
    await raw.store.appendAudit(sampleEvent('acme', 1));
    const records = await raw.store.driver.db.transaction((tx) => raw.store.appendAuditInTx(tx, 'acme', [sampleEvent('acme', 2), sampleEvent('acme', 3), sampleEvent('acme', 4)]));
    assert.deepEqual(records.map((r) => r.seq), [2, 3, 4]);
    assert.equal(records[1].prevHash, records[0].hash);
    await raw.store.appendAudit(sampleEvent('acme', 5));
    assert.deepEqual(await raw.store.chainHead('acme'), { seq: 5, hash: (await raw.store.readAudit('acme', 4, 1))[0].hash });
    const report = await verifyAudit(raw.store, ed25519Verifier({ [signer.keyId]: signer.publicKey }), { tenant: 'acme' });
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
    assert.ok(report.tenants[0].checkpoints >= 1, 'a checkpoint was due after the batch');
  });

  test('a rolled-back transaction leaves neither records nor a moved head', async () => {
    const head = await raw.store.chainHead('acme');
    await assert.rejects(
      raw.store.driver.db.transaction(async (tx) => {
        await raw.store.appendAuditInTx(tx, 'acme', [sampleEvent('acme', 6), sampleEvent('acme', 7)]);
        throw new Error('the outcome write failed');
      }),
      /the outcome write failed/,
    );
    assert.deepEqual(await raw.store.chainHead('acme'), head);
    assert.equal((await raw.store.readAudit('acme', head!.seq, 10)).length, 0);
    await assert.rejects(raw.store.driver.db.transaction((tx) => raw.store.appendAuditInTx(tx, 'acme', [sampleEvent('other', 8)])), /belong to its tenant/);
  });
});
