/**
 * S/MIME against the real openssl: what we sign, openssl verifies; what we encrypt (CBC with
 * PKCS#1 v1.5, GCM with OAEP), openssl decrypts; what openssl signs (detached, opaque, RSA-PSS),
 * we verify, and a tampered copy does not verify. Hostile structures are verdicts, not exceptions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createPrivateKey } from 'node:crypto';
import { findSmimeSignature, protectSmime } from '../../src/secure/smime.ts';
import { verifySignedData } from '../../src/secure/cms.ts';
import { splitForProtection } from '../../src/secure/mime.ts';
import { parseCertificate } from '../../src/secure/x509.ts';
import { makeChain, type TestCert } from './helpers/pki.ts';
import { needs, run, Workdir } from './helpers/tools.ts';

const MESSAGE = Buffer.from(
  'From: intentmail@in.acme.example\r\nTo: bob@example.org\r\nSubject: Lab result\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe, the result is attached.\r\n',
);

let ca: TestCert;
let leaf: TestCert;
let dir: Workdir;

before(() => {
  ({ ca, leaf } = makeChain('bob@example.org'));
  dir = new Workdir();
  dir.file('ca.pem', ca.pem);
  dir.file('leaf.pem', leaf.pem);
  dir.file('leaf.key', leaf.keyPem);
});
after(() => dir.remove());

function signer() {
  return { cert: parseCertificate(leaf.der), chain: [parseCertificate(ca.der)], key: createPrivateKey(leaf.keyPem) };
}

/** What openssl hands back after decrypting: the protected entity (content fields and body). */
function entityOf(raw: Buffer): Buffer {
  return splitForProtection(raw).entity;
}

describe('S/MIME out: openssl opens what we produce', () => {
  test('a detached signature verifies with openssl smime -verify and openssl cms -verify', needs('openssl'), () => {
    const signed = protectSmime(MESSAGE, { signer: signer(), now: new Date() });
    const file = dir.file('signed.eml', signed);
    const smime = run('openssl', ['smime', '-verify', '-in', file, '-CAfile', dir.path + '/ca.pem']);
    assert.equal(smime.status, 0, smime.stderr);
    assert.deepEqual(smime.stdout, entityOf(MESSAGE));
    const cms = run('openssl', ['cms', '-verify', '-in', file, '-CAfile', dir.path + '/ca.pem', '-purpose', 'smimesign']);
    assert.equal(cms.status, 0, cms.stderr);
    assert.match(signed.toString('latin1'), /^Subject: Lab result\r$/m);
    assert.match(signed.toString('latin1'), /multipart\/signed; protocol="application\/pkcs7-signature"; micalg=sha-256/);
  });

  for (const [cipher, transport] of [
    ['aes-256-cbc', 'rsa-pkcs1'],
    ['aes-256-gcm', 'rsa-oaep'],
  ] as const) {
    test(`encrypted with ${cipher} / ${transport}, openssl cms -decrypt gives back the entity`, needs('openssl'), () => {
      const enc = protectSmime(MESSAGE, { recipients: [{ cert: parseCertificate(leaf.der), transport }], cipher, now: new Date() });
      assert.match(enc.toString('latin1'), cipher === 'aes-256-gcm' ? /smime-type=authEnveloped-data/ : /smime-type=enveloped-data/);
      assert.doesNotMatch(enc.toString('latin1'), /the result is attached/);
      const r = run('openssl', ['cms', '-decrypt', '-in', dir.file(`enc-${cipher}.eml`, enc), '-recip', dir.path + '/leaf.pem', '-inkey', dir.path + '/leaf.key']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout, entityOf(MESSAGE));
    });
  }

  test('signed and encrypted: decrypts, then the inner signature verifies', needs('openssl'), () => {
    const both = protectSmime(MESSAGE, { signer: signer(), recipients: [{ cert: parseCertificate(leaf.der), transport: 'rsa-oaep' }], cipher: 'aes-256-cbc', now: new Date() });
    // The legacy `openssl smime` (PKCS#7) cannot do RSA-OAEP, `openssl cms` can.
    const dec = run('openssl', ['cms', '-decrypt', '-in', dir.file('both.eml', both), '-recip', dir.path + '/leaf.pem', '-inkey', dir.path + '/leaf.key']);
    assert.equal(dec.status, 0, dec.stderr);
    const verify = run('openssl', ['smime', '-verify', '-in', dir.file('inner.eml', dec.stdout), '-CAfile', dir.path + '/ca.pem']);
    assert.equal(verify.status, 0, verify.stderr);
    assert.deepEqual(verify.stdout, entityOf(MESSAGE));
  });
});

