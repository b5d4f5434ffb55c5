/**
 * Properties of the authentication stage itself: DNS only through the port, what it reports
 * without a client address, the Authentication-Results field it builds, and that hostile or
 * forged input never throws or talks it into a pass.
 */
import dns from 'node:dns';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/auth/authenticate.ts';
import type { AuthInput } from '../../src/auth/authenticate.ts';
import { zoneResolver } from '../../src/auth/static-zone.ts';
import { arcSeal, buildMessage, generateDkimKey, signMessage } from '../helpers/dkim.ts';
import { dkimKeyRecord, dmarcRecord, spfRecord } from '../helpers/dns-zone.ts';

const key = generateDkimKey('ed25519');
const resolver = zoneResolver({
  'acme.example': { TXT: spfRecord('ip4:192.0.2.0/24') },
  'mail.acme.example': { TXT: spfRecord('ip4:192.0.2.25') },
  '_dmarc.acme.example': { TXT: dmarcRecord('reject') },
  'sel._domainkey.acme.example': { TXT: dkimKeyRecord(key.publicKey, 'ed25519') },
  'arc._domainkey.acme.example': { TXT: dkimKeyRecord(key.publicKey, 'ed25519') },
});
const base = (raw: string | Buffer, extra: Partial<AuthInput> = {}): AuthInput => ({
  raw: Buffer.from(raw),
  ip: '192.0.2.10',
  helo: 'mail.acme.example',
  mailFrom: 'alice@acme.example',
  resolver,
  mta: 'mx.intentmail.test',
  ...extra,
});
const plain = (headers?: Record<string, string>) =>
  buildMessage({ from: 'Alice <Alice@ACME.example>', to: 'task.linear@in.acme.example', subject: 'Hello', text: 'Body', ...(headers ? { headers } : {}) });

describe('authenticate()', () => {
  test('never asks the system resolver: every look-up goes through the Resolver port', async () => {
    const methods = ['resolve', 'resolveTxt', 'resolve4', 'resolve6', 'resolveMx', 'resolvePtr', 'resolveCname', 'lookup'] as const;
    const promises = dns.promises as unknown as Record<string, unknown>;
    const callbacks = dns as unknown as Record<string, unknown>;
    const saved = methods.map((m) => [promises[m], callbacks[m]]);
    let systemCalls = 0;
    const trap = () => {
      systemCalls++;
      throw new Error('system resolver used');
    };
    let portCalls = 0;
    const counting = { resolve: (name: string, type: Parameters<typeof resolver.resolve>[1]) => (portCalls++, resolver.resolve(name, type)) };
    try {
      for (const m of methods) {
        promises[m] = trap;
        callbacks[m] = trap;
      }
      const signed = await signMessage(plain(), { domain: 'acme.example', selector: 'sel', privateKey: key.privateKey });
      const sealed = await arcSeal(signed, { domain: 'acme.example', selector: 'arc', privateKey: key.privateKey, authResults: 'mx.acme.example; dmarc=pass header.from=acme.example' });
      const outcome = await authenticate(base(sealed, { resolver: counting }));
      assert.deepEqual([outcome.spf.result, outcome.dkim.result, outcome.dmarc.result, outcome.arc.result], ['pass', 'pass', 'pass', 'pass']);
    } finally {
      methods.forEach((m, i) => {
        promises[m] = saved[i][0];
        callbacks[m] = saved[i][1];
      });
    }
    assert.equal(systemCalls, 0);
    assert.ok(portCalls >= 4, `SPF, DKIM, ARC and DMARC look-ups went through the port (${portCalls})`);
  });

  test('without a client address SPF is none (nothing to check), not a temporary failure', async () => {
    for (const ip of [null, 'not-an-ip']) {
      const outcome = await authenticate(base(plain(), { ip }));
      assert.deepEqual(outcome.spf, { result: 'none', domain: null });
      assert.equal(outcome.temporary, false);
      assert.match(outcome.authenticationResults, /spf=none \(mx\.intentmail\.test: no client IP address to check\)/);
    }
  });

  test('a null reverse-path checks the HELO identity (RFC 7208 §2.4)', async () => {
    const outcome = await authenticate(base(plain(), { ip: '192.0.2.25', mailFrom: null }));
    assert.deepEqual(outcome.spf, { result: 'pass', domain: 'mail.acme.example' });
  });

  test('the Authentication-Results field: authserv-id, one result per folded line, CRLF at the end', async () => {
    const signed = await signMessage(plain(), { domain: 'acme.example', selector: 'sel', privateKey: key.privateKey });
    const outcome = await authenticate(base(signed));
    const field = outcome.authenticationResults;
    assert.ok(field.startsWith('Authentication-Results: mx.intentmail.test;\r\n dkim=pass '), field);
    assert.ok(field.endsWith('\r\n') && !field.endsWith('\r\n\r\n'));
    assert.match(field, /;\r\n spf=pass /);
    assert.match(field, /;\r\n dmarc=pass /);
    for (const line of field.split('\r\n').slice(0, -1)) assert.ok(line.length <= 78, `line too long: ${line}`);
    assert.equal(outcome.headerFrom, 'alice@acme.example');
    assert.match(outcome.reason, /^spf=pass \(acme\.example\) dkim=pass \(acme\.example:pass\) dmarc=pass \(p=reject\) from acme\.example arc=none$/);
  });

  test('an authserv-id that is not a token is quoted; an IDN one becomes A-labels', async () => {
    assert.ok((await authenticate(base(plain(), { mta: 'mx intentmail' }))).authenticationResults.startsWith('Authentication-Results: "mx intentmail";\r\n'));
    assert.ok((await authenticate(base(plain(), { mta: 'mx.bücher.example' }))).authenticationResults.startsWith('Authentication-Results: mx.xn--bcher-kva.example;\r\n'));
  });

  test('forged Authentication-Results and Received headers in the message change nothing', async () => {
    const forged = plain({
      'Authentication-Results': 'mx.intentmail.test; spf=pass smtp.mailfrom=acme.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example',
      Received: 'from mail.acme.example ([192.0.2.10]) by mx.intentmail.test',
    });
    const outcome = await authenticate(base(forged, { ip: '203.0.113.66', mailFrom: 'ceo@acme.example' }));
    assert.equal(outcome.spf.result, 'fail');
    assert.deepEqual(outcome.dmarc, { result: 'fail', policy: 'reject', domain: 'acme.example' });
  });

  test('hostile or broken input never throws', async () => {
    const inputs: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('\r\n\r\n'),
      Buffer.from('no header at all'),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
      Buffer.from(`From: a@acme.example\r\nX-Long: ${'x'.repeat(200_000)}\r\n\r\nbody\r\n`),
      Buffer.from('DKIM-Signature: v=1; a=rsa-sha256; d=acme.example; s=sel; b=; bh=; h=from\r\nFrom: \0@acme.example\r\n\r\nx'),
      Buffer.from('ARC-Seal: i=99999999999999999999; cv=pass; d=x; s=y; b=z\r\nFrom: a@acme.example\r\n\r\nx'),
    ];
    for (const raw of inputs) {
      const outcome = await authenticate(base(raw, { ip: '203.0.113.66' }));
      assert.equal(typeof outcome.reason, 'string');
      assert.ok(outcome.authenticationResults.startsWith('Authentication-Results: '));
      assert.notEqual(outcome.dmarc.result, 'pass');
      assert.equal(outcome.temporary, false, 'a broken message is not a DNS problem');
    }
  });
});
