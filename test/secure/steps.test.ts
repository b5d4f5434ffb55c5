/**
 * The `verify_signature` and `pgp` step handlers on a real key store: the verification result
 * feeds the `signature` condition and the audit trail, and learns the sender's key; the pgp step
 * records its directive only when the tenant can sign, and the reply after it is signed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createPrivateKey } from 'node:crypto';
import { factValue } from '../../src/policy/conditions.ts';
import { findPgpSignature, readPgpKeys } from '../../src/secure/pgp.ts';
import { protectSmime } from '../../src/secure/smime.ts';
import { parseCertificate } from '../../src/secure/x509.ts';
import { secureDelivery } from '../../src/secure/delivery.ts';
import { openTestKeyStore, type TestKeyStore } from '../keys/helpers.ts';
import { invocation, RecordingPorts, stepMessage } from './helpers/message.ts';
import { makeChain, makePgpKey } from './helpers/pki.ts';

let t: TestKeyStore;
before(async () => {
  t = await openTestKeyStore();
});
after(() => t.close());

describe('verify_signature', () => {
  test('a valid S/MIME signature: result, condition, audit record, and the certificate learned', async () => {
    const { ca, leaf } = makeChain('ops@partner.example');
    await t.keys.importFiles('acme', [{ name: 'ca.pem', data: Buffer.from(ca.pem) }]);
    const raw = protectSmime(Buffer.from('From: ops@partner.example\r\nTo: summary.analytics@in.acme.example\r\nSubject: Report\r\nContent-Type: text/plain\r\n\r\nAll systems nominal.\r\n'), {
      signer: { cert: parseCertificate(leaf.der), chain: [parseCertificate(ca.der)], key: createPrivateKey(leaf.keyPem) },
      now: new Date(),
    });
    const recorder = new RecordingPorts();
    const message = await stepMessage(raw);
    const outcome = await secureDelivery(t.keys).handlers.verify_signature(message, invocation('verify_signature', {}), recorder.ports);
    assert.equal(outcome.status, 'done');
    if (outcome.status !== 'done') return;
    const result = outcome.result as { check: string; signature: string; kind: string; learned: { kind: string }[] };
    assert.deepEqual([result.check, result.signature, result.kind], ['signature', 'valid', 'smime']);
    assert.deepEqual(result.learned.map((l) => l.kind), ['smime_cert']);
    message.facts.steps.verify_signature = { result: outcome.result };
    assert.equal(factValue('signature', message.facts), 'valid');
    const event = recorder.audit.find((e) => e.action.type === 'signature.verify');
    assert.equal(event?.result.status, 'valid');
    assert.equal(event?.actor.email, 'ops@partner.example');
    assert.equal((await t.keys.keyPresence('acme', 'ops@partner.example')).smime, 'present');
  });

  test('an unsigned message: none; a tampered one: invalid', async () => {
    const plain = Buffer.from('From: x@partner.example\r\nTo: summary.analytics@in.acme.example\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n');
    const step = secureDelivery(t.keys).handlers.verify_signature;
    const none = await step(await stepMessage(plain), invocation('verify_signature', {}), new RecordingPorts().ports);
    assert.ok(none.status === 'done' && (none.result as { signature: string }).signature === 'none');
    const { ca, leaf } = makeChain('x@partner.example');
    const signed = protectSmime(plain, { signer: { cert: parseCertificate(leaf.der), chain: [parseCertificate(ca.der)], key: createPrivateKey(leaf.keyPem) }, now: new Date() });
    const tampered = Buffer.from(signed.toString('latin1').replace('hello', 'hullo'), 'latin1');
    const bad = await step(await stepMessage(tampered), invocation('verify_signature', {}), new RecordingPorts().ports);
    assert.ok(bad.status === 'done' && (bad.result as { signature: string }).signature === 'invalid');
  });
});

describe('pgp step', () => {
  test('fails without a signing key; with one, the reply after it is PGP/MIME-signed and verifies', async () => {
    const step = secureDelivery(t.keys).handlers.pgp;
    const message = await stepMessage(Buffer.from('From: analyst@acme.example\r\nTo: summary.analytics@in.acme.example\r\nSubject: Q\r\nContent-Type: text/plain\r\n\r\nq\r\n'));
    const missing = await step(message, invocation('pgp', { sign: true }), new RecordingPorts().ports);
    assert.ok(missing.status === 'failed' && /no OpenPGP signing key for intentmail@in\.acme\.example/.test(missing.reason));
    const ours = await makePgpKey('intentmail@in.acme.example');
    await t.keys.importFiles('acme', [{ name: 'ours.asc', data: Buffer.from(ours.privateArmored) }]);
    const ok = await step(message, invocation('pgp', { sign: true }), new RecordingPorts().ports);
    assert.equal(ok.status, 'done');
    if (ok.status !== 'done') return;
    const chained = await stepMessage(message.raw as Buffer, { pgp: { result: ok.result } });
    const recorder = new RecordingPorts();
    const mail = { from: 'intentmail@in.acme.example', to: ['analyst@acme.example'], raw: Buffer.from('From: intentmail@in.acme.example\r\nTo: analyst@acme.example\r\nSubject: Re: Q\r\nContent-Type: text/plain\r\n\r\nanswer\r\n') };
    const out = await secureDelivery(t.keys).protect(mail, 'none', { message: chained, step: invocation('reply', { text: 'answer' }), ports: recorder.ports });
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    const verified = await findPgpSignature(out.mail.raw, await readPgpKeys(Buffer.from(ours.publicArmored)), new Date());
    assert.ok(verified.kind === 'signed' && verified.status === 'valid', JSON.stringify(verified));
    assert.equal(recorder.audit[0].action.parameters.sign, 'pgp');
  });
});

describe('the chain\'s view', () => {
  test('key facts for a reply party and learning from an authenticated message', async () => {
    const secure = secureDelivery(t.keys);
    assert.deepEqual(await secure.keyPresence('acme', null), { smime: 'missing', pgp: 'missing' });
    const peer = await makePgpKey('peer@partner.example');
    const keydata = Buffer.from((await readPgpKeys(Buffer.from(peer.publicArmored)))[0].write()).toString('base64');
    const message = await stepMessage(Buffer.from(`From: peer@partner.example\r\nTo: summary.analytics@in.acme.example\r\nSubject: hi\r\nAutocrypt: addr=peer@partner.example; keydata=${keydata}\r\nContent-Type: text/plain\r\n\r\nhi\r\n`));
    assert.deepEqual((await secure.learn(message)).map((o) => o.status), ['imported']);
    assert.deepEqual(await secure.keyPresence('acme', 'peer@partner.example'), { smime: 'missing', pgp: 'present' });
  });
});
