/**
 * Replies, forwards, copies and notices through the real relay adapter (nodemailer) into a real
 * SMTP sink: threading headers, RFC 3834 loop rules, message/rfc822 forwards with tag marks,
 * refusals mapped to permanent or temporary failures, the missing relay, the encryption seam,
 * and SMS through a real HTTP gateway.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import PostalMime from 'postal-mime';
import { relayMailer } from '../../src/adapters/mail/relay.ts';
import { httpSmsGateway } from '../../src/adapters/mail/sms-gateway.ts';
import { forwardHandler, NO_RELAY, notifyHandler, replyHandler } from '../../src/steps/mail.ts';
import { tagHandler } from '../../src/steps/simple.ts';
import type { Mailer, Protect } from '../../src/steps/types.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import { invocation, policyWith, ports, stepMessage } from './fixtures.ts';

let sink: SmtpSink;
let mailer: Mailer & { close(): void };
const policy = policyWith('  - reply: { text: "ok" }\n');

function header(raw: string, name: string): string | null {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  return m ? m[1] : null;
}

describe('mail steps', () => {
  before(async () => {
    sink = await startSmtpSink({ refuse: (rcpt) => (rcpt.startsWith('gone@') ? { code: 550, text: 'no such user' } : rcpt.startsWith('later@') ? { code: 451, text: 'try later' } : null) });
    mailer = relayMailer(sink.url, { hostname: 'mx.intentmail.test' });
  });
  after(async () => {
    mailer.close();
    await sink.close();
  });

  test('a reply goes to the authenticated sender, threaded, marked auto-replied, same Message-ID on a retry', async () => {
    const m = await stepMessage(policy, { headers: { References: '<root@acme.example>' } });
    const step = invocation('reply', { text: 'Created ENG-123', html: '<p>Created <b>ENG-123</b></p>' });
    const out = await replyHandler(m, step, ports({ mailer }));
    assert.equal(out.status, 'done');
    await sink.waitFor((x) => x.length >= 1);
    const mail = sink.mails.at(-1)!;
    assert.deepEqual(mail.to, ['alice@acme.example']);
    assert.equal(mail.from, 'intentmail@in.acme.example');
    assert.equal(header(mail.raw, 'In-Reply-To'), '<orig-1@acme.example>');
    assert.equal(header(mail.raw, 'References'), '<root@acme.example> <orig-1@acme.example>');
    assert.equal(header(mail.raw, 'Auto-Submitted'), 'auto-replied');
    assert.equal(header(mail.raw, 'Subject'), 'Re: Printer on fire #urgent');
    const parsed = await PostalMime.parse(mail.raw);
    assert.equal(parsed.text?.trim(), 'Created ENG-123');
    assert.match(parsed.html ?? '', /<b>ENG-123<\/b>/);
    await replyHandler(m, { ...step, attempt: 2 }, ports({ mailer }));
    await sink.waitFor((x) => x.length >= 2);
    assert.equal(header(sink.mails.at(-1)!.raw, 'Message-ID'), header(mail.raw, 'Message-ID'), 'a retried reply keeps its Message-ID');
  });

  test('no reply to a null sender, an auto-submitted message, list mail, bulk mail, or an unauthenticated sender', async () => {
    const before = sink.mails.length;
    const cases: [Parameters<typeof stepMessage>[1], RegExp][] = [
      [{ mailFrom: null }, /null reverse-path/],
      [{ mailFrom: '' }, /null reverse-path/],
      [{ headers: { 'Auto-Submitted': 'auto-replied' } }, /Auto-Submitted: auto-replied/],
      [{ headers: { 'List-Id': 'Staff <staff.lists.acme.example>' } }, /mailing list staff\.lists\.acme\.example/],
      [{ headers: { Precedence: 'bulk' } }, /Precedence: bulk/],
      [{ verified: false }, /not authenticated/],
    ];
    for (const [opts, reason] of cases) {
      const out = await replyHandler(await stepMessage(policy, opts), invocation('reply', { text: 'x' }), ports({ mailer }));
      assert.equal(out.status, 'skipped', JSON.stringify(opts));
      assert.match((out as { reason: string }).reason, reason);
    }
    const ok = await replyHandler(await stepMessage(policy, { headers: { 'Auto-Submitted': 'no' } }), invocation('reply', { text: 'x' }), ports({ mailer }));
    assert.equal(ok.status, 'done', 'Auto-Submitted: no is a person');
    await sink.waitFor((x) => x.length === before + 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sink.mails.length, before + 1, 'nothing else reached the relay');
  });

  test('a forward carries the original as message/rfc822, with the tag marks of earlier steps', async () => {
    const m = await stepMessage(policy, { subject: 'Drawings' });
    const tagged = await tagHandler(m, invocation('tag', { subject: '[support]', header: { name: 'X-Ticket-Queue', value: 'l2\r\nBcc: evil@x.example' } }), ports());
    assert.equal(tagged.status, 'done');
    const r = (tagged as { result: { subject: string; header: { name: string; value: string } } }).result;
    m.decorations = { subjectTags: [r.subject], headers: [r.header] };
    const out = await forwardHandler(m, invocation('forward', { to: ['cad@supplier.example'] }, { path: '1' }), ports({ mailer }));
    assert.equal(out.status, 'done');
    await sink.waitFor((x) => x.some((y) => y.to.includes('cad@supplier.example')));
    const mail = sink.mails.find((y) => y.to.includes('cad@supplier.example'))!;
    assert.equal(header(mail.raw, 'Subject'), '[support] Fwd: Drawings');
    assert.equal(header(mail.raw, 'X-Ticket-Queue'), 'l2 Bcc: evil@x.example', 'a tag value cannot add a header');
    assert.equal(header(mail.raw, 'Bcc'), null);
    assert.equal(header(mail.raw, 'Reply-To'), 'alice@acme.example');
    assert.equal(header(mail.raw, 'Auto-Submitted'), 'auto-generated');
    assert.match(mail.raw, /Content-Type: message\/rfc822\r\nContent-Disposition: attachment; filename="original.eml"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n/);
    assert.ok(mail.raw.includes('Message-ID: <orig-1@acme.example>'), 'the original is inside, unchanged');
    const refused = await tagHandler(m, invocation('tag', { header: { name: 'From', value: 'x' } }), ports());
    assert.equal(refused.status, 'failed');
  });

  test('a copy goes to the journal address with the original attached', async () => {
    const m = await stepMessage(policy, { subject: 'Incident' });
    const out = await forwardHandler(m, invocation('copy', { to: ['security@acme.example'] }), ports({ mailer }));
    assert.equal(out.status, 'done');
    await sink.waitFor((x) => x.some((y) => y.to.includes('security@acme.example')));
    const mail = sink.mails.find((y) => y.to.includes('security@acme.example'))!;
    assert.equal(header(mail.raw, 'Subject'), 'Copy: Incident');
    assert.match(mail.raw, /Content-Type: message\/rfc822/);
  });

  test('relay refusals: 5xx is permanent, 4xx temporary; without a relay every mail step fails saying so', async () => {
    const m = await stepMessage(policy);
    const gone = await forwardHandler(m, invocation('forward', { to: ['gone@supplier.example'] }), ports({ mailer }));
    assert.equal(gone.status, 'failed');
    assert.match((gone as { reason: string }).reason, /550/);
    const later = await forwardHandler(m, invocation('forward', { to: ['later@supplier.example'] }), ports({ mailer }));
    assert.equal(later.status, 'retry');
    assert.match((later as { reason: string }).reason, /451/);
    for (const [action, params] of [['reply', { text: 'x' }], ['forward', { to: ['a@b.example'] }], ['notify', { channel: 'email', text: 'x' }]] as const) {
      const handler = action === 'reply' ? replyHandler : action === 'notify' ? notifyHandler : forwardHandler;
      const out = await handler(m, invocation(action, params), ports({ mailer: null }));
      assert.deepEqual(out, { status: 'failed', reason: NO_RELAY });
    }
  });

  test('encryption goes through the protect seam: none passes, other modes are refused until secure delivery plugs in', async () => {
    const m = await stepMessage(policy);
    const refused = await replyHandler(m, invocation('reply', { text: 'x', encrypt: 'smime' }), ports({ mailer }));
    assert.deepEqual(refused, { status: 'failed', reason: 'encryption mode smime not available (secure delivery is not installed)' });
    const seen: string[] = [];
    const protect: Protect = async (mail, mode) => {
      seen.push(mode);
      return { status: 'ok', mail: { ...mail, raw: new Uint8Array(Buffer.concat([Buffer.from('X-Protected: yes\r\n'), Buffer.from(mail.raw)])) } };
    };
    const out = await replyHandler(m, invocation('reply', { text: 'x', encrypt: 'auto' }, { path: '7' }), ports({ mailer, protect }));
    assert.equal(out.status, 'done');
    assert.deepEqual(seen, ['auto']);
    await sink.waitFor((x) => x.some((y) => y.raw.startsWith('X-Protected: yes')));
  });

  test('notify: e-mail to the verified sender by default; SMS through a real HTTP gateway', async () => {
    const m = await stepMessage(policy);
    const mail = await notifyHandler(m, invocation('notify', { channel: 'email', text: 'Your export is ready' }, { path: '3' }), ports({ mailer }));
    assert.equal(mail.status, 'done');
    const got: unknown[] = [];
    let answer = 200;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push(JSON.parse(body));
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(answer === 200 ? '{"id":"sms-77"}' : '{"error":"x"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sms = httpSmsGateway(`http://127.0.0.1:${(server.address() as AddressInfo).port}/send`);
    try {
      const sent = await notifyHandler(m, invocation('notify', { channel: 'sms', to: '+491701234567', text: 'Urgent lab result' }), ports({ sms }));
      assert.deepEqual(sent, { status: 'done', result: { channel: 'sms', to: '+491701234567', id: 'sms-77' }, resourceId: 'sms-77', summary: 'SMS to +491701234567' });
      assert.deepEqual(got, [{ to: '+491701234567', text: 'Urgent lab result' }]);
      answer = 503;
      assert.equal((await notifyHandler(m, invocation('notify', { channel: 'sms', to: '+491701234567', text: 'x' }), ports({ sms }))).status, 'retry');
      answer = 400;
      assert.equal((await notifyHandler(m, invocation('notify', { channel: 'sms', to: '+491701234567', text: 'x' }), ports({ sms }))).status, 'failed');
      assert.match(((await notifyHandler(m, invocation('notify', { channel: 'sms', to: '', text: 'x' }), ports({ sms }))) as { reason: string }).reason, /E\.164/);
      assert.match(((await notifyHandler(m, invocation('notify', { channel: 'sms', to: '+491701234567', text: 'x' }), ports())) as { reason: string }).reason, /INTENTMAIL_SMS_GATEWAY_URL/);
    } finally {
      server.close();
    }
  });
});
