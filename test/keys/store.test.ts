/**
 * The per-tenant key store on a real database: imports checked for validity, usage, chain and
 * revocation with clear reasons; PKCS#12 and passphrase-protected keys; private keys sealed at
 * rest; checks repeated at the moment of use; and tenants that never see each other's keys.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createPrivateKey, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { IntentmailError } from '../../src/core/errors.ts';
import { importTenantKeyFiles } from '../../src/keys/tenant-files.ts';
import { DAY, makeCert, makeChain, makeCrl, makePgpKey, makePkcs12, type TestCert } from '../secure/helpers/pki.ts';
import { Workdir } from '../secure/helpers/tools.ts';
import { openTestKeyStore, type TestKeyStore } from './helpers.ts';

let t: TestKeyStore;
let ca: TestCert;
let bob: TestCert;

before(async () => {
  t = await openTestKeyStore();
  ({ ca, leaf: bob } = makeChain('bob@example.org'));
});
after(() => t.close());

const file = (name: string, data: string | Buffer) => ({ name, data: Buffer.from(data) });

describe('importing S/MIME material', () => {
  test('a CA and a recipient certificate chained to it are imported and usable', async () => {
    const out = await t.keys.importFiles('acme', [file('ca.pem', ca.pem), file('bob.cer', bob.der)]);
    assert.deepEqual(out.map((o) => [o.kind, o.status]), [['x509_ca', 'imported'], ['smime_cert', 'imported']]);
    assert.match(out[1].reason, /chains to "CN=Test CA for bob@example.org/);
    const found = await t.keys.smimeRecipient('acme', 'BOB@example.org');
    assert.ok(found.ok);
    assert.deepEqual(await t.keys.keyPresence('acme', 'bob@example.org'), { smime: 'present', pgp: 'missing' });
    assert.ok(t.audit.some((e) => e.action.type === 'key.import' && e.result.status === 'imported' && e.action.target === 'bob@example.org'));
    const again = await t.keys.importFiles('acme', [file('bob.pem', bob.pem)]);
    assert.equal(again[0].status, 'updated');
  });

  test('an expired certificate is refused, naming the date; so is one not valid yet', async () => {
    const old = makeCert({ cn: 'old', email: 'old@example.org', issuer: ca, notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
    const early = makeCert({ cn: 'early', email: 'early@example.org', issuer: ca, notBefore: new Date(Date.now() + 10 * DAY) });
    const [expired, notYet] = await t.keys.importFiles('acme', [file('old.pem', old.pem), file('early.pem', early.pem)]);
    assert.equal(expired.status, 'refused');
    assert.match(expired.reason, /expired on \d{4}-\d\d-\d\dT/);
    assert.equal(notYet.status, 'refused');
    assert.match(notYet.reason, /not valid before/);
    assert.ok(t.audit.some((e) => e.result.status === 'refused' && e.authorization.reason.includes('expired')));
    assert.equal((await t.keys.smimeRecipient('acme', 'old@example.org')).ok, false);
  });

  test('usage, key size and chain problems are refused with the reason', async () => {
    const noEmail = makeCert({ cn: 'tls', email: 'tls@example.org', issuer: ca, emailProtection: false });
    const signOnly = makeCert({ cn: 'signer', email: 'signer@example.org', issuer: ca, keyUsage: { digitalSignature: true } });
    const weak = makeCert({ cn: 'weak', email: 'weak@example.org', issuer: ca, bits: 1024 });
    const stranger = makeChain('carol@example.org').leaf;
    const out = await t.keys.importFiles('acme', [file('a.pem', noEmail.pem), file('b.pem', signOnly.pem), file('c.pem', weak.pem), file('d.pem', stranger.pem)]);
    assert.deepEqual(out.map((o) => o.status), ['refused', 'refused', 'refused', 'refused']);
    assert.match(out[0].reason, /lacks emailProtection/);
    assert.match(out[1].reason, /may not be used to encrypt/);
    assert.match(out[2].reason, /1024-bit RSA key, below the minimum of 2048/);
    assert.match(out[3].reason, /issuer "CN=Test CA for carol@example.org.*" .*is not known \(import the CA certificate\)/);
  });

  test('a self-signed end-entity certificate an operator imports is pinned', async () => {
    const self = makeCert({ cn: 'dave', email: 'dave@example.org' });
    const [out] = await t.keys.importFiles('acme', [file('dave.pem', self.pem)]);
    assert.equal(out.status, 'imported');
    assert.match(out.reason, /self-signed, trusted because an operator imported it/);
    assert.ok((await t.keys.smimeRecipient('acme', 'dave@example.org')).ok);
  });

  test('a CRL revokes: the stored certificate becomes unusable, a new import of it is refused', async () => {
    const { ca: ca2, leaf: erin } = makeChain('erin@example.org');
    await t.keys.importFiles('acme', [file('ca2.pem', ca2.pem), file('erin.pem', erin.pem)]);
    assert.ok((await t.keys.smimeRecipient('acme', 'erin@example.org')).ok);
    const [crl] = await t.keys.importFiles('acme', [file('ca2.crl', makeCrl(ca2, [erin]))]);
    assert.equal(crl.kind, 'x509_crl');
    assert.equal(crl.status, 'imported', crl.reason);
    const use = await t.keys.smimeRecipient('acme', 'erin@example.org');
    assert.equal(use.ok, false);
    if (!use.ok) assert.match(use.reasons[0], /was revoked on .*CRL of "CN=Test CA for erin@example.org/);
    const [again] = await t.keys.importFiles('acme', [file('erin.pem', erin.pem)]);
    assert.equal(again.status, 'refused');
    assert.match(again.reason, /revoked/);
    const forged = makeCrl(makeCert({ cn: 'Test CA for erin@example.org', ca: true }), [erin]);
    const [bad] = await t.keys.importFiles('acme', [file('forged.crl', forged)]);
    assert.equal(bad.status, 'refused');
  });

  test('PKCS#12 identity: needs the right password; the private key is sealed at rest', async () => {
    const { ca: ourCa, leaf: ours } = makeChain('intentmail@in.acme.example');
    const p12 = makePkcs12(ours, [ourCa], 'correct horse');
    await assert.rejects(t.keys.importFiles('acme', [file('id.p12', p12)]), (e: unknown) => e instanceof IntentmailError && /needs --password/.test(e.message));
    await assert.rejects(t.keys.importFiles('acme', [file('id.p12', p12)], { password: 'wrong' }), /wrong password/);
    await t.keys.importFiles('acme', [file('ca.pem', ourCa.pem)]);
    const outcomes = await t.keys.importFiles('acme', [file('id.p12', p12)], { password: 'correct horse' });
    // The bundle carries the CA too: it is recognised as the anchor already stored.
    assert.deepEqual(outcomes.map((o) => [o.kind, o.status]), [['x509_ca', 'updated'], ['smime_identity', 'imported']]);
    const out = outcomes[1];
    assert.equal(out.status, 'imported', out.reason);
    const signer = await t.keys.smimeSigner('acme', 'intentmail@in.acme.example');
    assert.ok(signer.ok);
    if (signer.ok) assert.equal(signer.key.chain[0]?.subject, 'CN=Test CA for intentmail@in.acme.example, O=Intentmail Test');
    // The PKCS#8 key is nowhere in the row; another master key cannot open it.
    const pkcs8 = createPrivateKey(ours.keyPem).export({ type: 'pkcs8', format: 'der' });
    const [row] = await t.query(`SELECT encode(secret_ciphertext, 'hex') AS c, encode(public_data, 'hex') AS p FROM tenant_keys WHERE id = '${out.id}'`);
    const needle = pkcs8.subarray(-64).toString('hex'); // the end of the CRT coefficients: private, unlike the modulus
    assert.equal(String(row.c).includes(needle) || String(row.p).includes(needle), false);
    await assert.rejects(t.withMasterKey(new Uint8Array(randomBytes(32))).smimeSigner('acme', 'intentmail@in.acme.example'), /master key/);
  });

  test('a PEM key and its certificate in one file make an identity; a key alone is refused', async () => {
    const { ca: c, leaf: frank } = makeChain('frank@in.acme.example');
    const out = await t.keys.importFiles('acme', [file('c.pem', c.pem), file('frank.pem', frank.pem + frank.keyPem)]);
    assert.deepEqual(out.map((o) => [o.kind, o.status]), [['x509_ca', 'imported'], ['smime_identity', 'imported']]);
    const [alone] = await t.keys.importFiles('acme', [file('key.pem', makeCert({ cn: 'x', email: 'x@y.example' }).keyPem)]);
    assert.equal(alone.status, 'refused');
    assert.match(alone.reason, /without its certificate/);
  });
});

describe('importing OpenPGP material', () => {
  test('public keys, passphrase-protected secret keys, expired and revoked keys', async () => {
    const grace = await makePgpKey('grace@example.org');
    const ours = await makePgpKey('intentmail@in.acme.example', { passphrase: 'sesame' });
    const [pub] = await t.keys.importFiles('acme', [file('grace.asc', grace.publicArmored)]);
    assert.deepEqual([pub.kind, pub.status], ['pgp_public', 'imported']);
    assert.deepEqual(await t.keys.keyPresence('acme', 'grace@example.org'), { smime: 'missing', pgp: 'present' });
    await assert.rejects(t.keys.importFiles('acme', [file('ours.asc', ours.privateArmored)]), /protected: give --password/);
    const [sec] = await t.keys.importFiles('acme', [file('ours.asc', ours.privateArmored)], { password: 'sesame' });
    assert.deepEqual([sec.kind, sec.status], ['pgp_identity', 'imported']);
    assert.ok((await t.keys.pgpSigner('acme', 'intentmail@in.acme.example')).ok);
    // Binary (non-armored) keys read too.
    const heidi = await makePgpKey('heidi@example.org');
    const binary = (await openpgp.readKey({ armoredKey: heidi.publicArmored })).write();
    assert.equal((await t.keys.importFiles('acme', [file('heidi.gpg', Buffer.from(binary))]))[0].status, 'imported');

    const old = await makePgpKey('ivan@example.org', { keyExpirationTime: 3600, date: new Date(Date.now() - 7200_000) });
    const [expired] = await t.keys.importFiles('acme', [file('ivan.asc', old.publicArmored)]);
    assert.equal(expired.status, 'refused');
    assert.match(expired.reason, /expired|no valid encryption key/);

    // Revoking a key already stored: the new copy carries the revocation signature, and the stored key stops being used.
    const { publicKey: revoked } = await openpgp.revokeKey({ key: await openpgp.readPrivateKey({ armoredKey: grace.privateArmored }), format: 'armored' });
    const [rev] = await t.keys.importFiles('acme', [file('grace-revoked.asc', revoked)]);
    assert.equal(rev.status, 'refused');
    assert.match(rev.reason, /was revoked/);
    const use = await t.keys.pgpRecipient('acme', 'grace@example.org');
    assert.equal(use.ok, false);
  });
});

describe('tenants are isolated', () => {
  test("tenant B cannot list, use, read or remove tenant A's keys", async () => {
    const { ca: c, leaf: judy } = makeChain('judy@example.org');
    const out = await t.keys.importFiles('tenant-a', [file('c.pem', c.pem), file('judy.pem', judy.pem)]);
    const id = out[1].id!;
    assert.ok((await t.keys.smimeRecipient('tenant-a', 'judy@example.org')).ok);
    assert.deepEqual(await t.keys.list('tenant-b'), []);
    assert.deepEqual(await t.keys.keyPresence('tenant-b', 'judy@example.org'), { smime: 'missing', pgp: 'missing' });
    const lookup = await t.keys.smimeRecipient('tenant-b', 'judy@example.org');
    assert.equal(lookup.ok, false);
    assert.equal(await t.keys.repository.get('tenant-b', id), null);
    assert.equal(await t.keys.repository.get('tenant-b', out[1].fingerprint!), null);
    assert.equal(await t.keys.remove('tenant-b', id), false);
    // B importing the same leaf cannot use A's CA as its anchor.
    const [b] = await t.keys.importFiles('tenant-b', [file('judy.pem', judy.pem)]);
    assert.equal(b.status, 'refused');
    assert.match(b.reason, /not known/);
    assert.ok((await t.keys.list('tenant-a')).some((e) => e.id === id));
    assert.equal(await t.keys.remove('tenant-a', id), true);
    assert.ok(t.audit.some((e) => e.action.type === 'key.remove' && e.tenant === 'tenant-a'));
  });
});

describe('SMS numbers for PDF passwords', () => {
  test('stored per tenant and address; only E.164 numbers', async () => {
    await t.keys.setPhone('acme', 'Bob@Example.org', '+4917012345678');
    assert.equal(await t.keys.repository.phone('acme', 'bob@example.org'), '+4917012345678');
    assert.equal(await t.keys.repository.phone('tenant-b', 'bob@example.org'), null);
    await assert.rejects(t.keys.setPhone('acme', 'bob@example.org', '0170 1234'), /E\.164/);
  });
});

describe('key files named by the tenant policy', () => {
  test('imported relative to the tenant folder, passwords from the environment; escapes and unset variables refused', async () => {
    const w = new Workdir();
    try {
      const { ca: c, leaf: ours } = makeChain('intentmail@in.tenant-c.example');
      w.file('ca.pem', c.pem);
      w.file('ours.p12', makePkcs12(ours, [c], 'from-env'));
      const out = await importTenantKeyFiles(t.keys, 'tenant-c', w.path, [{ path: 'ca.pem' }, { path: 'ours.p12', passwordEnv: 'OURS_P12_PASSWORD' }], { OURS_P12_PASSWORD: 'from-env' });
      assert.deepEqual(out.map((o) => [o.kind, o.status]), [['x509_ca', 'imported'], ['x509_ca', 'updated'], ['smime_identity', 'imported']]);
      await assert.rejects(importTenantKeyFiles(t.keys, 'tenant-c', w.path, [{ path: '../etc/passwd' }], {}), /outside the tenant's folder/);
      await assert.rejects(importTenantKeyFiles(t.keys, 'tenant-c', w.path, [{ path: 'ours.p12', passwordEnv: 'UNSET_VAR' }], {}), /needs \$\{env\.UNSET_VAR\}, which is not set/);
      await assert.rejects(importTenantKeyFiles(t.keys, 'tenant-c', w.path, [{ path: 'missing.pem' }], {}), /cannot read key file missing\.pem/);
    } finally {
      w.remove();
    }
  });
});
