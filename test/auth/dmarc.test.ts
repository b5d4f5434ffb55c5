/**
 * DMARC (RFC 9989) end to end: real signatures, SPF from the zone, mailauth's evaluation, and
 * enforceRequire's decision, including the "spoofed CEO" use case and how `require: none`
 * treats p=none versus p=reject.
 *
 * Not covered here: shared/testdata/dmarc/test_psl.txt. mailauth 7 finds Organizational
 * Domains with the RFC 9989 DNS Tree Walk (lib/dmarc/get-dmarc-record.js getOrgDomain), not the
 * Public Suffix List, so the PSL vectors do not describe its behaviour; relaxed alignment is
 * tested below through the Tree Walk instead.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/auth/authenticate.ts';
import type { AuthOutcome } from '../../src/auth/authenticate.ts';
import { enforceRequire } from '../../src/auth/require.ts';
import { zoneResolver } from '../../src/auth/static-zone.ts';
import type { Zone } from '../../src/auth/static-zone.ts';
import { buildMessage, generateDkimKey, signMessage } from '../helpers/dkim.ts';
import { dkimKeyRecord, dmarcRecord, spfRecord } from '../helpers/dns-zone.ts';

const acmeKey = generateDkimKey('ed25519');
const strictKey = generateDkimKey('ed25519');

/** acme.example sends from 192.0.2.0/24 and signs; p=reject, sp=none; eu.acme.example exists. */
const zone: Zone = {
  'acme.example': { TXT: spfRecord('ip4:192.0.2.0/24'), A: '192.0.2.1' },
  '_dmarc.acme.example': { TXT: dmarcRecord('reject', { sp: 'none' }) },
  'sel._domainkey.acme.example': { TXT: dkimKeyRecord(acmeKey.publicKey, 'ed25519') },
  'eu.acme.example': { A: '192.0.2.2' },
  'evil.example': { TXT: spfRecord('ip4:203.0.113.0/24') },
  'lax.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
  '_dmarc.lax.example': { TXT: dmarcRecord('none') },
  'quarantine.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
  '_dmarc.quarantine.example': { TXT: dmarcRecord('quarantine') },
  'strict.example': { A: '192.0.2.3' },
  '_dmarc.strict.example': { TXT: dmarcRecord('reject', { adkim: 's', aspf: 's' }) },
  'sel._domainkey.strict.example': { TXT: dkimKeyRecord(strictKey.publicKey, 'ed25519') },
  'nopolicy.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
};
const resolver = zoneResolver(zone);
const none = { trustedArcSealers: [] };

function message(from: string, subject = 'Quarterly numbers'): string {
  return buildMessage({ from, to: 'summary.analytics@in.acme.example', subject, text: 'See attached.' });
}

async function receive(raw: string | Buffer, ip: string, mailFrom: string | null): Promise<AuthOutcome> {
  return authenticate({ raw: Buffer.from(raw), ip, helo: 'mail.sender.example', mailFrom, resolver, mta: 'mx.intentmail.test' });
}

