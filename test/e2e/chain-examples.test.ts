/**
 * Done-when, end to end: mail over SMTP to the shipped example intents (intents/acme) reaches a
 * local webhook receiver signed and verifiable, a reply reaches a local SMTP sink correctly
 * threaded, copies carry the original, SMS go through a real HTTP gateway and archives are kept
 * sealed — with real DKIM signatures served by a real DNS server, on PGlite or PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, type TestRouter } from '../helpers/router.ts';
import { sendMail } from '../helpers/smtp-client.ts';
import { makeKeys, makeZone } from './fixtures.ts';
import { openMessage } from '../../src/crypto/envelope.ts';
import { byteaFromDriver } from '../../src/store/schema/bytea.ts';
import { storeDriver } from '../../src/store/drizzle-store.ts';
import { resultRows } from '../../src/store/driver.ts';
import { startReceiver, type Receiver } from '../steps/receiver.ts';
import { startSmtpSink, type SmtpSink } from '../steps/smtp-sink.ts';
import { SECRET, SECRET_2 } from '../steps/fixtures.ts';
import { settle } from '../queue/world.ts';

const INTENTS = fileURLToPath(new URL('../../intents', import.meta.url));
const keys = { ...makeKeys(), lab: makeKeys().acme };

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let helpdesk: Receiver;
let his: Receiver;
let jira: Receiver;
let sink: SmtpSink;
let smsServer: Server;
const sms: unknown[] = [];
let router: TestRouter;

/** Sends a DKIM-signed message and returns the id it was accepted as. */
async function deliver(opts: { from: string; to: string; subject: string; headers?: Record<string, string>; mailFrom?: string; signer?: 'acme' | 'lab'; messageId?: string }): Promise<string> {
  const signer = opts.signer ?? 'acme';
  const domain = signer === 'lab' ? 'lab.acme.example' : 'acme.example';
  const raw = await signMessage(buildMessage({ from: opts.from, to: opts.to, subject: opts.subject, text: `About: ${opts.subject}\nThanks.`, headers: opts.headers, messageId: opts.messageId }), {
    domain,
    selector: 'mail',
    privateKey: keys[signer].privateKey,
  });
  const t = await sendMail(router.smtpPort, { from: opts.mailFrom ?? opts.from, to: [opts.to], raw });
  assert.equal(t.message?.code, 250, t.message?.text ?? t.rcpt.map((r) => r.text).join('; '));
  return /as ([0-9a-f-]{36})/.exec(t.message!.text)![1];
}

function header(raw: string, name: string): string | null {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1] ?? null;
}

