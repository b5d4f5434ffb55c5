import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/canonical.ts';
import { CHECKPOINT_SIGNING_PREFIX, GENESIS_HASH, chainRecord, checkpointHash, checkpointSigningInput } from '../../src/audit/chain.ts';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import type { AuditCheckpoint } from '../../src/core/audit-event.ts';
import { sampleEvent } from '../store/fixtures.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('audit hash chain', () => {
  test('genesis: seq 1 links to 64 zeros; body is the canonical event', () => {
    assert.equal(GENESIS_HASH, '0'.repeat(64));
    const event = sampleEvent('acme', 1);
    const rec = chainRecord(null, event);
    assert.equal(rec.seq, 1);
    assert.equal(rec.prevHash, GENESIS_HASH);
    assert.equal(rec.body, canonicalJson(event));
    assert.deepEqual(JSON.parse(rec.body), event);
  });

  test('hash input is exactly the documented JCS text {"body","prevHash","seq","tenant"}', () => {
    const event = sampleEvent('acme', 2);
    const rec = chainRecord({ seq: 41, hash: 'ab'.repeat(32) }, event);
    assert.equal(rec.seq, 42);
    assert.equal(rec.prevHash, 'ab'.repeat(32));
    // Written out by hand rather than with canonicalJson, so a change of the hashed form is caught.
    const input = `{"body":${JSON.stringify(rec.body)},"prevHash":"${'ab'.repeat(32)}","seq":42,"tenant":"acme"}`;
    assert.equal(rec.hash, sha256(input));
  });

  test('seq, tenant and link are bound into the hash', () => {
    const event = sampleEvent('acme', 3);
    const base = chainRecord({ seq: 1, hash: 'a'.repeat(64) }, event);
    assert.notEqual(chainRecord({ seq: 2, hash: 'a'.repeat(64) }, event).hash, base.hash);
    assert.notEqual(chainRecord({ seq: 1, hash: 'b'.repeat(64) }, event).hash, base.hash);
    assert.notEqual(chainRecord({ seq: 1, hash: 'a'.repeat(64) }, { ...event, tenant: 'other' }).hash, base.hash);
    assert.equal(chainRecord({ seq: 1, hash: 'a'.repeat(64) }, structuredClone(event)).hash, base.hash);
  });

  test('checkpoint signing input: domain prefix, then canonical fields without signature and hash', () => {
    const cp = { tenant: 'acme', seq: 64, headHash: 'c'.repeat(64), prevCheckpointHash: GENESIS_HASH, timestamp: '2025-01-01T00:00:00.000Z', keyId: '0123456789abcdef' };
    const text = new TextDecoder().decode(checkpointSigningInput(cp));
    assert.ok(text.startsWith('intentmail-audit-checkpoint-v1\n'));
    assert.equal(text.slice(CHECKPOINT_SIGNING_PREFIX.length), canonicalJson(cp));
    // Extra properties (a full checkpoint) do not change what is signed.
    const full = { ...cp, signature: 'sig', hash: 'h' } as AuditCheckpoint;
    assert.deepEqual(checkpointSigningInput(full), checkpointSigningInput(cp));
  });

  test('checkpoints link by hash, and the hash covers the signature (Merkle-free linking)', async () => {
    const signer = ed25519Signer(generateSigningSeed());
    const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });
    const make = async (seq: number, prev: string): Promise<AuditCheckpoint> => {
      const unsigned = { tenant: 'acme', seq, headHash: sha256(`head${seq}`), prevCheckpointHash: prev, timestamp: '2025-01-01T00:00:00.000Z', keyId: signer.keyId };
      const signature = Buffer.from(await signer.sign(checkpointSigningInput(unsigned))).toString('base64');
      const cp = { ...unsigned, signature, hash: '' };
      return { ...cp, hash: checkpointHash(cp) };
    };
    const first = await make(64, GENESIS_HASH);
    const second = await make(128, first.hash);
    assert.equal(second.prevCheckpointHash, checkpointHash(first));
    assert.ok(await verifier.verify(signer.keyId, checkpointSigningInput(second), Buffer.from(second.signature, 'base64')));
    // A second valid signature over the same fields (Ed25519 is deterministic, so use another key) changes the hash.
    const other = ed25519Signer(generateSigningSeed());
    const resigned = { ...first, keyId: other.keyId, signature: Buffer.from(await other.sign(checkpointSigningInput({ ...first, keyId: other.keyId }))).toString('base64') };
    assert.notEqual(checkpointHash(resigned), second.prevCheckpointHash);
    assert.notEqual(checkpointHash({ ...first, signature: first.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }), first.hash);
    // The stored hash field itself is not an input.
    assert.equal(checkpointHash({ ...first, hash: 'anything' }), first.hash);
  });
});
