import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { IntentmailError } from '../../src/core/errors.ts';

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('Ed25519 checkpoint keys', () => {
  test('seed is 32 random bytes; key id is the first 16 hex of SHA-256 of the raw public key', () => {
    const seed = generateSigningSeed();
    assert.equal(seed.length, 32);
    assert.notDeepEqual(generateSigningSeed(), seed);
    const signer = ed25519Signer(seed);
    const raw = Buffer.from(signer.publicKey, 'base64');
    assert.equal(raw.length, 32);
    assert.equal(signer.keyId, createHash('sha256').update(raw).digest('hex').slice(0, 16));
    assert.equal(ed25519Signer(seed).publicKey, signer.publicKey);
  });

  test('RFC 8032 §7.1 TEST 1: public key and signature of the empty message', async () => {
    const signer = ed25519Signer(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    assert.equal(Buffer.from(signer.publicKey, 'base64').toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = await signer.sign(new Uint8Array(0));
    assert.equal(
      Buffer.from(sig).toString('hex'),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  test('verifier accepts a good signature, refuses tampering, unknown keys and bad lengths', async () => {
    const signer = ed25519Signer(generateSigningSeed());
    const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });
    const data = new TextEncoder().encode('checkpoint');
    const sig = await signer.sign(data);
    assert.equal(await verifier.verify(signer.keyId, data, sig), true);
    assert.equal(await verifier.verify(signer.keyId, new TextEncoder().encode('checkpoinT'), sig), false);
    const flipped = new Uint8Array(sig);
    flipped[10] ^= 1;
    assert.equal(await verifier.verify(signer.keyId, data, flipped), false);
    assert.equal(await verifier.verify('ffffffffffffffff', data, sig), false);
    assert.equal(await verifier.verify(signer.keyId, data, sig.subarray(0, 63)), false);
  });

  test('bad key material is a configuration error', () => {
    const isConfig = (err: unknown) => err instanceof IntentmailError && err.code === 'config_invalid';
    assert.throws(() => ed25519Signer(new Uint8Array(31)), isConfig);
    const signer = ed25519Signer(generateSigningSeed());
    assert.throws(() => ed25519Verifier({ [signer.keyId]: Buffer.alloc(31).toString('base64') }), isConfig);
    assert.throws(() => ed25519Verifier({ '0000000000000000': signer.publicKey }), isConfig);
  });

  test('openssl pkeyutl -verify -rawin accepts our signature (independent implementation)', { skip: opensslAvailable() ? false : 'openssl not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'intentmail-ed25519-'));
    try {
      const signer = ed25519Signer(generateSigningSeed());
      const data = new TextEncoder().encode('intentmail-audit-checkpoint-v1\n{"seq":1}');
      const sig = await signer.sign(data);
      const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(signer.publicKey, 'base64')]);
      const pem = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' });
      writeFileSync(join(dir, 'pub.pem'), pem);
      writeFileSync(join(dir, 'data'), data);
      writeFileSync(join(dir, 'sig'), sig);
      writeFileSync(join(dir, 'other'), new TextEncoder().encode('something else'));
      const run = (input: string) =>
        spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, input), '-sigfile', join(dir, 'sig')], { encoding: 'utf8' });
      const good = run('data');
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stdout, /Signature Verified Successfully/);
      assert.notEqual(run('other').status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
