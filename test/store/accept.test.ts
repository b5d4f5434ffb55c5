import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import { openMessage } from '../../src/crypto/envelope.ts';
import { openStore } from '../../src/store/open.ts';
import { openRawStore, testStoreOptions, type RawStore, type TestStoreOptions } from '../helpers/db.ts';
import { sampleAcceptance, sampleEvent } from './fixtures.ts';

describe('acceptMessage', () => {
  const masterKey = new Uint8Array(randomBytes(32));
  const signer = ed25519Signer(generateSigningSeed());
  const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });
  const raw = new TextEncoder().encode('Received: from mail.example.com\r\nSubject: hello\r\n\r\nbody\r\n');
  let db: TestStoreOptions;
  let handle: RawStore;

  before(async () => {
    db = await testStoreOptions();
    handle = await openRawStore(db, { signer });
  });
  after(async () => {
    await handle.store.close();
    await db.cleanup();
  });

  const count = async (table: string, tenant: string) => (await handle.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant = '${tenant}'`))[0].n;

  test('stores message, job and acceptance record together', async () => {
    const { message, job, event } = sampleAcceptance('acme', raw, masterKey);
    const rec = await handle.store.acceptMessage(message, job, event);
    assert.equal(rec.seq, 1);
    assert.equal(rec.tenant, 'acme');
    assert.deepEqual(rec.event, event);

    const stored = await handle.store.getMessage(message.id);
    assert.ok(stored);
    assert.deepEqual(stored, { ...message, status: 'accepted', legalHold: false, erasedAt: null });
    assert.equal(Object.getPrototypeOf(stored.ciphertext), Uint8Array.prototype);
    assert.deepEqual(openMessage(stored, masterKey), raw);

    const storedJob = await handle.store.getJobForMessage(message.id);
    assert.ok(storedJob);
    assert.equal(storedJob.id, job.id);
    assert.equal(storedJob.status, 'pending');
    assert.equal(storedJob.attempts, 0);
    assert.deepEqual(storedJob.plan, job.plan);
    assert.ok(storedJob.createdAt instanceof Date);

    // JSON columns hold JSON objects, not a JSON string inside jsonb (a known postgres-js pitfall).
    const types = await handle.query(`SELECT jsonb_typeof(m.authentication) AS auth, jsonb_typeof(j.plan) AS plan, octet_length(m.ciphertext) AS len FROM messages m JOIN jobs j ON j.message_id = m.id WHERE m.id = '${message.id}'`);
    assert.deepEqual(types[0], { auth: 'object', plan: 'object', len: message.ciphertext.length });

    const [head] = await handle.query(`SELECT seq::int AS seq FROM audit_heads WHERE tenant = 'acme'`);
    assert.equal(head.seq, 1);
    const [row] = await handle.query(`SELECT event_type, intent, actor_email, result_status FROM audit_records WHERE tenant = 'acme' AND seq = 1`);
    assert.deepEqual(row, { event_type: 'message.accepted', intent: 'ticket', actor_email: 'user1@example.com', result_status: 'accepted' });
  });

  test('a failure mid-transaction leaves nothing behind', async () => {
    const first = sampleAcceptance('atomic', raw, masterKey);
    await handle.store.acceptMessage(first.message, first.job, first.event);

    // The message insert succeeds, the job insert then hits the duplicate job id.
    const dupJob = sampleAcceptance('atomic', raw, masterKey);
    await assert.rejects(
      handle.store.acceptMessage(dupJob.message, { ...dupJob.job, id: first.job.id }, dupJob.event),
      (err: unknown) => err instanceof IntentmailError && err.code === 'storage_unavailable',
    );
    // Message and job are written, then the event cannot be canonicalised (NaN is not JSON).
    const badEvent = sampleAcceptance('atomic', raw, masterKey);
    const nan = sampleEvent('atomic', 2, { action: { type: 'message.accepted', target: null, intent: 'ticket', parameters: { score: Number.NaN } } });
    await assert.rejects(handle.store.acceptMessage(badEvent.message, badEvent.job, nan), (err: unknown) => err instanceof IntentmailError && err.code === 'internal');

    for (const attempt of [dupJob, badEvent]) {
      assert.equal(await handle.store.getMessage(attempt.message.id), null);
      assert.equal(await handle.store.getJobForMessage(attempt.message.id), null);
    }
    assert.equal(await count('messages', 'atomic'), 1);
    assert.equal(await count('jobs', 'atomic'), 1);
    assert.equal(await count('audit_records', 'atomic'), 1);
    assert.deepEqual(await handle.store.chainHead('atomic'), { seq: 1, hash: (await handle.store.readAudit('atomic', 0, 10))[0].hash });
    assert.equal((await verifyAudit(handle.store, verifier, { tenant: 'atomic' })).ok, true);
  });

  test('mismatched message, job and event are refused before touching the database', async () => {
    const a = sampleAcceptance('acme', raw, masterKey);
    await assert.rejects(handle.store.acceptMessage(a.message, { ...a.job, messageId: randomUUID() }, a.event), IntentmailError);
    await assert.rejects(handle.store.acceptMessage(a.message, a.job, { ...a.event, tenant: 'other' }), IntentmailError);
    assert.equal(await handle.store.getMessage(a.message.id), null);
  });

  test('unknown and malformed ids read as null', async () => {
    assert.equal(await handle.store.getMessage(randomUUID()), null);
    assert.equal(await handle.store.getMessage('not-a-uuid'), null);
    assert.equal(await handle.store.getJobForMessage("x' OR '1'='1"), null);
  });
});

test('restart: a closed and reopened store still has the message, its job and a valid chain', async () => {
  const db = await testStoreOptions();
  const masterKey = new Uint8Array(randomBytes(32));
  const signer = ed25519Signer(generateSigningSeed());
  const raw = new Uint8Array(randomBytes(200_000));
  try {
    const store = await openStore({ ...db, signer });
    const { message, job, event } = sampleAcceptance('acme', raw, masterKey);
    await store.acceptMessage(message, job, event);
    await store.close();

    const reopened = await openStore({ ...db, signer });
    try {
      const stored = await reopened.getMessage(message.id);
      assert.ok(stored);
      assert.deepEqual(openMessage(stored, masterKey), raw);
      assert.equal(stored.receivedAt.toISOString(), '2025-01-01T12:34:56.789Z');
      assert.equal((await reopened.getJobForMessage(message.id))?.id, job.id);
      const report = await verifyAudit(reopened, ed25519Verifier({ [signer.keyId]: signer.publicKey }));
      assert.equal(report.ok, true);
      assert.equal(report.tenants[0].records, 1);
      const next = await reopened.appendAudit(sampleEvent('acme', 2));
      assert.equal(next.seq, 2);
    } finally {
      await reopened.close();
    }
  } finally {
    await db.cleanup();
  }
});
