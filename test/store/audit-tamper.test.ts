/**
 * Tampering with the stored audit chain through raw SQL, as someone with database access
 * would; verifyAudit must name the first bad record with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chainRecord, checkpointHash, checkpointSigningInput } from '../../src/audit/chain.ts';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import type { AuditEvent } from '../../src/core/audit-event.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import { openRawStore, testStoreOptions, type RawStore, type TestStoreOptions } from '../helpers/db.ts';
import { sampleEvent } from './fixtures.ts';

describe('audit tampering is detected', () => {
  const signer = ed25519Signer(generateSigningSeed());
  const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });
  let db: TestStoreOptions;
  let handle: RawStore;

  before(async () => {
    db = await testStoreOptions();
    // Checkpoints at 4, 8 and 12 of 14 records; 13 and 14 stay unsigned.
    handle = await openRawStore(db, { signer, checkpointEvery: 4, checkpointMaxAgeMs: 3_600_000 });
  });
  after(async () => {
    await handle.store.close();
    await db.cleanup();
  });

  /** A fresh 14-record chain for `tenant`, verified clean before it is tampered with. */
  async function chain(tenant: string): Promise<void> {
    for (let i = 1; i <= 14; i++) await handle.store.appendAudit(sampleEvent(tenant, i));
    assert.equal((await verifyAudit(handle.store, verifier, { tenant })).ok, true);
  }
  const q = (text: string) => handle.query(text);
  async function firstBad(tenant: string) {
    const report = await verifyAudit(handle.store, verifier, { tenant });
    assert.equal(report.ok, false);
    return report.firstBad;
  }

  test('a changed body', async () => {
    await chain('t-body');
    await q(`UPDATE audit_records SET body = replace(body, 'user5@', 'mallory@') WHERE tenant = 't-body' AND seq = 5`);
    assert.deepEqual(await firstBad('t-body'), { tenant: 't-body', seq: 5, reason: 'stored hash does not match the recomputed hash (record altered)' });
  });

  test('a changed body with every later hash recomputed is caught by the signed checkpoint', async () => {
    await chain('t-rewrite');
    const records = await handle.store.readAudit('t-rewrite', 0, 100);
    let prev = { seq: 4, hash: records[3].hash };
    for (const rec of records.slice(4)) {
      const event = JSON.parse(rec.body) as AuditEvent;
      if (rec.seq === 5) event.actor.email = 'mallory@example.com';
      const forged = chainRecord(prev, event);
      const body = forged.body.replaceAll("'", "''");
      await q(`UPDATE audit_records SET body = '${body}', prev_hash = '${forged.prevHash}', hash = '${forged.hash}' WHERE tenant = 't-rewrite' AND seq = ${rec.seq}`);
      prev = forged;
    }
    await q(`UPDATE audit_heads SET hash = '${prev.hash}' WHERE tenant = 't-rewrite'`);
    assert.deepEqual(await firstBad('t-rewrite'), { tenant: 't-rewrite', seq: 8, reason: 'checkpoint at seq 8 signed a different head hash (chain rewritten)' });
  });

  test('a body that is no longer JSON is named, not a crash of the page read', async () => {
    await chain('t-garbage');
    await q(`UPDATE audit_records SET body = 'not json' WHERE tenant = 't-garbage' AND seq = 9`);
    assert.deepEqual(await firstBad('t-garbage'), { tenant: 't-garbage', seq: 9, reason: 'body is not valid JSON' });
    const [rec] = await handle.store.readAudit('t-garbage', 8, 1);
    assert.throws(() => rec.event, (err: unknown) => err instanceof IntentmailError && err.code === 'internal');
  });

  test('a deleted middle record', async () => {
    await chain('t-delete');
    await q(`DELETE FROM audit_records WHERE tenant = 't-delete' AND seq = 6`);
    assert.deepEqual(await firstBad('t-delete'), { tenant: 't-delete', seq: 6, reason: 'record missing: expected seq 6, the next stored record is seq 7' });
  });

  test('two records swapped (reordered)', async () => {
    await chain('t-swap');
    await q(`UPDATE audit_records SET seq = -6 WHERE tenant = 't-swap' AND seq = 6`);
    await q(`UPDATE audit_records SET seq = 6 WHERE tenant = 't-swap' AND seq = 7`);
    await q(`UPDATE audit_records SET seq = 7 WHERE tenant = 't-swap' AND seq = -6`);
    assert.deepEqual(await firstBad('t-swap'), { tenant: 't-swap', seq: 6, reason: 'prevHash does not link to the hash of seq 5' });
  });

  test('the tail deleted past a checkpoint, head row adjusted to match', async () => {
    await chain('t-trunc');
    const [rec10] = await q(`SELECT hash FROM audit_records WHERE tenant = 't-trunc' AND seq = 10`);
    await q(`DELETE FROM audit_records WHERE tenant = 't-trunc' AND seq > 10`);
    await q(`UPDATE audit_heads SET seq = 10, hash = '${String(rec10.hash)}' WHERE tenant = 't-trunc'`);
    assert.deepEqual(await firstBad('t-trunc'), {
      tenant: 't-trunc',
      seq: 11,
      reason: 'chain truncated: checkpoint at seq 12 signs a head past the last stored record (seq 10)',
    });
  });

  test('the unsigned tail deleted without adjusting the head row', async () => {
    await chain('t-tail');
    await q(`DELETE FROM audit_records WHERE tenant = 't-tail' AND seq > 12`);
    assert.deepEqual(await firstBad('t-tail'), {
      tenant: 't-tail',
      seq: 13,
      reason: 'records missing: the chain head is at seq 14 but the last stored record is seq 12',
    });
  });

  test('a forged checkpoint signature (stored hash recomputed to match)', async () => {
    await chain('t-forge');
    const [cp] = await handle.store.readCheckpoints('t-forge').then((cps) => cps.filter((c) => c.seq === 8));
    const signature = randomBytes(64).toString('base64');
    await q(`UPDATE audit_checkpoints SET signature = '${signature}', hash = '${checkpointHash({ ...cp, signature })}' WHERE tenant = 't-forge' AND seq = 8`);
    assert.deepEqual(await firstBad('t-forge'), {
      tenant: 't-forge',
      seq: 8,
      reason: `checkpoint at seq 8: signature does not verify with a known key (key id ${signer.keyId})`,
    });
  });

  test('a checkpoint re-signed with an attacker key over a rewritten head', async () => {
    await chain('t-resign');
    const mallory = ed25519Signer(generateSigningSeed());
    const [cp] = (await handle.store.readCheckpoints('t-resign')).filter((c) => c.seq === 4);
    const unsigned = { ...cp, headHash: 'e'.repeat(64), keyId: mallory.keyId };
    const signature = Buffer.from(await mallory.sign(checkpointSigningInput(unsigned))).toString('base64');
    await q(`UPDATE audit_checkpoints SET head_hash = '${unsigned.headHash}', key_id = '${mallory.keyId}', signature = '${signature}', hash = '${checkpointHash({ ...unsigned, signature })}' WHERE tenant = 't-resign' AND seq = 4`);
    assert.deepEqual(await firstBad('t-resign'), {
      tenant: 't-resign',
      seq: 4,
      reason: `checkpoint at seq 4: signature does not verify with a known key (key id ${mallory.keyId})`,
    });
  });

  test('a deleted checkpoint breaks the checkpoint link', async () => {
    await chain('t-cpdel');
    await q(`DELETE FROM audit_checkpoints WHERE tenant = 't-cpdel' AND seq = 8`);
    assert.deepEqual(await firstBad('t-cpdel'), { tenant: 't-cpdel', seq: 12, reason: 'checkpoint at seq 12 does not link to the checkpoint at seq 4' });
  });

  test('a record moved to another tenant', async () => {
    await chain('t-move');
    await q(`UPDATE audit_records SET tenant = 't-moved-to' WHERE tenant = 't-move' AND seq = 14`);
    assert.equal((await firstBad('t-move'))?.seq, 14);
    assert.deepEqual(await firstBad('t-moved-to'), { tenant: 't-moved-to', seq: 1, reason: 'record missing: expected seq 1, the next stored record is seq 14' });
  });

  test('a deleted chain head row', async () => {
    await chain('t-nohead');
    await q(`DELETE FROM audit_heads WHERE tenant = 't-nohead'`);
    assert.deepEqual(await firstBad('t-nohead'), { tenant: 't-nohead', seq: 14, reason: 'chain head row is missing' });
    assert.ok((await handle.store.auditTenants()).includes('t-nohead'));
  });

  test('query columns are copies outside the hash: editing them leaves the chain valid', async () => {
    await chain('t-columns');
    await q(`UPDATE audit_records SET event_type = 'edited', actor_email = 'x@example.com' WHERE tenant = 't-columns' AND seq = 3`);
    assert.equal((await verifyAudit(handle.store, verifier, { tenant: 't-columns' })).ok, true);
  });

  test('verifying everything names the first failing tenant in name order', async () => {
    const report = await verifyAudit(handle.store, verifier);
    assert.equal(report.ok, false);
    assert.equal(report.firstBad?.tenant, 't-body');
    assert.equal(report.firstBad?.seq, 5);
  });
});
