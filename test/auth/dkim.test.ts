/**
 * DKIM (RFC 6376, RFC 8463) through the whole stage: published fixtures (the RFC 8463 example
 * as mailauth ships it, dkimpy's messages, keys and key records) and fresh RSA and Ed25519
 * signatures, every key found through the zone resolver.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/auth/authenticate.ts';
import type { AuthOutcome } from '../../src/auth/authenticate.ts';
import { enforceRequire } from '../../src/auth/require.ts';
import { zoneResolver } from '../../src/auth/static-zone.ts';
import type { Zone } from '../../src/auth/static-zone.ts';
import { buildMessage, generateDkimKey, signMessage } from '../helpers/dkim.ts';
import { dkimKeyRecord } from '../helpers/dns-zone.ts';

const dkimData = new URL('../../../shared/testdata/dkim/', import.meta.url);
const rfc8463 = new URL('mailauth-rfc8463/', dkimData);
const dkimpy = new URL('dkimpy/', dkimData);
const haveRfc8463 = existsSync(new URL('signed.eml', rfc8463));
const haveDkimpy = existsSync(new URL('test.message', dkimpy));

const read = (base: URL, file: string) => readFileSync(new URL(file, base), 'utf8');
const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

async function check(raw: string | Buffer, zone: Zone): Promise<AuthOutcome> {
  return authenticate({ raw: Buffer.from(raw), ip: null, helo: null, mailFrom: null, resolver: zoneResolver(zone), mta: 'mx.intentmail.test' });
}

/** Replaces the body of a CRLF message, keeping the header (what a forwarder's footer does). */
function tamperBody(raw: Buffer | string, replacement: string): string {
  const text = raw.toString();
  const split = text.indexOf('\r\n\r\n');
  return `${text.slice(0, split)}\r\n\r\n${replacement}`;
}

describe('DKIM: RFC 8463 example (mailauth fixture)', { skip: haveRfc8463 ? false : 'mailauth-rfc8463 fixtures not present' }, () => {
  const zone = (): Zone => JSON.parse(read(rfc8463, 'dns.json')) as Zone;

  test('both the ed25519-sha256 and the rsa-sha256 signature verify', async () => {
    const outcome = await check(crlf(read(rfc8463, 'signed.eml')), zone());
    assert.equal(outcome.dkim.result, 'pass');
    assert.deepEqual(
      outcome.dkim.signatures.map((s) => [s.domain, s.selector, s.algorithm, s.result]),
      [
        ['football.example.com', 'brisbane', 'ed25519-sha256', 'pass'],
        ['football.example.com', 'test', 'rsa-sha256', 'pass'],
      ],
    );
    assert.match(outcome.authenticationResults, /^Authentication-Results: mx\.intentmail\.test;\r\n dkim=pass header\.i=@football\.example\.com header\.s=brisbane/);
    assert.ok(outcome.authenticationResults.endsWith('\r\n'));
    assert.equal(outcome.temporary, false);
  });

  test('a body changed after signing verifies for neither signature, and require: dkim refuses it', async () => {
    const outcome = await check(tamperBody(crlf(read(rfc8463, 'signed.eml')), 'Hi.\r\n\r\nWe WON the game.\r\n'), zone());
    assert.notEqual(outcome.dkim.result, 'pass');
    // Lenient mode reports a body hash mismatch as neutral (RFC 6376 §6.1.3 leaves it to the verifier).
    assert.deepEqual(outcome.dkim.signatures.map((s) => s.result), ['neutral', 'neutral']);
    assert.match(outcome.authenticationResults, /body hash did not verify/);
    const verdict = enforceRequire('dkim', outcome, { trustedArcSealers: [] });
    assert.equal(verdict.code, 'auth_dkim_failed');
    assert.equal(verdict.verdict.status, 'fail');
  });

  test('a missing key record is "no key", not a pass', async () => {
    const outcome = await check(crlf(read(rfc8463, 'signed.eml')), {});
    assert.deepEqual(outcome.dkim.signatures.map((s) => s.result), ['neutral', 'neutral']);
    assert.match(outcome.authenticationResults, /no key/);
  });
});

