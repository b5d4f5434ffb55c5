/**
 * Issue 4's "done when", end to end: DKIM-signed mail over SMTP to the running router, the
 * chain's reply (`encrypt: auto`) leaves through the relay S/MIME-encrypted to the sender whose
 * certificate the tenant holds, PGP-encrypted to the one whose OpenPGP key it holds, and as a
 * password PDF to anyone else with the password through the SMS gateway; openssl, gpg and qpdf
 * open each; the signature check, the protections and the keys are on the tenant's audit chain.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyAudit } from '../../src/audit/verify.ts';
import { keyStoreOver } from '../../src/keys/open.ts';
import { storeDriver } from '../../src/store/drizzle-store.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { sendMail } from '../helpers/smtp-client.ts';
import { makeKeys, makeZone } from '../e2e/fixtures.ts';
import { settle } from '../queue/world.ts';
import { startSmtpSink, type SmtpSink } from '../steps/smtp-sink.ts';
import { passwordIn } from './helpers/message.ts';
import { makeChain, makePgpKey, type TestCert } from './helpers/pki.ts';
import { Gpg, needs, run, Workdir } from './helpers/tools.ts';

const dkim = makeKeys();
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let sink: SmtpSink;
let smsServer: Server;
const sms: { to: string; text: string }[] = [];
let router: TestRouter;
let dir: Workdir;
let alice: TestCert;
let bob: Awaited<ReturnType<typeof makePgpKey>>;

const POLICY = {
  'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\ndefaults:\n  require: dmarc\n',
  'acme/summary.secure.yaml': `
intent: summary.secure
description: The summary goes back encrypted, whatever the sender can read
level: read
senders: ["@acme.example"]
steps:
  - verify_signature: {}
  - reply: { text: "Your Q3 summary: revenue up 4 %.", encrypt: auto }
`,
};

async function deliver(from: string): Promise<string> {
  const raw = await signMessage(buildMessage({ from, to: 'summary.secure@in.acme.example', subject: 'Q3 summary please', text: 'Please send the Q3 summary.' }), {
    domain: 'acme.example',
    selector: 'mail',
    privateKey: dkim.acme.privateKey,
  });
  const t = await sendMail(router.smtpPort, { from, to: ['summary.secure@in.acme.example'], raw });
  assert.equal(t.message?.code, 250, t.message?.text);
  return /as ([0-9a-f-]{36})/.exec(t.message!.text)![1];
}

async function replyFor(id: string, to: string): Promise<string> {
  const p = await settle(router, id);
  assert.equal(p.status, 'done', JSON.stringify(p.steps));
  await sink.waitFor((m) => m.some((x) => x.to.includes(to)));
  return sink.mails.find((x) => x.to.includes(to))!.raw;
}

describe('a reply from an intent, end to end', () => {
  before(async () => {
    dir = new Workdir();
    dns = await startDnsServer(makeZone(dkim));
    db = await testStoreOptions();
    sink = await startSmtpSink();
    smsServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        sms.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"sms-1"}');
      });
    });
    await new Promise<void>((r) => smsServer.listen(0, '127.0.0.1', r));
    router = await startRouter({
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      INTENTMAIL_RELAY_URL: sink.url,
      INTENTMAIL_SMS_GATEWAY_URL: `http://127.0.0.1:${(smsServer.address() as AddressInfo).port}/sms`,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    });
    // The operator's imports, on the router's own database (PGlite is one process).
    const store = await router.app.store();
    const keys = keyStoreOver(storeDriver(store), { masterKey: router.app.keys().masterKey, audit: async (e) => void (await store.appendAudit(e)) });
    const chain = makeChain('alice@acme.example');
    alice = chain.leaf;
    bob = await makePgpKey('bob@acme.example');
    const imported = await keys.importFiles('acme', [
      { name: 'ca.pem', data: Buffer.from(chain.ca.pem) },
      { name: 'alice.pem', data: Buffer.from(alice.pem) },
      { name: 'bob.asc', data: Buffer.from(bob.publicArmored) },
    ]);
    assert.ok(imported.every((o) => o.status === 'imported'), JSON.stringify(imported));
    await keys.setPhone('acme', 'carol@acme.example', '+4915112345678');
  });
  after(async () => {
    await router?.stop();
    await sink?.close();
    smsServer?.close();
    await dns?.close();
    await db?.cleanup();
    dir?.remove();
  });

  test('S/MIME to a sender whose certificate is known; openssl decrypts it', needs('openssl'), async () => {
    const raw = await replyFor(await deliver('alice@acme.example'), 'alice@acme.example');
    assert.match(raw, /Content-Type: application\/pkcs7-mime; smime-type=enveloped-data/);
    const r = run('openssl', ['cms', '-decrypt', '-in', dir.file('alice.eml', raw), '-recip', dir.file('alice.pem', alice.pem), '-inkey', dir.file('alice.key', alice.keyPem)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /Your Q3 summary: revenue up 4 %\./);
  });

  test('PGP/MIME to a sender whose OpenPGP key is known; gpg decrypts it', needs('gpg'), async () => {
    const raw = await replyFor(await deliver('bob@acme.example'), 'bob@acme.example');
    assert.match(raw, /multipart\/encrypted; protocol="application\/pgp-encrypted"/);
    const gpg = new Gpg();
    try {
      gpg.import(bob.privateArmored);
      const r = gpg.run(['--decrypt'], /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(raw)![0]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.toString(), /Your Q3 summary: revenue up 4 %\./);
    } finally {
      gpg.close();
    }
  });

  test('a password PDF to anyone else, the password by SMS; qpdf opens it only with it', needs('qpdf', 'pdftotext'), async () => {
    const raw = await replyFor(await deliver('carol@acme.example'), 'carol@acme.example');
    assert.equal(sms.length, 1);
    assert.equal(sms[0].to, '+4915112345678');
    const password = passwordIn(sms[0].text);
    assert.equal(raw.includes(password), false);
    const start = raw.indexOf('filename="protected-message.pdf"');
    const body = raw.slice(raw.indexOf('\r\n\r\n', start) + 4);
    const pdf = dir.file('carol.pdf', Buffer.from(body.slice(0, body.indexOf('\r\n--')).replace(/\s+/g, ''), 'base64'));
    assert.notEqual(run('qpdf', ['--decrypt', pdf, dir.path + '/no.pdf']).status, 0);
    const text = run('pdftotext', ['-upw', password, pdf, '-']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout.toString(), /Your Q3 summary: revenue up 4 %\./);
  });

  test('all of it is on the audit chain, and the chain verifies', async () => {
    const store = await router.app.store();
    const records = await store.readAudit('acme', 0, 1000);
    const types = records.map((r) => r.event.action.type);
    assert.equal(types.filter((t) => t === 'key.import').length, 3);
    assert.equal(types.filter((t) => t === 'signature.verify').length >= 3, true);
    const protectedFor = records.filter((r) => r.event.action.type === 'outbound.protect').map((r) => [r.event.action.target, r.event.action.parameters.encryption]);
    assert.deepEqual(protectedFor.sort(), [['alice@acme.example', 'smime'], ['bob@acme.example', 'pgp'], ['carol@acme.example', 'pdf']]);
    assert.equal(JSON.stringify(records).includes(passwordIn(sms[0].text)), false, 'no password on the audit chain');
    await store.checkpoint('acme');
    const report = await verifyAudit(store, router.app.keys().verifier, { tenant: 'acme' });
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  });
});