describe('S/MIME in: what openssl signs verifies here; tampering does not', () => {
  const body = 'Content-Type: text/plain\r\n\r\nPlease process invoice 4711.\r\n';
  const variants: [string, string[], string[]][] = [
    ['openssl smime -sign (detached)', ['smime', '-sign'], []],
    ['openssl smime -sign -nodetach (opaque)', ['smime', '-sign', '-nodetach'], []],
    ['openssl cms -sign with RSA-PSS and SHA-384', ['cms', '-sign', '-md', 'sha384'], ['-keyopt', 'rsa_padding_mode:pss']],
  ];
  for (const [name, args, keyopts] of variants) {
    test(name, needs('openssl'), () => {
      const r = run('openssl', [...args, '-in', dir.file('body.txt', body), '-signer', dir.path + '/leaf.pem', '-inkey', dir.path + '/leaf.key', ...keyopts]);
      assert.equal(r.status, 0, r.stderr);
      const found = findSmimeSignature(r.stdout);
      assert.equal(found.kind, 'signed');
      if (found.kind !== 'signed') return;
      assert.equal(found.verification.status, 'valid', found.verification.reason);
      assert.equal(found.verification.signer?.fingerprint, parseCertificate(leaf.der).fingerprint);
      // Tamper: change one byte of the signed text (detached) or of the encapsulated content (opaque).
      let tampered: Buffer;
      if (r.stdout.includes('invoice 4711')) tampered = Buffer.from(r.stdout.toString('latin1').replace('invoice 4711', 'invoice 4712'), 'latin1');
      else {
        const text = r.stdout.toString('latin1');
        const start = text.indexOf('\n\n') >= 0 ? text.indexOf('\n\n') + 2 : text.indexOf('\r\n\r\n') + 4;
        const der = Buffer.from(text.slice(start).replace(/\s+/g, ''), 'base64');
        der[der.indexOf('4711')] ^= 0x01;
        tampered = Buffer.concat([Buffer.from(text.slice(0, start), 'latin1'), Buffer.from(der.toString('base64').replace(/.{64}/g, '$&\n'))]);
      }
      const again = findSmimeSignature(tampered);
      assert.equal(again.kind, 'signed');
      if (again.kind === 'signed') {
        assert.equal(again.verification.status, 'invalid');
        assert.match(again.verification.reason, /digest does not match|does not verify/);
      }
    });
  }
});

describe('hostile structures are verdicts, not exceptions', () => {
  test('garbage, truncated and deeply nested CMS blobs are invalid with a reason', () => {
    const deep = Buffer.alloc(400);
    for (let i = 0; i < 200; i++) {
      deep[2 * i] = 0x30;
      deep[2 * i + 1] = 0x80;
    }
    for (const blob of [Buffer.from('not asn.1 at all'), Buffer.from([0x30, 0x82, 0xff, 0xff, 0x01]), deep, Buffer.alloc(0)]) {
      const v = verifySignedData(blob, Buffer.from('x'));
      assert.equal(v.status, 'invalid');
      assert.ok(v.reason.length > 0);
    }
  });

  test('multipart/signed with a missing closing boundary or a non-base64 signature part', () => {
    const broken = Buffer.from('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n');
    const found = findSmimeSignature(broken);
    assert.equal(found.kind, 'signed');
    if (found.kind === 'signed') assert.equal(found.verification.status, 'invalid');
    assert.equal(findSmimeSignature(Buffer.from('Content-Type: text/plain\r\n\r\nplain\r\n')).kind, 'none');
  });
});
