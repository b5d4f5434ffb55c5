/**
 * PGP/MIME against the real gpg (in a throw-away GNUPGHOME): what we sign, `gpg --verify`
 * accepts; what we encrypt (and sign), `gpg --decrypt` opens with a good signature; a PGP/MIME
 * message signed with `gpg --detach-sign` verifies here, a tampered one or one by an unknown key
 * does not. The openpgp limits are set deliberately.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import * as openpgp from 'openpgp';
import { LIMITS } from '../../src/core/limits.ts';
import { fieldValue, headerFields, multipartParts, parseContentType, splitEntity, splitForProtection } from '../../src/secure/mime.ts';
import { findPgpSignature, PGP_CONFIG, pgpKeyProblem, protectPgp, readPgpKeys } from '../../src/secure/pgp.ts';
import { makePgpKey } from './helpers/pki.ts';
import { Gpg, needs, Workdir } from './helpers/tools.ts';

const MESSAGE = Buffer.from(
  'From: intentmail@in.acme.example\r\nTo: bob@example.org\r\nSubject: Results\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe summary you asked for.\r\n',
);

let ours: Awaited<ReturnType<typeof makePgpKey>>;
let bob: Awaited<ReturnType<typeof makePgpKey>>;
let gpg: Gpg | null = null;
const gpgNeeded = needs('gpg');

before(async () => {
  ours = await makePgpKey('intentmail@in.acme.example');
  bob = await makePgpKey('bob@example.org');
  if (!gpgNeeded.skip) {
    gpg = new Gpg();
    gpg.import(ours.publicArmored);
    gpg.import(bob.privateArmored);
  }
});
after(() => gpg?.close());

/** The two parts of a top-level multipart (exact bytes). */
function parts(raw: Buffer): Buffer[] {
  const { header, body } = splitEntity(raw);
  const ct = parseContentType(fieldValue(headerFields(header), 'content-type'));
  return multipartParts(body, ct.params.boundary)!;
}

describe('PGP/MIME out: gpg opens what we produce', () => {
  test('multipart/signed: gpg --verify accepts the detached signature over the first part', gpgNeeded, async () => {
    const signingKey = await openpgp.readPrivateKey({ armoredKey: ours.privateArmored });
    const signed = await protectPgp(MESSAGE, { signingKey, now: new Date() });
    assert.match(signed.toString('latin1'), /multipart\/signed; micalg=pgp-sha256; protocol="application\/pgp-signature"/);
    const [content, sig] = parts(signed);
    assert.deepEqual(content, splitForProtection(MESSAGE).entity);
    const w = new Workdir();
    try {
      const r = gpg!.run(['--verify', w.file('sig.asc', splitEntity(sig).body), w.file('content', content)]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /Good signature from "intentmail <intentmail@in\.acme\.example>"/);
      const bad = gpg!.run(['--verify', w.file('sig2.asc', splitEntity(sig).body), w.file('content2', Buffer.concat([content, Buffer.from(' ')]))]);
      assert.notEqual(bad.status, 0);
    } finally {
      w.remove();
    }
  });

  test('multipart/encrypted, signed inside: gpg --decrypt gives the entity and a good signature', gpgNeeded, async () => {
    const signingKey = await openpgp.readPrivateKey({ armoredKey: ours.privateArmored });
    const [bobKey] = await readPgpKeys(Buffer.from(bob.publicArmored));
    const enc = await protectPgp(MESSAGE, { signingKey, encryptionKeys: [bobKey], now: new Date() });
    assert.match(enc.toString('latin1'), /multipart\/encrypted; protocol="application\/pgp-encrypted"/);
    assert.doesNotMatch(enc.toString('latin1'), /summary you asked for/);
    const [control, payload] = parts(enc);
    assert.match(control.toString('latin1'), /Version: 1/);
    const r = gpg!.run(['--decrypt'], splitEntity(payload).body);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout, splitForProtection(MESSAGE).entity);
    assert.match(r.stderr, /Good signature from "intentmail/);
  });
});