describe('DKIM: dkimpy fixtures', { skip: haveDkimpy && haveRfc8463 ? false : 'dkimpy fixtures not present' }, () => {
  test('rfc6376.signed.msg (simple/simple, ed25519 and rsa) verifies against the RFC 8463 key records', async () => {
    const outcome = await check(crlf(read(dkimpy, 'rfc6376.signed.msg')), JSON.parse(read(rfc8463, 'dns.json')) as Zone);
    assert.deepEqual(outcome.dkim.signatures.map((s) => [s.algorithm, s.result]), [
      ['ed25519-sha256', 'pass'],
      ['rsa-sha256', 'pass'],
    ]);
  });

  test("Exim's ed25519 signature verifies, and is not aligned with a From in another domain", async () => {
    const outcome = await check(crlf(read(dkimpy, 'ed25519test2.msg')), { 'sed._domainkey.test.ex': { TXT: read(dkimpy, 'eximtest.dns').trim() } });
    assert.equal(outcome.dkim.result, 'pass');
    assert.equal(outcome.dkim.signatures[0].domain, 'test.ex');
    assert.equal(outcome.dkim.signatures[0].aligned, false);
  });

  const keyRecords: Array<[string, string, string, RegExp | null]> = [
    ['test.private', 'test.txt', 'pass', null],
    ['test2.private', 'test2.txt', 'pass', null], // no k=: RSA is the default (RFC 6376 §3.6.1)
    ['test.private', 'badk.txt', 'neutral', /unknown key type/],
    ['test.private', 'badversion.txt', 'neutral', /unknown key version/],
    ['test.private', 'test_tlsrpt.txt', 'neutral', /key not for email/], // s=tlsrpt, not email (RFC 6376 §3.6.1 s=)
    ['test.private', 'test_bad.txt', 'neutral', null], // a corrupted public key
  ];
  for (const [privateKey, record, expected, comment] of keyRecords) {
    test(`a message signed with ${privateKey} against key record ${record}: ${expected}`, async () => {
      const signed = await signMessage(crlf(read(dkimpy, 'test.message')), { domain: 'example.com', selector: 'test', privateKey: read(dkimpy, privateKey) });
      const outcome = await check(signed, { 'test._domainkey.example.com': { TXT: read(dkimpy, record).trim() } });
      assert.equal(outcome.dkim.signatures.length, 1);
      assert.equal(outcome.dkim.signatures[0].result, expected);
      if (comment) assert.match(outcome.authenticationResults, comment);
    });
  }

  test('a raw 32-byte Ed25519 seed signs, and a key record without v= verifies it', async () => {
    const seed = Buffer.from(read(dkimpy, 'ed25519test.key').trim(), 'base64');
    const signed = await signMessage(crlf(read(dkimpy, 'test.message')), { domain: 'example.com', selector: 'ed', privateKey: seed });
    const outcome = await check(signed, { 'ed._domainkey.example.com': { TXT: read(dkimpy, 'ed25519test.dns').trim() } });
    assert.deepEqual(outcome.dkim.signatures.map((s) => [s.algorithm, s.result]), [['ed25519-sha256', 'pass']]);
  });
});

describe('DKIM: fresh signatures from test/helpers/dkim.ts', () => {
  const message = () => buildMessage({ from: 'Alice <alice@acme.example>', to: 'task.linear@in.acme.example', subject: 'Printer on fire #urgent', text: 'Third floor.\nPlease hurry.' });

  for (const type of ['rsa', 'ed25519'] as const) {
    test(`${type}: a fresh signature verifies; a changed body or Subject does not`, async () => {
      const key = generateDkimKey(type);
      const zone: Zone = { 'sel._domainkey.acme.example': { TXT: dkimKeyRecord(key.publicKey, type) } };
      const signed = await signMessage(message(), { domain: 'acme.example', selector: 'sel', privateKey: key.privateKey });

      const good = await check(signed, zone);
      assert.deepEqual(good.dkim.signatures.map((s) => [s.domain, s.algorithm, s.result, s.aligned]), [['acme.example', `${type}-sha256`, 'pass', true]]);

      const body = await check(tamperBody(signed, 'Third floor.\r\nNever mind, it is out.\r\n'), zone);
      assert.notEqual(body.dkim.result, 'pass');

      const subject = await check(signed.toString().replace('Subject: Printer on fire #urgent', 'Subject: Wire 10k to this IBAN'), zone);
      assert.equal(subject.dkim.result, 'fail');
      assert.match(subject.authenticationResults, /dkim=fail \(bad signature\)/);
    });
  }

  test('an rsa-sha1 signature is not accepted (RFC 8301 §3.1)', async () => {
    const key = generateDkimKey('rsa');
    const signed = await signMessage(message(), { domain: 'acme.example', selector: 'sel', privateKey: key.privateKey, algorithm: 'rsa-sha1' });
    const outcome = await check(signed, { 'sel._domainkey.acme.example': { TXT: dkimKeyRecord(key.publicKey, 'rsa') } });
    assert.equal(outcome.dkim.result, 'policy');
    assert.match(outcome.authenticationResults, /weak-algorithm/);
  });

  test('an expired signature (x= in the past) does not pass', async () => {
    const key = generateDkimKey('ed25519');
    const day = 24 * 3600_000;
    const signed = await signMessage(message(), {
      domain: 'acme.example',
      selector: 'sel',
      privateKey: key.privateKey,
      signTime: new Date(Date.now() - 2 * day),
      expires: new Date(Date.now() - day),
    });
    const outcome = await check(signed, { 'sel._domainkey.acme.example': { TXT: dkimKeyRecord(key.publicKey, 'ed25519') } });
    assert.equal(outcome.dkim.result, 'neutral');
    assert.match(outcome.authenticationResults, /expired/);
  });

  test('a key look-up that times out is a DKIM temperror, and the outcome is temporary', async () => {
    const key = generateDkimKey('ed25519');
    const signed = await signMessage(message(), { domain: 'acme.example', selector: 'sel', privateKey: key.privateKey });
    const outcome = await check(signed, { 'sel._domainkey.acme.example': { TIMEOUT: true } });
    assert.equal(outcome.dkim.result, 'temperror');
    assert.equal(outcome.temporary, true);
    assert.equal(enforceRequire('dkim', outcome, { trustedArcSealers: [] }).code, 'auth_temporary');
  });
});
