/**
 * Issue 4's "done when", through the real `reply` step with secure delivery plugged into its
 * protect seam: a reply leaves S/MIME-encrypted to a sender whose certificate is known,
 * PGP-encrypted to one whose key is known, and as a password PDF (password by SMS) to anyone
 * else; openssl, gpg and qpdf open each; every one is audited, no password in the audit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { keyStoreProtect } from '../../src/secure/protect.ts';
import { replyHandler } from '../../src/steps/mail.ts';
import { openTestKeyStore, type TestKeyStore } from '../keys/helpers.ts';
import { invocation, passwordIn, RecordingPorts, stepMessage } from './helpers/message.ts';
import { makeChain, makePgpKey, type TestCert } from './helpers/pki.ts';
import { Gpg, needs, run, Workdir } from './helpers/tools.ts';

let t: TestKeyStore;
let dir: Workdir;
let alice: TestCert;
let bob: Awaited<ReturnType<typeof makePgpKey>>;

const inbound = (from: string) =>
  Buffer.from(`From: ${from}\r\nTo: summary.analytics@in.acme.example\r\nSubject: Q3 numbers\r\nMessage-ID: <q3-${from}>\r\nContent-Type: text/plain\r\n\r\nPlease send the Q3 summary.\r\n`);

before(async () => {
  t = await openTestKeyStore();
  dir = new Workdir();
  const chain = makeChain('alice@partner.example');
  alice = chain.leaf;
  bob = await makePgpKey('bob@partner.example');
  await t.keys.importFiles('acme', [
    { name: 'partner-ca.pem', data: Buffer.from(chain.ca.pem) },
    { name: 'alice.pem', data: Buffer.from(alice.pem) },
    { name: 'bob.asc', data: Buffer.from(bob.publicArmored) },
  ]);
  await t.keys.setPhone('acme', 'carol@partner.example', '+4915112345678');
});
after(async () => {
  dir.remove();
  await t.close();
});

/** Runs `reply: { text, encrypt: auto }` for a message from `from`, with secure delivery in the seam. */
async function replyTo(from: string) {
  const recorder = new RecordingPorts();
  const ports = { ...recorder.ports, protect: keyStoreProtect(t.keys) };
  const message = await stepMessage(inbound(from));
  message.envelope.mailFrom = from;
  const outcome = await replyHandler(message, invocation('reply', { text: 'Revenue up 4 % in Q3.', encrypt: 'auto' }), ports);
  return { outcome, recorder };
}

describe('a reply with encrypt: auto', () => {
  test('to a sender whose certificate is known: S/MIME, openssl decrypts it', needs('openssl'), async () => {
    const { outcome, recorder } = await replyTo('alice@partner.example');
    assert.equal(outcome.status, 'done', JSON.stringify(outcome));
    assert.equal(recorder.mails.length, 1);
    const r = run('openssl', ['cms', '-decrypt', '-in', dir.file('a.eml', recorder.mails[0].raw), '-recip', dir.file('alice.pem', alice.pem), '-inkey', dir.file('alice.key', alice.keyPem)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /Revenue up 4 % in Q3\./);
    assert.equal(recorder.audit.find((e) => e.action.type === 'outbound.protect')?.action.parameters.encryption, 'smime');
  });

  test('to a sender whose OpenPGP key is known: PGP/MIME, gpg decrypts it', needs('gpg'), async () => {
    const { outcome, recorder } = await replyTo('bob@partner.example');
    assert.equal(outcome.status, 'done', JSON.stringify(outcome));
    const gpg = new Gpg();
    try {
      gpg.import(bob.privateArmored);
      const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(Buffer.from(recorder.mails[0].raw).toString('latin1'))![0];
      const r = gpg.run(['--decrypt'], armored);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.toString(), /Revenue up 4 % in Q3\./);
    } finally {
      gpg.close();
    }
    assert.equal(recorder.audit.find((e) => e.action.type === 'outbound.protect')?.action.parameters.encryption, 'pgp');
  });

  test('to anyone else: a password PDF, the password by SMS; qpdf opens it only with that password', needs('qpdf', 'pdftotext'), async () => {
    const { outcome, recorder } = await replyTo('carol@partner.example');
    assert.equal(outcome.status, 'done', JSON.stringify(outcome));
    assert.equal(recorder.mails.length, 1, 'the container; the password went by SMS');
    assert.equal(recorder.sms.length, 1);
    const password = passwordIn(recorder.sms[0].text);
    const text = Buffer.from(recorder.mails[0].raw).toString('latin1');
    assert.equal(text.includes(password), false);
    const start = text.indexOf('filename="protected-message.pdf"');
    const body = text.slice(text.indexOf('\r\n\r\n', start) + 4);
    const pdf = dir.file('c.pdf', Buffer.from(body.slice(0, body.indexOf('\r\n--')).replace(/\s+/g, ''), 'base64'));
    assert.notEqual(run('qpdf', ['--decrypt', pdf, dir.path + '/no.pdf']).status, 0);
    const opened = run('pdftotext', ['-upw', password, pdf, '-']);
    assert.equal(opened.status, 0, opened.stderr);
    assert.match(opened.stdout.toString(), /Revenue up 4 % in Q3\./);
    const audit = recorder.audit.find((e) => e.action.type === 'outbound.protect');
    assert.equal(audit?.action.parameters.encryption, 'pdf');
    assert.equal(JSON.stringify(recorder.audit).includes(password), false);
  });
});