describe('PGP/MIME in: what gpg signs verifies here', () => {
  async function gpgSigned(content: string, tamper: boolean): Promise<Buffer> {
    const w = new Workdir();
    try {
      const gpgOurs = new Gpg();
      try {
        gpgOurs.import(bob.privateArmored);
        const part = Buffer.from(content);
        const sig = gpgOurs.run(['--armor', '--detach-sign', '--digest-algo', 'SHA256', '--local-user', 'bob@example.org', '--output', '-', w.file('part', part)]);
        assert.equal(sig.status, 0, sig.stderr);
        const shown = tamper ? Buffer.from(content.replace('4711', '4712')) : part;
        return Buffer.concat([
          Buffer.from('From: bob@example.org\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="XYZ"\r\n\r\n--XYZ\r\n'),
          shown,
          Buffer.from('\r\n--XYZ\r\nContent-Type: application/pgp-signature\r\n\r\n'),
          sig.stdout,
          Buffer.from('\r\n--XYZ--\r\n'),
        ]);
      } finally {
        gpgOurs.close();
      }
    } finally {
      w.remove();
    }
  }
  const part = 'Content-Type: text/plain\r\n\r\nPlease pay invoice 4711.\r\n';

  test('valid with the sender key; invalid when tampered; invalid by an unknown key', gpgNeeded, async () => {
    const bobKeys = await readPgpKeys(Buffer.from(bob.publicArmored));
    const good = await findPgpSignature(await gpgSigned(part, false), bobKeys, new Date());
    assert.equal(good.kind, 'signed');
    if (good.kind === 'signed') assert.equal(good.status, 'valid', good.reason);
    const tampered = await findPgpSignature(await gpgSigned(part, true), bobKeys, new Date());
    assert.ok(tampered.kind === 'signed' && tampered.status === 'invalid', JSON.stringify(tampered));
    const unknown = await findPgpSignature(await gpgSigned(part, false), [], new Date());
    assert.ok(unknown.kind === 'signed' && unknown.status === 'invalid');
    if (unknown.kind === 'signed') assert.match(unknown.reason, /no OpenPGP key of the sender is known/);
    const otherKeys = await readPgpKeys(Buffer.from(ours.publicArmored));
    const wrongKey = await findPgpSignature(await gpgSigned(part, false), otherKeys, new Date());
    assert.ok(wrongKey.kind === 'signed' && wrongKey.status === 'invalid');
  });
});

describe('keys and limits', () => {
  test('expired and revoked keys are refused with the reason', async () => {
    const old = await makePgpKey('old@example.org', { keyExpirationTime: 3600, date: new Date(Date.now() - 7200_000) });
    const [oldKey] = await readPgpKeys(Buffer.from(old.publicArmored));
    assert.match((await pgpKeyProblem(oldKey, 'encrypt', new Date())) ?? '', /expired|no valid encryption key/);
    const fresh = await makePgpKey('gone@example.org');
    const [freshKey] = await readPgpKeys(Buffer.from(fresh.publicArmored));
    assert.equal(await pgpKeyProblem(freshKey, 'encrypt', new Date()), null);
    const { publicKey: revoked } = await openpgp.revokeKey({ key: await openpgp.readPrivateKey({ armoredKey: fresh.privateArmored }), format: 'object' });
    assert.match((await pgpKeyProblem(revoked, 'encrypt', new Date())) ?? '', /revoked/);
  });

  test('the openpgp limits are ours, not the library defaults', () => {
    assert.equal(PGP_CONFIG.maxDecompressedMessageSize, LIMITS.PGP_MAX_DECOMPRESSED_BYTES);
    assert.equal(PGP_CONFIG.maxUserIDLength, LIMITS.PGP_MAX_USER_ID_LENGTH);
    assert.equal(PGP_CONFIG.minRSABits, LIMITS.MIN_RSA_BITS);
    assert.equal(PGP_CONFIG.maxArgon2MemoryExponent, LIMITS.PGP_MAX_ARGON2_MEMORY_EXPONENT);
    assert.equal(PGP_CONFIG.allowUnauthenticatedMessages, false);
    assert.notEqual(PGP_CONFIG.maxDecompressedMessageSize, openpgp.config.maxDecompressedMessageSize);
  });

  test('a compressed message that inflates past the limit is refused', async () => {
    const [bobKey] = await readPgpKeys(Buffer.from(bob.publicArmored));
    const bomb = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new Uint8Array(2 * 1024 * 1024) }),
      encryptionKeys: bobKey,
      format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
    });
    const privateKey = await openpgp.readPrivateKey({ armoredKey: bob.privateArmored });
    const small = { ...PGP_CONFIG, maxDecompressedMessageSize: 1024 * 1024 };
    await assert.rejects(openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: bomb }), decryptionKeys: privateKey, config: small, format: 'binary' }), /decompressed|size/i);
  });
});
