/**
 * Every SMTP reply of ../shared/spec/interface.md, produced by the running router for a real
 * SMTP client, with DNS served by a real local DNS server and the store on PGlite (or on
 * PostgreSQL when DATABASE_URL is set).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { SmtpClient, sendMail } from '../helpers/smtp-client.ts';
import { openMessage } from '../../src/crypto/envelope.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { makeKeys, makeZone, POLICY } from './fixtures.ts';

const keys = makeKeys();
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let router: TestRouter;

const FOREIGN = '127.0.0.2';

async function signedFrom(domain: 'acme' | 'partner', from: string, to: string, subject: string, extra: { text?: string; headers?: Record<string, string> } = {}): Promise<Buffer> {
  const raw = buildMessage({ from, to, subject, text: extra.text ?? `Body of ${subject}`, headers: extra.headers });
  const key = keys[domain];
  return signMessage(raw, { domain: `${domain}.example`, selector: domain === 'acme' ? 'mail' : 'sel', privateKey: key.privateKey });
}

before(async () => {
  dns = await startDnsServer(makeZone(keys));
  db = await testStoreOptions();
  router = await startRouter({
    INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
    INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    INTENTMAIL_DNS_TIMEOUT_MS: '300',
    INTENTMAIL_DATA_DIR: db.dataDir,
    INTENTMAIL_MAX_MESSAGE_SIZE: '2MB',
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
  });
});

after(async () => {
  await router?.stop();
  await dns?.close();
  await db?.cleanup();
});

describe('SMTP replies', () => {
  test('250 only after the message and its job are stored: allowlisted, DMARC-passing sender', async () => {
    const raw = await signedFrom('acme', 'alice@acme.example', 'task.linear+ENG-7@in.acme.example', 'Printer on fire #urgent');
    const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear+ENG-7@in.acme.example'], raw });
    assert.equal(t.rcpt[0].code, 250);
    assert.equal(t.message?.code, 250, t.message?.text);
    assert.match(t.message!.text, /^250 2\.6\.0 Message accepted as [0-9a-f-]{36}$/);
    const id = /as ([0-9a-f-]{36})/.exec(t.message!.text)![1];
    const store = await router.app.store();
    const stored = await store.getMessage(id);
    assert.ok(stored, 'message row exists');
    assert.equal(stored.intent, 'task.linear');
    assert.equal(stored.addressDetail, 'ENG-7');
    assert.equal(stored.headerFrom, 'alice@acme.example');
    assert.equal(stored.senderVerified, true);
    const job = await store.getJobForMessage(id);
    assert.ok(job, 'job row exists');
    // The workers in `serve` may already have taken it from the outbox (pending) onwards.
    assert.ok(['pending', 'queued', 'running', 'waiting', 'done', 'dead'].includes(job.status), job.status);
    const plain = Buffer.from(openMessage(stored, router.app.keys().masterKey)).toString('latin1');
    assert.match(plain, /^Authentication-Results: mx\.intentmail\.test;/);
    assert.match(plain, /dmarc=pass/);
    assert.ok(plain.endsWith(raw.toString('latin1').replace(/\r\n$/, '') + '\r\n') || plain.includes('Printer on fire'));
  });

  test('550 5.1.1 for an unknown intent and an unknown domain, at RCPT before DATA', async () => {
    const raw = await signedFrom('acme', 'alice@acme.example', 'nope@in.acme.example', 'x');
    const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['nope@in.acme.example', 'task.linear@in.unknown.example'], raw });
    assert.match(t.rcpt[0].text, /^550 5\.1\.1 /);
    assert.match(t.rcpt[1].text, /^550 5\.1\.1 /);
    assert.equal(t.data, null, 'no DATA when no recipient was accepted');
  });

  test('550 5.7.26: spoofed CEO from a foreign server without DKIM (DMARC p=reject)', async () => {
    const raw = buildMessage({ from: 'ceo@acme.example', to: 'task.linear@in.acme.example', subject: 'Urgent wire transfer', text: 'Pay now' });
    const t = await sendMail(router.smtpPort, { from: 'ceo@acme.example', to: ['task.linear@in.acme.example'], raw, localAddress: FOREIGN });
    assert.equal(t.rcpt[0].code, 250);
    assert.match(t.message!.text, /^550 5\.7\.26 /);
  });

  test('550 5.7.23: SPF fails for an intent that requires SPF', async () => {
    const raw = buildMessage({ from: 'someone@partner.example', to: 'spf.only@in.acme.example', subject: 'spf', text: 'x' });
    const t = await sendMail(router.smtpPort, { from: 'someone@partner.example', to: ['spf.only@in.acme.example'], raw, localAddress: FOREIGN });
    assert.match(t.message!.text, /^550 5\.7\.23 /);
  });

  test('550 5.7.20: no passing DKIM signature for an intent that requires DKIM', async () => {
    const raw = buildMessage({ from: 'someone@partner.example', to: 'dkim.only@in.acme.example', subject: 'dkim', text: 'x' });
    const t = await sendMail(router.smtpPort, { from: 'someone@partner.example', to: ['dkim.only@in.acme.example'], raw });
    assert.match(t.message!.text, /^550 5\.7\.20 /);
  });

  test('550 5.7.1: authenticated sender not on the allowlist', async () => {
    const raw = await signedFrom('acme', 'carol@acme.example', 'summary.analytics@in.acme.example', 'summary please');
    const t = await sendMail(router.smtpPort, { from: 'carol@acme.example', to: ['summary.analytics@in.acme.example'], raw });
    assert.match(t.message!.text, /^550 5\.7\.1 /);
  });

  test('analyst: read on summary.analytics accepted, deny on export.data refused', async () => {
    const ok = await sendMail(router.smtpPort, { from: 'bob@acme.example', to: ['summary.analytics@in.acme.example'], raw: await signedFrom('acme', 'bob@acme.example', 'summary.analytics@in.acme.example', 'weekly') });
    assert.equal(ok.message?.code, 250, ok.message?.text);
    const denied = await sendMail(router.smtpPort, { from: 'bob@acme.example', to: ['export.data@in.acme.example'], raw: await signedFrom('acme', 'bob@acme.example', 'export.data@in.acme.example', 'export') });
    assert.match(denied.message!.text, /^550 5\.7\.1 .*den(y|ies)/i);
  });

  test('550 5.7.1: level too low (developer may only read approve.*, the intent needs approve)', async () => {
    const raw = await signedFrom('acme', 'alice@acme.example', 'approve.invoice@in.acme.example', 'invoice 42');
    const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['approve.invoice@in.acme.example'], raw });
    assert.match(t.message!.text, /^550 5\.7\.1 .*level/i);
  });

  test('550 5.7.1: an unauthenticated sender never rides on an allowlisted address', async () => {
    // ops@partner.example is allowlisted, but this copy comes from a foreign server unsigned (DMARC p=none: not refused, not verified).
    const raw = buildMessage({ from: 'ops@partner.example', to: 'notes.drop@in.acme.example', subject: 'notes', text: 'x' });
    const t = await sendMail(router.smtpPort, { from: 'ops@partner.example', to: ['notes.drop@in.acme.example'], raw, localAddress: FOREIGN });
    assert.match(t.message!.text, /^550 5\.7\.1 /);
    const signed = await signedFrom('partner', 'ops@partner.example', 'notes.drop@in.acme.example', 'notes');
    const ok = await sendMail(router.smtpPort, { from: 'ops@partner.example', to: ['notes.drop@in.acme.example'], raw: signed });
    assert.equal(ok.message?.code, 250, ok.message?.text);
  });

  test('DMARC p=none vs p=reject on an intent that requires nothing', async () => {
    const soft = buildMessage({ from: 'x@partner.example', to: 'public.inbox@in.acme.example', subject: 'hello', text: 'x' });
    const a = await sendMail(router.smtpPort, { from: 'x@partner.example', to: ['public.inbox@in.acme.example'], raw: soft, localAddress: FOREIGN });
    assert.equal(a.message?.code, 250, 'p=none: accepted, sender unverified');
    const hard = buildMessage({ from: 'x@acme.example', to: 'public.inbox@in.acme.example', subject: 'hello', text: 'x' });
    const b = await sendMail(router.smtpPort, { from: 'x@acme.example', to: ['public.inbox@in.acme.example'], raw: hard, localAddress: FOREIGN });
    assert.match(b.message!.text, /^550 5\.7\.26 /, 'p=reject: the domain owner asked us to refuse');
  });

  test('552 5.3.4: declared SIZE over the limit at MAIL FROM, and an oversized body after DATA', async () => {
    const declared = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear@in.acme.example'], raw: 'x', size: 3 * 1024 * 1024 });
    assert.match(declared.mail.text, /^552 5\.3\.4 /);
    const perIntent = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear@in.acme.example'], raw: 'x', size: 1536 * 1024 });
    assert.match(perIntent.rcpt[0].text, /^552 5\.3\.4 /, 'the tenant limit (1MB) is below the listener limit (2MB)');
    const big = buildMessage({ from: 'alice@acme.example', to: 'task.linear@in.acme.example', subject: 'big', text: 'y'.repeat(76).concat('\r\n').repeat(20_000) });
    const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear@in.acme.example'], raw: big });
    assert.match(t.message!.text, /^552 5\.3\.4 /);
  });

  test('451 4.7.1: per-sender rate limit', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const raw = await signedFrom('acme', 'alice@acme.example', 'rate.limited@in.acme.example', `n${i}`);
      const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['rate.limited@in.acme.example'], raw });
      codes.push(t.message!.code);
      if (i === 2) assert.match(t.message!.text, /^451 4\.7\.1 /);
    }
    assert.deepEqual(codes, [250, 250, 451]);
  });

  test('451 4.4.3: DNS timeout is a temporary failure, never a pass', async () => {
    const raw = buildMessage({ from: 'x@slow.example', to: 'public.inbox@in.acme.example', subject: 'slow', text: 'x' });
    const t = await sendMail(router.smtpPort, { from: 'x@slow.example', to: ['public.inbox@in.acme.example'], raw });
    assert.match(t.message!.text, /^451 4\.4\.3 /);
  });

  test('452 4.5.3: a second intent in the same transaction', async () => {
    const raw = await signedFrom('acme', 'alice@acme.example', 'task.linear@in.acme.example', 'two');
    const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear@in.acme.example', 'public.inbox@in.acme.example'], raw });
    assert.equal(t.rcpt[0].code, 250);
    assert.match(t.rcpt[1].text, /^452 4\.5\.3 /);
    assert.equal(t.message?.code, 250);
  });

  test('550 5.6.11: bare LF inside DATA (SMTP smuggling family) is refused', async () => {
    const { client } = await SmtpClient.connect(router.smtpPort);
    await client.cmd('EHLO client.test');
    await client.cmd('MAIL FROM:<alice@acme.example>');
    assert.equal((await client.cmd('RCPT TO:<public.inbox@in.acme.example>')).code, 250);
    assert.equal((await client.cmd('DATA')).code, 354);
    client.writeRaw('From: x@partner.example\r\nSubject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@acme.example>\r\n.\r\n');
    const reply = await client.read();
    assert.match(reply.text, /^550 5\.6\.11 /);
    await client.quit();
  });

  test('the audit chain of all these decisions verifies', async () => {
    const store = await router.app.store();
    for (const t of await store.auditTenants()) await store.checkpoint(t);
    const report = await verifyAudit(store, router.app.keys().verifier);
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
    const acme = report.tenants.find((t) => t.tenant === 'acme');
    assert.ok(acme && acme.records >= 15, `acme has ${acme?.records} records`);
    const records = await store.readAudit('acme', 0, 1000);
    const replies = records.map((r) => r.event.result.reply ?? '');
    for (const code of ['250 2.6.0 ', '550 5.7.26 ', '550 5.7.1 ', '451 4.7.1 ', '451 4.4.3 ', '550 5.1.1 ', '552 5.3.4 ']) {
      assert.ok(replies.some((r) => r.startsWith(code)), `audited ${code}`);
    }
  });
});
