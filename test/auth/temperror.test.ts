/**
 * DNS trouble during authentication must end in 451 4.4.3 (auth_temporary), never in a pass and
 * never in "no policy": a TIMEOUT zone entry, a real UDP server that never answers, and the
 * stage deadline.
 */
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { udpResolver } from '../../src/adapters/dns/udp-resolver.ts';
import { authenticate } from '../../src/auth/authenticate.ts';
import { enforceRequire } from '../../src/auth/require.ts';
import { zoneResolver } from '../../src/auth/static-zone.ts';
import type { Zone } from '../../src/auth/static-zone.ts';
import { toSmtpReply, IntentmailError } from '../../src/core/errors.ts';
import type { DnsAnswer, Resolver } from '../../src/core/ports.ts';
import { arcSeal, buildMessage, generateDkimKey, signMessage } from '../helpers/dkim.ts';
import { dkimKeyRecord, dmarcRecord, spfRecord } from '../helpers/dns-zone.ts';
import { startDnsServer } from '../helpers/dns-server.ts';

const acmeKey = generateDkimKey('ed25519');
const none = { trustedArcSealers: [] };
const baseZone: Zone = {
  'acme.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
  '_dmarc.acme.example': { TXT: dmarcRecord('reject') },
  'sel._domainkey.acme.example': { TXT: dkimKeyRecord(acmeKey.publicKey, 'ed25519') },
};
const spoof = () => buildMessage({ from: 'ceo@acme.example', to: 'task.linear@in.acme.example', subject: 'Wire', text: 'Now.' });

function receive(raw: string | Buffer, resolver: Resolver, extra: { timeoutMs?: number } = {}) {
  return authenticate({ raw: Buffer.from(raw), ip: '203.0.113.66', helo: 'mail.evil.example', mailFrom: 'ceo@acme.example', resolver, mta: 'mx.intentmail.test', ...extra });
}

