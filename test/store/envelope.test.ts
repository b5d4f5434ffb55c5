import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { masterKeyId, openMessage, parseMasterKey, sealMessage } from '../../src/crypto/envelope.ts';
import { IntentmailError } from '../../src/core/errors.ts';

const isInternal = (err: unknown) => err instanceof IntentmailError && err.code === 'internal';
const flip = (bytes: Uint8Array, index: number) => {
  const copy = new Uint8Array(bytes);
  copy[index] ^= 0x01;
  return copy;
};

describe('envelope encryption', () => {
  const masterKey = new Uint8Array(randomBytes(32));
  const raw = new TextEncoder().encode('From: alice@example.com\r\nSubject: Grüße\r\n\r\nHello\r\n');

  test('round trip; layout is version | IV | tag | data; data keys differ per message', () => {
    const sealed = sealMessage(raw, masterKey);
    assert.equal(sealed.keyId, masterKeyId(masterKey));
    assert.equal(sealed.keyId, createHash('sha256').update(masterKey).digest('hex').slice(0, 16));
    assert.equal(sealed.ciphertext[0], 1);
    assert.equal(sealed.ciphertext.length, 1 + 12 + 16 + raw.length);
    assert.equal(sealed.wrappedKey[0], 1);
    assert.equal(sealed.wrappedKey.length, 1 + 12 + 16 + 32);
    assert.deepEqual(openMessage(sealed, masterKey), raw);
    const again = sealMessage(raw, masterKey);
    assert.notDeepEqual(again.wrappedKey, sealed.wrappedKey);
    assert.notDeepEqual(again.ciphertext, sealed.ciphertext);
    assert.deepEqual(openMessage(sealMessage(new Uint8Array(0), masterKey), masterKey), new Uint8Array(0));
  });

  test('a wrong master key is refused (by key id, and by GCM when the id is forged)', () => {
    const sealed = sealMessage(raw, masterKey);
    const other = new Uint8Array(randomBytes(32));
    assert.throws(() => openMessage(sealed, other), isInternal);
    assert.throws(() => openMessage({ ...sealed, keyId: masterKeyId(other) }, other), isInternal);
  });

  test('any flipped bit is detected: version, IV, tag, data, wrapped key', () => {
    const sealed = sealMessage(raw, masterKey);
    const positions = { version: 0, iv: 5, tag: 1 + 12 + 3, data: 1 + 12 + 16 + 4 };
    for (const [where, index] of Object.entries(positions)) {
      assert.throws(() => openMessage({ ...sealed, ciphertext: flip(sealed.ciphertext, index) }, masterKey), isInternal, `ciphertext ${where}`);
      assert.throws(() => openMessage({ ...sealed, wrappedKey: flip(sealed.wrappedKey, index) }, masterKey), isInternal, `wrapped key ${where}`);
    }
    assert.throws(() => openMessage({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }, masterKey), isInternal);
    assert.throws(() => openMessage({ ...sealed, wrappedKey: new Uint8Array(0) }, masterKey), isInternal);
  });

  test('a wrapped key cannot be passed off as a message (purpose-bound additional data)', () => {
    const sealed = sealMessage(raw, masterKey);
    assert.throws(() => openMessage({ ...sealed, ciphertext: sealed.wrappedKey, wrappedKey: sealed.wrappedKey }, masterKey), isInternal);
  });

  test('parseMasterKey accepts exactly base64 of 32 bytes', () => {
    const key = randomBytes(32);
    assert.deepEqual(parseMasterKey(key.toString('base64')), new Uint8Array(key));
    assert.deepEqual(parseMasterKey(` ${key.toString('base64')}\n`), new Uint8Array(key));
    const bad = (text: string) =>
      assert.throws(
        () => parseMasterKey(text),
        (err: unknown) => err instanceof IntentmailError && err.code === 'config_invalid' && err.message === 'INTENTMAIL_MASTER_KEY must be base64 of 32 bytes',
      );
    bad('');
    bad(randomBytes(31).toString('base64'));
    bad(randomBytes(33).toString('base64'));
    bad(key.toString('hex'));
    bad(key.toString('base64url'));
    bad(key.toString('base64').replace(/^./, '*'));
  });
});