describe('the example intents, end to end', () => {
  before(async () => {
    dns = await startDnsServer({
      ...makeZone(keys),
      'lab.acme.example': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
      'mail._domainkey.lab.acme.example': { TXT: keys.lab.record },
    });
    db = await testStoreOptions();
    // The helpdesk is rotating its secret: it accepts the old and the new one.
    helpdesk = await startReceiver({ secrets: [SECRET, SECRET_2], answer: () => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"HD-4711"}' }) });
    his = await startReceiver({ secrets: [SECRET_2] });
    // Jira Cloud's create-issue endpoint answers 201 with the new issue's id, key and URL.
    jira = await startReceiver({ answer: () => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"10024","key":"OPS-24","self":"https://acme.atlassian.net/rest/api/2/issue/10024"}' }) });
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
      INTENTMAIL_INTENTS: INTENTS,
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      INTENTMAIL_RELAY_URL: sink.url,
      INTENTMAIL_SMS_GATEWAY_URL: `http://127.0.0.1:${(smsServer.address() as AddressInfo).port}/sms`,
      HELPDESK_WEBHOOK_URL: helpdesk.url,
      HELPDESK_WEBHOOK_SECRET: `${SECRET} ${SECRET_2}`,
      HIS_WEBHOOK_URL: his.url,
      HIS_WEBHOOK_SECRET: SECRET_2,
      LAB_ONCALL_PHONE: '+491701234567',
      JIRA_ISSUE_URL: jira.url,
      JIRA_BASIC_AUTH: 'YWxpY2VAYWNtZS5leGFtcGxlOmFwaS10b2tlbg==',
      JIRA_PROJECT_KEY: 'OPS',
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    });
  });
  after(async () => {
    await router?.stop();
    await helpdesk?.close();
    await his?.close();
    await jira?.close();
    await sink?.close();
    smsServer?.close();
    await dns?.close();
    await db?.cleanup();
  });

  test('support.inbox: a signed, verifiable webhook to the helpdesk, then a threaded reply to the sender', async () => {
    const id = await deliver({ from: 'alice@acme.example', to: 'support.inbox@in.acme.example', subject: 'VPN is down', messageId: '<vpn-1@acme.example>', headers: { References: '<thread-0@acme.example>' } });
    const p = await settle(router, id);
    assert.equal(p.status, 'done', JSON.stringify(p.steps));
    assert.deepEqual(p.steps.map((s) => s.action), ['tag', 'webhook', 'reply']);
    const hook = helpdesk.deliveries.find((d) => d.id === p.steps[1].webhookId)!;
    assert.equal(hook.verified, true, 'verifiable with the helpdesk secrets');
    assert.equal(hook.signature.split(' ').length, 2, 'signed with both secrets during the rotation');
    assert.deepEqual(hook.json, { from: 'alice@acme.example', verified: true, subject: 'VPN is down', body: 'About: VPN is down\nThanks.\n' });
    await sink.waitFor((m) => m.some((x) => header(x.raw, 'In-Reply-To') === '<vpn-1@acme.example>'));
    const reply = sink.mails.find((x) => header(x.raw, 'In-Reply-To') === '<vpn-1@acme.example>')!;
    assert.deepEqual(reply.to, ['alice@acme.example']);
    assert.equal(header(reply.raw, 'References'), '<thread-0@acme.example> <vpn-1@acme.example>');
    assert.equal(header(reply.raw, 'Auto-Submitted'), 'auto-replied');
    assert.equal(header(reply.raw, 'Subject'), 'Re: VPN is down');
    assert.match(reply.raw, /Thanks, we received your message \(ticket HD-4711\)\./);
  });

  test('task.jira: a Jira create-issue body with the subject tags as labels; the reply names the new key', async () => {
    const id = await deliver({ from: 'alice@acme.example', to: 'task.jira@in.acme.example', subject: 'Printer on fire #urgent #floor3', messageId: '<printer@acme.example>' });
    const p = await settle(router, id);
    assert.equal(p.status, 'done', JSON.stringify(p.steps));
    assert.equal(p.steps[0].resourceId, '10024');
    const issue = jira.deliveries.at(-1)!;
    assert.equal(issue.headers.authorization, 'Basic YWxpY2VAYWNtZS5leGFtcGxlOmFwaS10b2tlbg==');
    assert.deepEqual(issue.json, {
      fields: {
        project: { key: 'OPS' },
        issuetype: { name: 'Task' },
        summary: 'Printer on fire #urgent #floor3',
        description: `About: Printer on fire #urgent #floor3\nThanks.\n\n\nReported by alice@acme.example by e-mail (message ${id}).`,
        labels: ['urgent', 'floor3'],
      },
    });
    await sink.waitFor((m) => m.some((x) => header(x.raw, 'In-Reply-To') === '<printer@acme.example>'));
    assert.match(sink.mails.find((x) => header(x.raw, 'In-Reply-To') === '<printer@acme.example>')!.raw, /Created OPS-24\./);
  });

  test('no reply to an auto-submitted message or a null sender; the webhook still goes out', async () => {
    const mails = sink.mails.length;
    const auto = await deliver({ from: 'alice@acme.example', to: 'support.inbox@in.acme.example', subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } });
    const bounce = await deliver({ from: 'alice@acme.example', to: 'support.inbox@in.acme.example', subject: 'Delivery failure', mailFrom: '' });
    for (const id of [auto, bounce]) {
      const p = await settle(router, id);
      assert.equal(p.status, 'done');
      assert.deepEqual(p.steps.map((s) => `${s.action}:${s.status}`), ['tag:done', 'webhook:done', 'reply:skipped']);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.mails.length, mails, 'nothing went to the relay');
    const audit = (await (await router.app.store()).readAudit('acme', 0, 10_000)).map((r) => r.event).filter((e) => e.action.type === 'step.reply' && e.result.status === 'skipped');
    assert.ok(audit.some((e) => /Auto-Submitted: auto-replied/.test(e.result.reply ?? '')));
    assert.ok(audit.some((e) => /null reverse-path/.test(e.result.reply ?? '')));
  });

  test('incident.report without #NIS2: a journal copy with the original attached, and a threaded reply', async () => {
    const id = await deliver({ from: 'alice@acme.example', to: 'incident.report@in.acme.example', subject: 'Breaker tripped', messageId: '<breaker@acme.example>' });
    const p = await settle(router, id);
    assert.equal(p.status, 'done', JSON.stringify(p.steps));
    assert.deepEqual(p.steps.map((s) => `${s.path}:${s.name}`), ['0.else.0:copy-plain', '1:reply']);
    await sink.waitFor((m) => m.some((x) => x.to.includes('security@acme.example') && x.raw.includes('Breaker tripped')));
    const copy = sink.mails.find((x) => x.to.includes('security@acme.example') && x.raw.includes('Breaker tripped'))!;
    assert.match(copy.raw, /Content-Type: message\/rfc822/);
    assert.ok(copy.raw.includes('Message-ID: <breaker@acme.example>'));
    assert.ok(copy.raw.includes('Authentication-Results: mx.intentmail.test;'), 'the original as stored, with our verdicts');
    await sink.waitFor((m) => m.some((x) => header(x.raw, 'In-Reply-To') === '<breaker@acme.example>'));
  });

  test('lab.results, urgent: an SMS to the on-call phone, then the HIS webhook with the order and attachments', async () => {
    const id = await deliver({ from: 'lis@lab.acme.example', to: 'lab.results+ORD-991@in.acme.example', subject: 'Potassium 7.1', headers: { 'X-Intent-Action': 'urgent' }, signer: 'lab' });
    const p = await settle(router, id);
    assert.equal(p.status, 'done', JSON.stringify(p.steps));
    assert.deepEqual(p.steps.map((s) => `${s.path}:${s.action}`), ['1.then.0:notify', '2:webhook']);
    assert.deepEqual(sms.at(-1), { to: '+491701234567', text: 'Urgent lab result ORD-991: Potassium 7.1' });
    const hook = his.deliveries.find((d) => d.id === p.steps[1].webhookId)!;
    assert.equal(hook.verified, true);
    assert.deepEqual(hook.json, { order: 'ORD-991', subject: 'Potassium 7.1', attachments: [] });
  });

  test('lab.results, archive: the original kept sealed for ten years, and the chain stops', async () => {
    const id = await deliver({ from: 'lis@lab.acme.example', to: 'lab.results@in.acme.example', subject: 'Archive me #archive', signer: 'lab' });
    const p = await settle(router, id);
    assert.equal(p.status, 'stopped');
    assert.deepEqual(p.steps.map((s) => `${s.action}:${s.status}`), ['archive:done', 'stop:stopped']);
    const driver = storeDriver(await router.app.store());
    const [row] = resultRows(await driver.db.execute(sql`SELECT ciphertext, wrapped_key, key_id, retain_until, size FROM archives WHERE message_id = ${id}`));
    const years = (new Date(row.retain_until as string).getTime() - Date.now()) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `retention ${years} years`);
    const plain = Buffer.from(openMessage({ ciphertext: byteaFromDriver(row.ciphertext), wrappedKey: byteaFromDriver(row.wrapped_key), keyId: String(row.key_id) }, router.app.keys().masterKey)).toString();
    assert.match(plain, /Subject: Archive me #archive/);
    assert.equal(plain.length, Number(row.size));
  });
});
