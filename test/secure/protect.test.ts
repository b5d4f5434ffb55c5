/**
 * The fallback chain through the `Protect` seam the outbound steps call, on a real key store and
 * checked with the real tools: S/MIME when the recipient's certificate is known (openssl opens
 * it), else OpenPGP when their key is known (gpg opens it), else a password PDF (qpdf opens it
 * with the password that went by SMS or a separate e-mail, and nothing without it). Explicit
 * modes fail, naming the missing key; every protected message is audited without its password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { keyStoreProtect, previewProtection, type EncryptMode } from '../../src/secure/protect.ts';
import { describePlan } from '../../src/secure/simulate.ts';
import { splitEntity } from '../../src/secure/mime.ts';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { pdfContainerStep } from '../../src/steps/pdf-container.ts';
import { smimeStep } from '../../src/steps/smime.ts';
import type { OutboundMail, StepMessage } from '../../src/steps/types.ts';
import { openTestKeyStore, type TestKeyStore } from '../keys/helpers.ts';
import { DAY, makeChain, makeCert, makePgpKey, type TestCert } from './helpers/pki.ts';
import { invocation, passwordIn, RecordingPorts, stepMessage } from './helpers/message.ts';
import { Gpg, needs, run, Workdir } from './helpers/tools.ts';

let t: TestKeyStore;
let dir: Workdir;
let ca: TestCert;
let smimeUser: TestCert;
let pgpUser: Awaited<ReturnType<typeof makePgpKey>>;
/** Real time, moved forward by tests that need a certificate to expire. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

const INBOUND = Buffer.from('From: analyst@acme.example\r\nTo: summary.analytics@in.acme.example\r\nSubject: Q3 numbers\r\nMessage-ID: <q3@acme.example>\r\nX-Password: Tr0ub4dor&3-correct-horse\r\nContent-Type: text/plain\r\n\r\nPlease send the Q3 summary.\r\n');

before(async () => {
  t = await openTestKeyStore(clock);
  dir = new Workdir();
  ({ ca, leaf: smimeUser } = makeChain('smime.user@partner.example'));
  pgpUser = await makePgpKey('pgp.user@partner.example');
  await t.keys.importFiles('acme', [
    { name: 'ca.pem', data: Buffer.from(ca.pem) },
    { name: 'smime-user.pem', data: Buffer.from(smimeUser.pem) },
    { name: 'pgp-user.asc', data: Buffer.from(pgpUser.publicArmored) },
  ]);
  await t.keys.setPhone('acme', 'sms.user@partner.example', '+4917012345678');
});
after(async () => {
  dir.remove();
  await t.close();
});

async function reply(to: string[], attachment?: Buffer): Promise<OutboundMail> {
  const raw = await new MailComposer({
    from: 'intentmail@in.acme.example',
    to,
    subject: 'Summary: Q3 numbers',
    text: 'Revenue up 4 %. Details attached.',
    messageId: '<reply-1@router.test>',
    date: new Date(),
    inReplyTo: '<q3@acme.example>',
    headers: { 'Auto-Submitted': 'auto-replied' },
    attachments: attachment ? [{ filename: 'original.eml', content: attachment, contentType: 'message/rfc822' }] : undefined,
  })
    .compile()
    .build();
  return { from: 'intentmail@in.acme.example', to, raw };
}

async function protect(mail: OutboundMail, encrypt: EncryptMode | undefined, message?: StepMessage, recorder = new RecordingPorts(clock)) {
  const m = message ?? (await stepMessage(INBOUND));
  const step = invocation('reply', encrypt === undefined ? { text: 'x' } : { text: 'x', encrypt });
  const out = await keyStoreProtect(t.keys)(mail, encrypt ?? 'none', { message: m, step, ports: recorder.ports });
  return { out, recorder };
}

describe('encrypt: auto, with each kind of key missing', () => {
  test('certificate known → S/MIME; openssl opens it', needs('openssl'), async () => {
    const mail = await reply(['smime.user@partner.example']);
    const { out, recorder } = await protect(mail, 'auto');
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    const text = Buffer.from(out.mail.raw).toString('latin1');
    assert.match(text, /application\/pkcs7-mime; smime-type=enveloped-data/);
    assert.doesNotMatch(text, /Revenue up/);
    const r = run('openssl', ['cms', '-decrypt', '-in', dir.file('s.eml', out.mail.raw), '-recip', dir.file('u.pem', smimeUser.pem), '-inkey', dir.file('u.key', smimeUser.keyPem)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /Revenue up 4 %/);
    const event = recorder.audit.find((e) => e.action.type === 'outbound.protect');
    assert.equal(event?.action.parameters.encryption, 'smime');
    assert.equal(event?.action.target, 'smime.user@partner.example');
    assert.match(event?.authorization.reason ?? '', /S\/MIME to certificate/);
  });

  test('no certificate, OpenPGP key known → PGP/MIME; gpg opens it', needs('gpg'), async () => {
    const { out, recorder } = await protect(await reply(['pgp.user@partner.example']), 'auto');
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    const gpg = new Gpg();
    try {
      gpg.import(pgpUser.privateArmored);
      const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(Buffer.from(out.mail.raw).toString('latin1'))![0];
      const r = gpg.run(['--decrypt'], armored);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.toString(), /Revenue up 4 %/);
    } finally {
      gpg.close();
    }
    assert.match(recorder.audit[0].authorization.reason, /no S\/MIME certificate for pgp\.user@partner\.example.*OpenPGP to key/);
  });

  test('neither → password PDF; the password goes by SMS when a number is known; qpdf opens it only with it', needs('qpdf'), async () => {
    const { out, recorder } = await protect(await reply(['sms.user@partner.example'], Buffer.from(INBOUND)), 'auto');
    assert.equal(out.status, 'ok', out.status === 'ok' ? '' : out.reason);
    if (out.status !== 'ok') return;
    assert.equal(recorder.sms.length, 1);
    assert.equal(recorder.sms[0].to, '+4917012345678');
    const password = passwordIn(recorder.sms[0].text);
    const mailText = Buffer.from(out.mail.raw).toString('latin1');
    assert.equal(mailText.includes(password), false, 'the password is never in the message it opens');
    assert.match(mailText, /You receive the password separately \(by SMS\)/);
    const pdf = extractPdf(out.mail.raw);
    const file = dir.file('c.pdf', pdf);
    assert.notEqual(run('qpdf', ['--decrypt', file, dir.path + '/no.pdf']).status, 0);
    assert.equal(run('qpdf', [`--password=${password}`, '--decrypt', file, dir.path + '/yes.pdf']).status, 0);
    const event = recorder.audit.find((e) => e.action.type === 'outbound.protect');
    assert.deepEqual(event?.action.parameters.password, { source: 'generated', channel: 'sms', delivery: 'password sent by SMS to +49170****678' });
    assert.equal(JSON.stringify(recorder.audit).includes(password), false, 'the password is never audited');
    // A retry of the same step builds a container with the same password (the one already sent).
    const again = await protect(await reply(['sms.user@partner.example']), 'auto');
    assert.equal(passwordIn(again.recorder.sms[0].text), password);
  });

  test('neither and no number → the password goes by a separate e-mail', needs('qpdf'), async () => {
    const { out, recorder } = await protect(await reply(['nobody@partner.example']), 'auto');
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    assert.equal(recorder.mails.length, 1);
    const notice = recorder.mails[0];
    assert.deepEqual(notice.to, ['nobody@partner.example']);
    const noticeText = Buffer.from(notice.raw).toString('utf8');
    assert.match(noticeText, /^Subject: Password for your protected message\r$/m);
    assert.match(noticeText, /^Auto-Submitted: auto-generated\r$/m);
    const password = passwordIn(splitEntity(Buffer.from(notice.raw)).body.toString('utf8').split('\r\n')[0]);
    assert.equal(run('qpdf', [`--password=${password}`, '--decrypt', dir.file('e.pdf', extractPdf(out.mail.raw)), dir.path + '/e-open.pdf']).status, 0);
  });

  test('an expired certificate no longer counts: the chain falls through to the next protection', async () => {
    const short = makeCert({ cn: 'short', email: 'short@partner.example', issuer: ca, notAfter: new Date(Date.now() + 2 * DAY) });
    await t.keys.importFiles('acme', [{ name: 'short.pem', data: Buffer.from(short.pem) }]);
    const before = await previewProtection(await stepMessage(INBOUND), 'intentmail@in.acme.example', ['short@partner.example'], 'auto', t.keys);
    assert.equal(before[0].encryption, 'smime');
    offsetMs += 3 * DAY;
    try {
      const after = await previewProtection(await stepMessage(INBOUND), 'intentmail@in.acme.example', ['short@partner.example'], 'auto', t.keys);
      assert.equal(after[0].encryption, 'pdf');
      assert.match(after[0].reason, /expired on/);
    } finally {
      offsetMs -= 3 * DAY;
    }
  });

  test('simulate describes each recipient: key, cipher, channel, or why it would fail', async () => {
    const m = await stepMessage(INBOUND);
    const [smime] = await previewProtection(m, 'intentmail@in.acme.example', ['smime.user@partner.example'], 'auto', t.keys);
    assert.match(describePlan(smime), /^smime\.user@partner\.example: S\/MIME AES-256-CBC with RSA PKCS#1 v1\.5 to "CN=smime\.user@partner\.example/);
    const [pgp] = await previewProtection(m, 'intentmail@in.acme.example', ['pgp.user@partner.example'], 'auto', t.keys);
    assert.match(describePlan(pgp), /^pgp\.user@partner\.example: PGP\/MIME to OpenPGP key [0-9A-F]{40}$/);
    const [fail] = await previewProtection(m, 'intentmail@in.acme.example', ['pgp.user@partner.example'], 'smime', t.keys);
    assert.match(describePlan(fail), /would FAIL: S\/MIME encryption required/);
  });

  test('several recipients share the strongest protection all of them can open', async () => {
    const both = await previewProtection(await stepMessage(INBOUND), 'intentmail@in.acme.example', ['smime.user@partner.example', 'pgp.user@partner.example'], 'auto', t.keys);
    assert.deepEqual(both.map((p) => p.encryption), ['pdf', 'pdf']);
    assert.deepEqual(both.map((p) => p.password?.channel), ['email', 'email']);
    const { out, recorder } = await protect(await reply(['smime.user@partner.example', 'sms.user@partner.example']), 'auto');
    assert.equal(out.status, 'ok');
    assert.equal(recorder.sms.length + recorder.mails.length, 2, 'each recipient gets the password by their own channel');
  });
});

describe('explicit modes and directives', () => {
  test('encrypt: smime or pgp without the key fails, naming what is missing; none leaves it in clear', async () => {
    const smime = await protect(await reply(['pgp.user@partner.example']), 'smime');
    assert.equal(smime.out.status, 'failed');
    if (smime.out.status === 'failed') assert.match(smime.out.reason, /S\/MIME encryption required \(encrypt: smime\) but: no S\/MIME certificate for pgp\.user@partner\.example/);
    const pgp = await protect(await reply(['smime.user@partner.example']), 'pgp');
    assert.equal(pgp.out.status, 'failed');
    if (pgp.out.status === 'failed') assert.match(pgp.out.reason, /no OpenPGP key for smime\.user@partner\.example/);
    const mail = await reply(['smime.user@partner.example']);
    const none = await protect(mail, 'none');
    assert.ok(none.out.status === 'ok' && Buffer.from(none.out.mail.raw).equals(Buffer.from(mail.raw)));
  });

  test('a pdf_container step with a header password: used for the container, refused when weak or absent', needs('qpdf'), async () => {
    const step = pdfContainerStep();
    const message = await stepMessage(INBOUND);
    const result = await step(message, invocation('pdf_container', { password: 'header:X-Password', send_password: 'email' }), new RecordingPorts(clock).ports);
    assert.equal(result.status, 'done');
    if (result.status !== 'done') return;
    // The reply has no encrypt: of its own, so the directive decides.
    const chained = await stepMessage(INBOUND, { pdf_container: { result: result.result } });
    const { out, recorder } = await protect(await reply(['smime.user@partner.example']), undefined, chained);
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    assert.equal(run('qpdf', ['--password=Tr0ub4dor&3-correct-horse', '--decrypt', dir.file('h.pdf', extractPdf(out.mail.raw)), dir.path + '/h-open.pdf']).status, 0);
    assert.equal(recorder.mails.length, 1, 'the header password is still delivered by the second channel');
    const weak = await stepMessage(Buffer.from(INBOUND.toString().replace('Tr0ub4dor&3-correct-horse', 'short')));
    const refused = await step(weak, invocation('pdf_container', { password: 'header:X-Password' }), new RecordingPorts(clock).ports);
    assert.equal(refused.status, 'failed');
    const absent = await step(message, invocation('pdf_container', { password: 'header:X-Secret' }), new RecordingPorts(clock).ports);
    assert.ok(absent.status === 'failed' && /has not/.test(absent.reason));
  });

  test('an smime sign step signs the reply after it; without a signing identity the step fails', needs('openssl'), async () => {
    const step = smimeStep(t.keys);
    const missing = await step(await stepMessage(INBOUND), invocation('smime', { sign: true }), new RecordingPorts(clock).ports);
    assert.equal(missing.status, 'failed');
    if (missing.status === 'failed') assert.match(missing.reason, /no S\/MIME signing identity for intentmail@in\.acme\.example/);
    const { ca: ourCa, leaf: ours } = makeChain('intentmail@in.acme.example');
    await t.keys.importFiles('acme', [{ name: 'our-ca.pem', data: Buffer.from(ourCa.pem) }, { name: 'ours.pem', data: Buffer.from(ours.pem + ours.keyPem) }]);
    const ok = await step(await stepMessage(INBOUND), invocation('smime', { sign: true }), new RecordingPorts(clock).ports);
    assert.equal(ok.status, 'done');
    if (ok.status !== 'done') return;
    const chained = await stepMessage(INBOUND, { smime: { result: ok.result } });
    const { out } = await protect(await reply(['someone@partner.example']), 'none', chained);
    assert.equal(out.status, 'ok');
    if (out.status !== 'ok') return;
    assert.match(Buffer.from(out.mail.raw).toString('latin1'), /multipart\/signed; protocol="application\/pkcs7-signature"/);
    const r = run('openssl', ['smime', '-verify', '-in', dir.file('signed.eml', out.mail.raw), '-CAfile', dir.file('our-ca.pem', ourCa.pem)]);
    assert.equal(r.status, 0, r.stderr);
  });
});

/** The PDF attachment of a container mail. */
function extractPdf(raw: Uint8Array): Buffer {
  const text = Buffer.from(raw).toString('latin1');
  const start = text.indexOf('filename="protected-message.pdf"');
  const body = text.slice(text.indexOf('\r\n\r\n', start) + 4);
  return Buffer.from(body.slice(0, body.indexOf('\r\n--')).replace(/\s+/g, ''), 'base64');
}