describe('DNS temperror during authentication', () => {
  test('the DMARC record times out: policy unknown → auth_temporary even with require none', async () => {
    const outcome = await receive(spoof(), zoneResolver({ ...baseZone, '_dmarc.acme.example': { TIMEOUT: true } }));
    assert.equal(outcome.dmarc.result, 'temperror');
    assert.equal(outcome.temporary, true);
    for (const mode of ['dmarc', 'dkim', 'spf', 'none'] as const) {
      const verdict = enforceRequire(mode, outcome, none);
      assert.equal(verdict.code, 'auth_temporary', mode);
      assert.equal(verdict.verdict.status, 'temperror');
    }
    const reply = toSmtpReply(new IntentmailError('auth_temporary', 'try later'));
    assert.deepEqual([reply.code, reply.enhanced], [451, '4.4.3']);
  });

  test('the SPF record times out: spf=temperror; DMARC cannot pass, so a p=reject domain gets 451, not 550', async () => {
    const outcome = await receive(spoof(), zoneResolver({ ...baseZone, 'acme.example': { TIMEOUT: true } }));
    assert.equal(outcome.spf.result, 'temperror');
    assert.equal(outcome.dmarc.result, 'fail');
    assert.equal(outcome.temporary, true);
    assert.equal(enforceRequire('spf', outcome, none).code, 'auth_temporary');
    assert.equal(enforceRequire('none', outcome, none).code, 'auth_temporary', 'SPF might have passed and aligned');
  });

  test('a DKIM key times out but SPF aligns: DMARC passes and the timeout does not matter for require dmarc', async () => {
    const signed = await signMessage(spoof(), { domain: 'acme.example', selector: 'sel', privateKey: acmeKey.privateKey });
    const resolver = zoneResolver({ ...baseZone, 'sel._domainkey.acme.example': { TIMEOUT: true } });
    const outcome = await authenticate({ raw: signed, ip: '192.0.2.10', helo: 'mail.acme.example', mailFrom: 'ceo@acme.example', resolver, mta: 'mx.intentmail.test' });
    assert.equal(outcome.dkim.result, 'temperror');
    assert.equal(outcome.dmarc.result, 'pass');
    assert.equal(outcome.temporary, true);
    assert.equal(enforceRequire('dmarc', outcome, none).code, null);
    assert.equal(enforceRequire('dkim', outcome, none).code, 'auth_temporary');
  });

  test('an ARC key that times out is arc=temperror, and with DMARC failing the verdict is 451', async () => {
    const arcKey = generateDkimKey('ed25519');
    const original = await signMessage(spoof(), { domain: 'acme.example', selector: 'sel', privateKey: acmeKey.privateKey });
    const modified = original.toString().replace('Now.', 'Now. [list footer]');
    const sealed = await arcSeal(modified, {
      domain: 'forwarder.example',
      selector: 'arc',
      privateKey: arcKey.privateKey,
      authResults: 'mx.forwarder.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example',
    });
    const zone = { ...baseZone, 'arc._domainkey.forwarder.example': { TIMEOUT: true as const } };
    const outcome = await receive(sealed, zoneResolver(zone));
    assert.equal(outcome.arc.result, 'temperror');
    assert.equal(outcome.arc.sealer, 'forwarder.example');
    assert.equal(outcome.temporary, true);
    assert.equal(enforceRequire('dmarc', outcome, { trustedArcSealers: ['forwarder.example'] }).code, 'auth_temporary');
    const answered = await receive(sealed, zoneResolver({ ...zone, 'arc._domainkey.forwarder.example': { TXT: dkimKeyRecord(arcKey.publicKey, 'ed25519') } }));
    assert.equal(answered.arc.result, 'pass', 'the same message passes once the key answers');
    assert.equal(enforceRequire('dmarc', answered, { trustedArcSealers: ['forwarder.example'] }).via, 'arc');
  });

  test('a real UDP DNS server that never answers: temporary, auth_temporary', async () => {
    const silent = dgram.createSocket('udp4');
    let received = 0;
    silent.on('message', () => received++);
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      const resolver = udpResolver({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 200 });
      const outcome = await receive(spoof(), resolver, { timeoutMs: 10_000 });
      assert.ok(received > 0, 'the questions really went out over UDP');
      assert.equal(outcome.spf.result, 'temperror');
      assert.equal(outcome.dmarc.result, 'temperror');
      assert.equal(outcome.temporary, true);
      assert.equal(enforceRequire('none', outcome, none).code, 'auth_temporary');
    } finally {
      silent.close();
    }
  });

  test('TIMEOUT entries of the real test DNS server give the same result through udpResolver', async () => {
    const server = await startDnsServer({ ...baseZone, '_dmarc.acme.example': { TIMEOUT: true } });
    try {
      const outcome = await receive(spoof(), udpResolver({ servers: [`${server.host}:${server.port}`], timeoutMs: 200 }));
      assert.equal(outcome.spf.result, 'fail', 'SPF itself was answered');
      assert.equal(outcome.dmarc.result, 'temperror');
      assert.equal(enforceRequire('dmarc', outcome, none).code, 'auth_temporary');
    } finally {
      await server.close();
    }
  });

  test('the stage deadline: a resolver that hangs gives all-temperror within timeoutMs', async () => {
    const hanging: Resolver = { resolve: () => new Promise<DnsAnswer>(() => {}) };
    const started = Date.now();
    const outcome = await receive(spoof(), hanging, { timeoutMs: 100 });
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual([outcome.spf.result, outcome.dkim.result, outcome.dmarc.result, outcome.arc.result], ['temperror', 'temperror', 'temperror', 'temperror']);
    assert.equal(outcome.temporary, true);
    assert.match(outcome.reason, /did not finish within 100 ms/);
    assert.match(outcome.authenticationResults, /^Authentication-Results: mx\.intentmail\.test;\r\n dkim=temperror .*;\r\n spf=temperror;\r\n dmarc=temperror\r\n$/);
    assert.equal(enforceRequire('none', outcome, none).code, 'auth_temporary');
  });
});
