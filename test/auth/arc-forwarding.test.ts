/**
 * Forwarded mail (RFC 8617): acme.example signs, a mailing list at forwarder.example checks it,
 * tags the subject and adds a footer (the DKIM signature breaks), ARC-seals what it saw, and
 * passes it on. DMARC now fails under p=reject; only a trusted sealer's record can vouch.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/auth/authenticate.ts';
import type { AuthOutcome } from '../../src/auth/authenticate.ts';
import { enforceRequire } from '../../src/auth/require.ts';
import { zoneResolver } from '../../src/auth/static-zone.ts';
import { arcSeal, buildMessage, generateDkimKey, signMessage } from '../helpers/dkim.ts';
import { dkimKeyRecord, dmarcRecord, spfRecord } from '../helpers/dns-zone.ts';

const acmeKey = generateDkimKey('ed25519');
const arcKey = generateDkimKey('rsa');
const resolver = zoneResolver({
  'acme.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
  '_dmarc.acme.example': { TXT: dmarcRecord('reject') },
  'sel._domainkey.acme.example': { TXT: dkimKeyRecord(acmeKey.publicKey, 'ed25519') },
  'forwarder.example': { TXT: spfRecord('ip4:198.51.100.0/24') },
  'arc._domainkey.forwarder.example': { TXT: dkimKeyRecord(arcKey.publicKey, 'rsa') },
});
const trusted = { trustedArcSealers: ['Forwarder.Example.'] };
const untrusted = { trustedArcSealers: ['someone-else.example'] };

/** What forwarder.example's own authentication of the original recorded: the A-R value without the field name. */
function authResultsValue(outcome: AuthOutcome): string {
  return outcome.authenticationResults.replace(/^Authentication-Results:\s*/, '').replace(/\r\n$/, '');
}

/** The list's changes: a subject tag and a footer, which break acme.example's signature. */
function listify(raw: Buffer): string {
  return raw.toString().replace('Subject: Release notes', 'Subject: [eng-list] Release notes').replace(/\r\n$/, '\r\n-- \r\neng-list mailing list\r\n');
}

async function forward(opts: { seenFrom?: string; tamperAfterSeal?: boolean } = {}): Promise<AuthOutcome> {
  const original = await signMessage(buildMessage({ from: 'Alice <alice@acme.example>', to: 'eng-list@forwarder.example', subject: 'Release notes', text: 'v2.3 is out.' }), {
    domain: 'acme.example',
    selector: 'sel',
    privateKey: acmeKey.privateKey,
  });
  // forwarder.example receives the original from acme.example's server.
  const atForwarder = await authenticate({ raw: original, ip: '192.0.2.10', helo: 'mail.acme.example', mailFrom: 'alice@acme.example', resolver, mta: 'mx.forwarder.example' });
  assert.equal(atForwarder.dmarc.result, 'pass', 'the forwarder saw a genuine message');
  let authResults = authResultsValue(atForwarder);
  if (opts.seenFrom) authResults = authResults.replace(/header\.from=acme\.example/g, `header.from=${opts.seenFrom}`);
  let sealed = (await arcSeal(listify(original), { domain: 'forwarder.example', selector: 'arc', privateKey: arcKey.privateKey, authResults })).toString();
  if (opts.tamperAfterSeal) sealed = sealed.replace('v2.3 is out.', 'v2.3 is out. Also: send me your password.');
  // We receive it from the list server, with the list's bounce address (SPF passes for forwarder.example only).
  return authenticate({ raw: Buffer.from(sealed), ip: '198.51.100.7', helo: 'mx.forwarder.example', mailFrom: 'eng-list-bounces@forwarder.example', resolver, mta: 'mx.intentmail.test' });
}

describe('ARC-sealed forwarded mail', () => {
  test('DKIM breaks and DMARC fails, but the chain passes and names the sealer', async () => {
    const outcome = await forward();
    assert.equal(outcome.dkim.result, 'neutral', 'the footer broke the body hash');
    assert.equal(outcome.spf.result, 'pass');
    assert.equal(outcome.spf.domain, 'forwarder.example');
    assert.deepEqual(outcome.dmarc, { result: 'fail', policy: 'reject', domain: 'acme.example' });
    assert.equal(outcome.arc.result, 'pass');
    assert.equal(outcome.arc.sealer, 'forwarder.example');
    assert.match(outcome.arc.authResults ?? '', /^i=1; mx\.forwarder\.example; .*dmarc=pass .*header\.from=acme\.example/);
  });

  test('with the sealer trusted: verified via arc (require dmarc and require none)', async () => {
    const outcome = await forward();
    for (const mode of ['dmarc', 'none'] as const) {
      const verdict = enforceRequire(mode, outcome, trusted);
      assert.deepEqual([verdict.verdict.status, verdict.code, verdict.verified, verdict.via], ['pass', null, true, 'arc'], mode);
    }
  });

  test('with the sealer untrusted: auth_dmarc_failed, even under require none (p=reject)', async () => {
    const outcome = await forward();
    for (const mode of ['dmarc', 'none'] as const) {
      const verdict = enforceRequire(mode, outcome, untrusted);
      assert.deepEqual([verdict.verdict.status, verdict.code, verdict.verified], ['fail', 'auth_dmarc_failed', false], mode);
    }
  });

  test('a trusted sealer that recorded dmarc=pass for another From domain does not vouch for this one', async () => {
    const outcome = await forward({ seenFrom: 'other.example' });
    assert.equal(outcome.arc.result, 'pass');
    assert.equal(enforceRequire('dmarc', outcome, trusted).code, 'auth_dmarc_failed');
  });

  test('a message changed after sealing breaks the chain: no override, refused', async () => {
    const outcome = await forward({ tamperAfterSeal: true });
    assert.equal(outcome.arc.result, 'fail');
    assert.equal(enforceRequire('dmarc', outcome, trusted).code, 'auth_dmarc_failed');
  });
});