describe('DMARC', () => {
  test('aligned DKIM and SPF: pass under p=reject, verified via dmarc for every mode', async () => {
    const signed = await signMessage(message('Alice <Alice@Acme.Example>'), { domain: 'acme.example', selector: 'sel', privateKey: acmeKey.privateKey });
    const outcome = await receive(signed, '192.0.2.10', 'alice@acme.example');
    assert.equal(outcome.spf.result, 'pass');
    assert.equal(outcome.spf.domain, 'acme.example');
    assert.equal(outcome.dkim.result, 'pass');
    assert.deepEqual(outcome.dmarc, { result: 'pass', policy: 'reject', domain: 'acme.example' });
    assert.equal(outcome.headerFrom, 'alice@acme.example');
    assert.match(outcome.authenticationResults, /dmarc=pass/);
    for (const mode of ['dmarc', 'dkim', 'spf', 'none'] as const) {
      const verdict = enforceRequire(mode, outcome, none);
      assert.equal(verdict.verdict.status, 'pass', mode);
      assert.equal(verdict.code, null);
      assert.equal(verdict.verified, true);
      assert.equal(verdict.via, 'dmarc');
    }
  });

  test('SPF alone can align: an unsigned message from an authorised host passes DMARC', async () => {
    const outcome = await receive(message('billing@acme.example'), '192.0.2.11', 'bounces@acme.example');
    assert.equal(outcome.dkim.result, 'none');
    assert.equal(outcome.dmarc.result, 'pass');
    assert.equal(enforceRequire('dkim', outcome, none).code, 'auth_dkim_failed');
    assert.equal(enforceRequire('dmarc', outcome, none).verified, true);
  });

  test('spoofed CEO (foreign server, no DKIM): DMARC fails and the message is refused whatever require says', async () => {
    const outcome = await receive(message('CEO <ceo@acme.example>', 'Urgent wire transfer'), '203.0.113.66', 'ceo@evil.example');
    assert.equal(outcome.spf.result, 'pass', 'evil.example authorises its own server');
    assert.equal(outcome.spf.domain, 'evil.example');
    assert.deepEqual(outcome.dmarc, { result: 'fail', policy: 'reject', domain: 'acme.example' });
    for (const mode of ['dmarc', 'dkim', 'spf', 'none'] as const) {
      const verdict = enforceRequire(mode, outcome, none);
      assert.equal(verdict.code, 'auth_dmarc_failed', mode);
      assert.equal(verdict.verdict.status, 'fail');
      assert.equal(verdict.verified, false);
    }
  });

  test('require: none accepts a p=none failure unverified, refuses p=quarantine and p=reject failures', async () => {
    const fromLax = await receive(message('boss@lax.example'), '203.0.113.66', 'x@evil.example');
    assert.deepEqual(fromLax.dmarc, { result: 'fail', policy: 'none', domain: 'lax.example' });
    const accepted = enforceRequire('none', fromLax, none);
    assert.deepEqual([accepted.verdict.status, accepted.code, accepted.verified, accepted.via], ['pass', null, false, null]);
    assert.equal(enforceRequire('dmarc', fromLax, none).code, 'auth_dmarc_failed');

    const fromQuarantine = await receive(message('boss@quarantine.example'), '203.0.113.66', 'x@evil.example');
    assert.equal(fromQuarantine.dmarc.policy, 'quarantine');
    assert.equal(enforceRequire('none', fromQuarantine, none).code, 'auth_dmarc_failed');

    const fromReject = await receive(message('boss@acme.example'), '203.0.113.66', 'x@evil.example');
    assert.equal(enforceRequire('none', fromReject, none).code, 'auth_dmarc_failed');
  });

  test('relaxed alignment: a subdomain From aligns with an acme.example signature (Tree Walk finds the org domain)', async () => {
    const signed = await signMessage(message('ops@eu.acme.example'), { domain: 'acme.example', selector: 'sel', privateKey: acmeKey.privateKey });
    const outcome = await receive(signed, '198.51.100.9', 'ops@eu.acme.example');
    assert.equal(outcome.dkim.signatures[0].aligned, true);
    // The subdomain inherits acme.example's record, so its policy is sp= (none), not p=.
    assert.deepEqual(outcome.dmarc, { result: 'pass', policy: 'none', domain: 'eu.acme.example' });
    assert.equal(enforceRequire('dmarc', outcome, none).verified, true);
  });

  test('a spoofed subdomain gets the sp= policy: sp=none is accepted unverified under require: none', async () => {
    const outcome = await receive(message('ops@eu.acme.example'), '203.0.113.66', 'x@evil.example');
    assert.deepEqual(outcome.dmarc, { result: 'fail', policy: 'none', domain: 'eu.acme.example' });
    assert.equal(enforceRequire('none', outcome, none).code, null);
    assert.equal(enforceRequire('dmarc', outcome, none).code, 'auth_dmarc_failed');
  });

  test('strict alignment (adkim=s): a signature by the parent domain does not align for a subdomain From', async () => {
    const signed = await signMessage(message('ops@eu.strict.example'), { domain: 'strict.example', selector: 'sel', privateKey: strictKey.privateKey });
    const outcome = await receive(signed, '198.51.100.9', 'ops@eu.strict.example');
    assert.equal(outcome.dkim.result, 'pass');
    assert.equal(outcome.dmarc.result, 'fail');
    assert.equal(enforceRequire('dkim', outcome, none).code, 'auth_dmarc_failed', 'the p=reject of the org domain still applies');
  });

  test('no DMARC record: require dmarc refuses, require none accepts unverified', async () => {
    const outcome = await receive(message('someone@nopolicy.example'), '192.0.2.12', 'someone@nopolicy.example');
    assert.equal(outcome.spf.result, 'pass');
    assert.deepEqual(outcome.dmarc, { result: 'none', policy: null, domain: 'nopolicy.example' });
    assert.equal(enforceRequire('dmarc', outcome, none).code, 'auth_dmarc_failed');
    assert.equal(enforceRequire('spf', outcome, none).code, null);
    const relaxed = enforceRequire('none', outcome, none);
    assert.deepEqual([relaxed.code, relaxed.verified], [null, false]);
  });

  test('two From domains cannot be evaluated (RFC 9989 §5.3.1): permerror, never verified', async () => {
    const raw = message('a@acme.example, b@lax.example');
    const outcome = await receive(raw, '192.0.2.10', 'a@acme.example');
    assert.equal(outcome.dmarc.result, 'permerror');
    assert.equal(outcome.headerFrom, null);
    assert.equal(enforceRequire('dmarc', outcome, none).code, 'auth_dmarc_failed');
  });
});
