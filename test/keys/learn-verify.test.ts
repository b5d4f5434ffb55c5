/**
 * Inbound signatures against the tenant's key store, and learning keys from inbound mail: a
 * verified S/MIME signature teaches the sender's certificate, an Autocrypt header or an attached
 * key teaches an OpenPGP key, only for a sender that authenticated, and every learned key is audited.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createPrivateKey } from 'node:crypto';
import * as openpgp from 'openpgp';
import { learnKeysFromMessage } from '../../src/keys/learn.ts';
import { protectPgp } from '../../src/secure/pgp.ts';
import { protectSmime } from '../../src/secure/smime.ts';
import { verifyInboundSignature, type InboundSignatureInput } from '../../src/secure/verify.ts';
import { parseCertificate } from '../../src/secure/x509.ts';
import { DAY, makeCert, makeChain, makePgpKey, type TestCert } from '../secure/helpers/pki.ts';
import { openTestKeyStore, type TestKeyStore } from './helpers.ts';

let t: TestKeyStore;
let ca: TestCert;
let bob: TestCert;
const now = () => new Date();

const plain = (from: string, extra = '') => Buffer.from(`From: ${from}\r\nTo: intake@in.acme.example\r\nSubject: Order\r\n${extra}Content-Type: text/plain\r\n\r\nPlease ship 3 units.\r\n`);

function smimeSigned(from: string, cert: TestCert, chain: TestCert[]): Buffer {
  return protectSmime(plain(from), { signer: { cert: parseCertificate(cert.der), chain: chain.map((c) => parseCertificate(c.der)), key: createPrivateKey(cert.keyPem) }, now: now() });
}

function input(raw: Buffer, sender: string | null, senderVerified = true): InboundSignatureInput & { intent: string } {
  const headers: Record<string, string[]> = {};
  const text = raw.toString('latin1');
  const m = /^Autocrypt: ([\s\S]*?)\r\n(?![ \t])/m.exec(text);
  if (m) headers.autocrypt = [m[1].replace(/\r\n[ \t]/g, ' ')];
  return { tenant: 'acme', raw, sender, senderVerified, headers, intent: 'orders.intake' };
}

before(async () => {
  t = await openTestKeyStore();
  ({ ca, leaf: bob } = makeChain('bob@partner.example'));
  await t.keys.importFiles('acme', [{ name: 'partner-ca.pem', data: Buffer.from(ca.pem) }]);
});
after(() => t.close());

describe('verify_signature: S/MIME', () => {
  test('valid when the certificate chains to a tenant anchor and names the sender', async () => {
    const v = await verifyInboundSignature(input(smimeSigned('bob@partner.example', bob, [ca]), 'bob@partner.example'), t.keys, now());
    assert.equal(v.signature, 'valid', v.reason);
    assert.equal(v.kind, 'smime');
    assert.match(v.reason, /chains to "CN=Test CA for bob@partner.example/);
  });

  test('invalid when tampered, when the certificate is for someone else, when its chain is unknown, when it expired', async () => {
    const good = smimeSigned('bob@partner.example', bob, [ca]);
    const tampered = Buffer.from(good.toString('latin1').replace('ship 3 units', 'ship 9 units'), 'latin1');
    assert.equal((await verifyInboundSignature(input(tampered, 'bob@partner.example'), t.keys, now())).signature, 'invalid');
    const other = await verifyInboundSignature(input(good, 'ceo@partner.example'), t.keys, now());
    assert.equal(other.signature, 'invalid');
    assert.match(other.reason, /not for the sender ceo@partner.example/);
    const stranger = makeChain('eve@elsewhere.example');
    const unknown = await verifyInboundSignature(input(smimeSigned('eve@elsewhere.example', stranger.leaf, [stranger.ca]), 'eve@elsewhere.example'), t.keys, now());
    assert.equal(unknown.signature, 'invalid');
    assert.match(unknown.reason, /not a trust anchor of this tenant/);
    const old = makeCert({ cn: 'old', email: 'old@partner.example', issuer: ca, notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const expired = await verifyInboundSignature(input(smimeSigned('old@partner.example', old, [ca]), 'old@partner.example'), t.keys, now());
    assert.equal(expired.signature, 'invalid');
    assert.match(expired.reason, /expired/);
  });

  test('none for an unsigned message', async () => {
    const v = await verifyInboundSignature(input(plain('bob@partner.example'), 'bob@partner.example'), t.keys, now());
    assert.equal(v.signature, 'none');
  });
});

describe('learning keys', () => {
  test("a verified S/MIME signature adds the sender's certificate, audited; then key.smime is present", async () => {
    const { leaf: carol } = { leaf: makeCert({ cn: 'carol', email: 'carol@partner.example', issuer: ca }) };
    assert.equal((await t.keys.keyPresence('acme', 'carol@partner.example')).smime, 'missing');
    const learned = await learnKeysFromMessage(input(smimeSigned('carol@partner.example', carol, [ca]), 'carol@partner.example'), t.keys, now());
    assert.deepEqual(learned.map((o) => [o.kind, o.status]), [['smime_cert', 'imported']]);
    assert.equal((await t.keys.keyPresence('acme', 'carol@partner.example')).smime, 'present');
    const entry = (await t.keys.list('acme')).find((e) => e.addresses.includes('carol@partner.example'));
    assert.equal(entry?.source, 'learned');
    const event = t.audit.find((e) => e.action.type === 'key.learn' && e.action.target === 'carol@partner.example');
    assert.ok(event);
    assert.equal(event.action.intent, 'orders.intake');
    assert.equal(event.actor.email, 'carol@partner.example');
  });

  test('nothing is learned from a sender that did not authenticate, or from an invalid signature', async () => {
    const dan = makeCert({ cn: 'dan', email: 'dan@partner.example', issuer: ca });
    assert.deepEqual(await learnKeysFromMessage(input(smimeSigned('dan@partner.example', dan, [ca]), 'dan@partner.example', false), t.keys, now()), []);
    const asSomeoneElse = await learnKeysFromMessage(input(smimeSigned('dan@partner.example', dan, [ca]), 'boss@partner.example'), t.keys, now());
    assert.deepEqual(asSomeoneElse, []);
    assert.equal((await t.keys.keyPresence('acme', 'dan@partner.example')).smime, 'missing');
  });

  test('an Autocrypt header for the sender adds the OpenPGP key; one for another address does not', async () => {
    const frank = await makePgpKey('frank@partner.example');
    const keydata = Buffer.from((await openpgp.readKey({ armoredKey: frank.publicArmored })).write()).toString('base64');
    const folded = keydata.replace(/.{72}/g, '$&\r\n ');
    const header = (addr: string) => `Autocrypt: addr=${addr}; prefer-encrypt=mutual; keydata=\r\n ${folded}\r\n`;
    assert.deepEqual(await learnKeysFromMessage(input(plain('frank@partner.example', header('someone@partner.example')), 'frank@partner.example'), t.keys, now()), []);
    const learned = await learnKeysFromMessage(input(plain('frank@partner.example', header('frank@partner.example')), 'frank@partner.example'), t.keys, now());
    assert.deepEqual(learned.map((o) => [o.kind, o.status]), [['pgp_public', 'imported']]);
    assert.equal((await t.keys.keyPresence('acme', 'frank@partner.example')).pgp, 'present');

    // A PGP/MIME message signed with that key now verifies against the learned key.
    const signed = await protectPgp(plain('frank@partner.example', header('frank@partner.example')), { signingKey: await openpgp.readPrivateKey({ armoredKey: frank.privateArmored }), now: now() });
    const v = await verifyInboundSignature(input(signed, 'frank@partner.example'), t.keys, now());
    assert.equal(v.signature, 'valid', v.reason);
    assert.equal(v.kind, 'pgp');
  });

  test('an attached public key naming the sender is learned; a key for someone else is not', async () => {
    const gina = await makePgpKey('gina@partner.example');
    const other = await makePgpKey('notgina@partner.example');
    const mail = (armored: string) =>
      Buffer.from(
        `From: gina@partner.example\r\nSubject: my key\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="K"\r\n\r\n--K\r\nContent-Type: text/plain\r\n\r\nHere is my key.\r\n--K\r\nContent-Type: application/pgp-keys; name="key.asc"\r\nContent-Disposition: attachment; filename="key.asc"\r\n\r\n${armored.replace(/\r?\n/g, '\r\n')}\r\n--K--\r\n`,
      );
    assert.deepEqual(await learnKeysFromMessage(input(mail(other.publicArmored), 'gina@partner.example'), t.keys, now()), []);
    const learned = await learnKeysFromMessage(input(mail(gina.publicArmored), 'gina@partner.example'), t.keys, now());
    assert.deepEqual(learned.map((o) => [o.kind, o.status, o.file]), [['pgp_public', 'imported', 'attachment key.asc']]);
  });

  test('a PGP signature by a key nobody vouched for is invalid', async () => {
    const mallory = await makePgpKey('mallory@partner.example');
    const signed = await protectPgp(plain('mallory@partner.example'), { signingKey: await openpgp.readPrivateKey({ armoredKey: mallory.privateArmored }), now: now() });
    const v = await verifyInboundSignature(input(signed, 'mallory@partner.example'), t.keys, now());
    assert.equal(v.signature, 'invalid');
    assert.match(v.reason, /no OpenPGP key of the sender is known/);
  });
});
