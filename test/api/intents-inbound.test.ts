/**
 * Tenants and intents as loaded, validation of a proposed policy file, simulation of a raw
 * message, and POST /v1/inbound (the same pipeline as SMTP) over real HTTP against the running
 * router, with their validation errors and 401 / 403 / other-tenant 404 cases.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMessage } from '../helpers/dkim.ts';
import { openMessage } from '../../src/crypto/envelope.ts';
import { assertProblem, startHarness, type Harness } from './harness.ts';

let h: Harness;
let globex: string;
let acmeNoScope: string;
let acmeInbound: string;

before(async () => {
  h = await startHarness();
  globex = (await h.token({ tenant: 'globex', scopes: ['intents:read', 'intents:simulate', 'inbound'] })).token;
  acmeNoScope = (await h.token({ tenant: 'acme', scopes: ['audit:read'] })).token;
  acmeInbound = (await h.token({ tenant: 'acme', scopes: ['inbound'] })).token;
});
after(() => h?.stop());

const ENVELOPE = 'from=alice@acme.example&ip=127.0.0.1&helo=mail.acme.example';

describe('tenants and intents', () => {
  test('tenants: an all-tenant token sees both, a tenant token only its own', async () => {
    const all = await h.call('GET', '/v1/tenants');
    assert.equal(all.status, 200);
    assert.deepEqual(all.json.items.map((t: { name: string }) => t.name).sort(), ['acme', 'globex']);
    const acme = all.json.items.find((t: { name: string }) => t.name === 'acme');
    assert.deepEqual(acme.domains, ['in.acme.example']);
    assert.ok(acme.intents.includes('task.linear'));
    assert.equal(acme.file, 'acme/tenant.yaml');
    assert.match(acme.version, /^[0-9a-f]{40}$/);
    const own = await h.call('GET', '/v1/tenants', { token: globex });
    assert.deepEqual(own.json.items.map((t: { name: string }) => t.name), ['globex']);
    assertProblem(await h.call('GET', '/v1/tenants', { token: null }), 401, 'unauthorized');
    assertProblem(await h.call('GET', '/v1/tenants', { token: acmeNoScope }), 403, 'forbidden');
  });

  test('list and show intents as loaded, with file, version and the run-time entries in force', async () => {
    const list = await h.call('GET', '/v1/intents?tenant=acme');
    assert.equal(list.status, 200);
    const names = list.json.items.map((i: { name: string }) => i.name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes('task.linear') && names.includes('public.inbox'));
    const entry = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'task.linear', sender: 'zed@partner.example' } });
    assert.equal(entry.status, 201);
    const show = await h.call('GET', '/v1/intents/task.linear?tenant=acme');
    assert.equal(show.status, 200, show.text);
    assert.equal(show.json.file, 'acme/task.linear.yaml');
    assert.match(show.json.version, /^[0-9a-f]{40}$/);
    assert.equal(show.json.level, 'create');
    assert.deepEqual(show.json.senders, ['@acme.example', 'group:ops']);
    assert.deepEqual(show.json.steps.map((s: { action: string }) => s.action), ['webhook', 'reply']);
    assert.deepEqual(show.json.runtime, { allow: ['zed@partner.example'], deny: [] });
    assert.equal(show.json.limits.perSender, '60/hour');
    assertProblem(await h.call('GET', '/v1/intents/no.such?tenant=acme'), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/intents'), 400, 'validation_failed');
  });

  test('intents: 401, 403, and another tenant reads as missing', async () => {
    assertProblem(await h.call('GET', '/v1/intents?tenant=acme', { token: null }), 401, 'unauthorized');
    assertProblem(await h.call('GET', '/v1/intents/task.linear?tenant=acme', { token: acmeNoScope }), 403, 'forbidden');
    assertProblem(await h.call('GET', '/v1/intents?tenant=acme', { token: globex }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/intents/task.linear?tenant=acme', { token: globex }), 404, 'not_found');
    const own = await h.call('GET', '/v1/intents/ticket.open', { token: globex });
    assert.equal(own.status, 200);
    assert.equal(own.json.tenant, 'globex');
  });
});

describe('validate a proposed policy file', () => {
  const post = (file: string, text: string, token?: string | null, tenant = 'acme') =>
    h.call('POST', `/v1/intents/validate?tenant=${tenant}&file=${encodeURIComponent(file)}`, { body: text, type: 'application/yaml', token });

  test('a good new intent validates in its tenant folder', async () => {
    const r = await post('task.new.yaml', 'intent: task.new\nlevel: create\nsenders: ["group:ops", role:developer]\nsteps:\n  - stop: {}\n');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual({ valid: r.json.valid, file: r.json.file, problems: r.json.problems }, { valid: true, file: 'acme/task.new.yaml', problems: [] });
  });

  test('problems name the line and the field, against the tenant\'s groups, roles and other intents', async () => {
    const text = 'intent: task.new\nlevel: superuser\nsenders: ["group:nope"]\nsteps:\n  - webhook: { url: 42 }\n';
    const r = await post('task.new.yaml', text);
    assert.equal(r.status, 200);
    assert.equal(r.json.valid, false);
    const level = r.json.problems.find((p: { field: string }) => p.field === 'level');
    assert.ok(level, r.text);
    assert.equal(level.line, 2);
    assert.equal(level.file, 'acme/task.new.yaml');
    const misnamed = await post('second.yaml', 'intent: task.linear\nsenders: ["@acme.example"]\nsteps:\n  - stop: {}\n');
    assert.equal(misnamed.json.valid, false);
    assert.ok(misnamed.json.problems.some((p: { field: string; message: string }) => p.field === 'intent' && /name it task\.linear\.yaml/.test(p.message)), misnamed.text);
    const replaced = await post('task.linear.yaml', 'intent: task.linear\nsenders: ["@acme.example"]\nsteps:\n  - stop: {}\n');
    assert.equal(replaced.json.valid, true, 'a file of the same name replaces the loaded one');
    const group = await post('task.other.yaml', 'intent: task.other\nsenders: ["group:nope"]\nsteps:\n  - stop: {}\n');
    assert.equal(group.json.valid, false);
    assert.ok(group.json.problems.some((p: { line: number; field: string }) => p.line === 2 && p.field.startsWith('senders')), group.text);
    const yaml = await post('broken.yaml', 'intent: [unclosed\n');
    assert.equal(yaml.json.valid, false);
    assert.ok(yaml.json.problems[0].line >= 1);
  });

  test('validation errors, limits and security', async () => {
    assertProblem(await post('../escape.yaml', 'intent: x\n'), 400, 'validation_failed');
    assertProblem(await post('notyaml.txt', 'intent: x\n'), 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/intents/validate?tenant=acme&file=a.yaml', { json: { text: 'x' } }), 415, 'unsupported_media_type');
    assertProblem(await post('big.yaml', `# ${'x'.repeat(300 * 1024)}\n`), 413, 'payload_too_large');
    assertProblem(await post('a.yaml', 'intent: a\n', null), 401, 'unauthorized');
    assertProblem(await post('a.yaml', 'intent: a\n', acmeNoScope), 403, 'forbidden');
    assertProblem(await post('a.yaml', 'intent: a\n', globex, 'acme'), 404, 'not_found');
  });
});

describe('simulate', () => {
  test('an accepted message: the full report, nothing stored or audited', async () => {
    const before = await h.call('GET', '/v1/audit?tenant=acme&limit=500');
    const raw = await h.signed('acme', 'alice@acme.example', 'task.linear@in.acme.example', 'Printer on fire #urgent');
    const r = await h.call('POST', `/v1/intents/simulate?to=task.linear@in.acme.example&${ENVELOPE}`, { body: raw, type: 'message/rfc822' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.accepted, true);
    assert.match(r.json.smtp, /^250 2\.6\.0 Message would be accepted/);
    assert.equal(r.json.auth.dmarc.result, 'pass');
    assert.equal(r.json.access.permitted, true);
    assert.deepEqual(r.json.parsed.subjectTags, ['urgent']);
    assert.equal(r.json.parsed.text, undefined, 'the message text is not echoed');
    assert.ok(r.json.plan.steps.length >= 1);
    const afterward = await h.call('GET', '/v1/audit?tenant=acme&limit=500');
    assert.equal(afterward.json.items.length, before.json.items.length, 'a simulation is not audited');
    const stored = await h.call('GET', '/v1/messages?tenant=acme');
    assert.ok(!stored.json.items.some((m: { id: string }) => m.id === r.json.messageId), 'nothing stored');
  });

  test('refusals: spoofed sender, unknown recipient, a run-time deny shows, LF-only files are converted', async () => {
    const spoof = buildMessage({ from: 'ceo@acme.example', to: 'task.linear@in.acme.example', subject: 'wire', text: 'pay' });
    const s = await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example&from=ceo@acme.example&ip=203.0.113.9', { body: spoof.replace(/\r\n/g, '\n'), type: 'message/rfc822' });
    assert.equal(s.status, 200);
    assert.equal(s.json.accepted, false);
    assert.equal(s.json.stage, 'authentication');
    assert.match(s.json.smtp, /^550 5\.7\.26 /);
    assert.equal(s.json.lineEndingsNormalised, true);
    const u = await h.call('POST', '/v1/intents/simulate?to=nope@in.acme.example', { body: spoof, type: 'message/rfc822' });
    assert.equal(u.json.stage, 'recipient');
    assert.match(u.json.smtp, /^550 5\.1\.1 /);
    const deny = await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'task.linear', sender: 'alice@acme.example' } });
    const raw = await h.signed('acme', 'alice@acme.example', 'task.linear@in.acme.example', 'denied?');
    const d = await h.call('POST', `/v1/intents/simulate?to=task.linear@in.acme.example&${ENVELOPE}`, { body: raw, type: 'message/rfc822' });
    assert.match(d.json.smtp, /^550 5\.7\.1 .*run-time deny/);
    assert.equal((await h.call('DELETE', `/v1/deny/${deny.json.id}`)).status, 204);
  });

  test('validation errors and security', async () => {
    const raw = await h.signed('acme', 'alice@acme.example', 'task.linear@in.acme.example', 'x');
    assertProblem(await h.call('POST', '/v1/intents/simulate', { body: raw, type: 'message/rfc822' }), 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example&ip=not-an-ip', { body: raw, type: 'message/rfc822' }), 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example', { body: raw, type: 'text/html' }), 415, 'unsupported_media_type');
    assertProblem(await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example', { body: Buffer.alloc(2 * 1024 * 1024 + 1, 0x61), type: 'message/rfc822' }), 413, 'payload_too_large');
    assertProblem(await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example', { body: raw, type: 'message/rfc822', token: null }), 401, 'unauthorized');
    assertProblem(await h.call('POST', '/v1/intents/simulate?to=task.linear@in.acme.example', { body: raw, type: 'message/rfc822', token: acmeNoScope }), 403, 'forbidden');
    // globex's token: acme's address reads exactly like an address no tenant claims.
    const other = await h.call('POST', `/v1/intents/simulate?to=task.linear@in.acme.example&${ENVELOPE}`, { body: raw, type: 'message/rfc822', token: globex });
    assert.equal(other.json.stage, 'recipient');
    assert.equal(other.json.smtp, '550 5.1.1 Recipient address rejected: no tenant for domain in.acme.example');
  });
});

describe('POST /v1/inbound', () => {
  const inbound = (query: string, body: string | Buffer, token?: string | null) => h.call('POST', `/v1/inbound?${query}`, { body, type: 'message/rfc822', token });

  test('accepted: 202 with the message id, stored with its job and audit record like SMTP', async () => {
    const raw = await h.signed('acme', 'alice@acme.example', 'task.linear+OPS@in.acme.example', 'Over HTTP');
    const r = await inbound(`to=task.linear%2BOPS@in.acme.example&${ENVELOPE}`, raw, acmeInbound);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.accepted, true);
    assert.match(r.json.smtp, new RegExp(`^250 2\\.6\\.0 Message accepted as ${r.json.messageId}$`));
    const store = await h.router.app.store();
    const stored = await store.getMessage(r.json.messageId);
    assert.ok(stored);
    assert.equal(stored.addressDetail, 'OPS');
    assert.equal(stored.clientIp, '127.0.0.1');
    assert.equal(stored.senderVerified, true);
    assert.match(Buffer.from(openMessage(stored, h.router.app.keys().masterKey)).toString('latin1'), /Over HTTP/);
    assert.equal((await store.getJobForMessage(r.json.messageId))?.id, r.json.jobId);
    const audit = await h.call('GET', '/v1/audit?tenant=acme&type=inbound.accepted&limit=500');
    assert.ok(audit.json.items.some((rec: { event: { result: { resourceId: string } } }) => rec.event.result.resourceId === r.json.messageId));
  });

  test('refusals carry the SMTP reply with the HTTP status of the same error code', async () => {
    const spoof = buildMessage({ from: 'ceo@acme.example', to: 'task.linear@in.acme.example', subject: 'wire', text: 'pay' });
    const dmarc = await inbound('to=task.linear@in.acme.example&from=ceo@acme.example&ip=203.0.113.9', spoof);
    assertProblem(dmarc, 403, 'auth_dmarc_failed');
    assert.match(dmarc.json.smtp, /^550 5\.7\.26 /);
    assert.deepEqual([dmarc.json.reply.code, dmarc.json.reply.enhanced], [550, '5.7.26']);
    assert.equal(dmarc.json.stage, 'authentication');

    const carol = await h.signed('acme', 'carol@acme.example', 'summary.analytics@in.acme.example', 'summary');
    const denied = await inbound('to=summary.analytics@in.acme.example&from=carol@acme.example&ip=127.0.0.1', carol);
    assertProblem(denied, 403, 'sender_not_allowed');
    assert.match(denied.json.smtp, /^550 5\.7\.1 /);

    const unknown = await inbound('to=nope@in.acme.example', spoof);
    assertProblem(unknown, 404, 'unknown_recipient');
    assert.match(unknown.json.smtp, /^550 5\.1\.1 /);

    const two = await inbound('to=task.linear@in.acme.example&to=public.inbox@in.acme.example', spoof);
    assertProblem(two, 400, 'too_many_recipients');
    assert.match(two.json.smtp, /^452 4\.5\.3 /);

    const big = buildMessage({ from: 'alice@acme.example', to: 'task.linear@in.acme.example', subject: 'big', text: 'y'.repeat(76).concat('\r\n').repeat(15_000) });
    const large = await inbound(`to=task.linear@in.acme.example&${ENVELOPE}`, big);
    assertProblem(large, 413, 'message_too_large');
    assert.match(large.json.smtp, /^552 5\.3\.4 /);

    const smuggle = 'From: x@partner.example\r\nSubject: s\r\n\r\nhello\n.\nMAIL FROM:<evil@acme.example>\r\n';
    const bare = await inbound('to=public.inbox@in.acme.example&from=x@partner.example&ip=127.0.0.2', smuggle);
    assertProblem(bare, 422, 'bare_line_ending');
    assert.match(bare.json.smtp, /^550 5\.6\.11 /);

    const refused = await h.call('GET', '/v1/audit?tenant=acme&result=refused&limit=500');
    assert.ok(refused.json.items.some((rec: { event: { result: { reply: string } } }) => rec.event.result.reply.startsWith('550 5.7.26')), 'refusals are audited like SMTP ones');
  });

  test('validation errors and security', async () => {
    const raw = await h.signed('acme', 'alice@acme.example', 'task.linear@in.acme.example', 'sec');
    assertProblem(await inbound(ENVELOPE, raw), 400, 'validation_failed');
    assertProblem(await inbound('to=task.linear@in.acme.example&tls=maybe', raw), 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/inbound?to=task.linear@in.acme.example', { json: { raw: 'x' } }), 415, 'unsupported_media_type');
    assertProblem(await inbound('to=task.linear@in.acme.example', Buffer.alloc(2 * 1024 * 1024 + 10, 0x61)), 413, 'payload_too_large');
    assertProblem(await inbound(`to=task.linear@in.acme.example&${ENVELOPE}`, raw, null), 401, 'unauthorized');
    const noScope = await inbound(`to=task.linear@in.acme.example&${ENVELOPE}`, raw, acmeNoScope);
    assertProblem(noScope, 403, 'forbidden');
    assert.equal(noScope.json.requiredScope, 'inbound');
    // globex's inbound token cannot deliver into acme: acme's domain reads as unclaimed.
    const other = await inbound(`to=task.linear@in.acme.example&${ENVELOPE}`, raw, globex);
    assertProblem(other, 404, 'unknown_recipient');
    assert.equal(other.json.smtp, '550 5.1.1 Recipient address rejected: no tenant for domain in.acme.example');
  });
});
