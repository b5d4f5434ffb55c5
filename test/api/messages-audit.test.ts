/**
 * Messages (list, status, content, re-drive, legal hold, crypto-erasure) and the audit trail
 * (query, verify, export) over real HTTP against the running router, with messages delivered
 * over real SMTP. An erased message cannot be read back, while its tenant's audit chain still
 * verifies (through the API and with verifyAudit directly).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendMail } from '../helpers/smtp-client.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { openMessage } from '../../src/crypto/envelope.ts';
import { assertProblem, startHarness, type Harness } from './harness.ts';

let h: Harness;
let globex: string;
let reader: string;
const ids: string[] = [];
let startedAt: string;

/** Sends one accepted message over SMTP and returns its id. */
async function deliver(subject: string, from = 'alice@acme.example', intent = 'task.linear'): Promise<string> {
  const to = `${intent}@in.acme.example`;
  const t = await sendMail(h.router.smtpPort, { from, to: [to], raw: await h.signed('acme', from, to, subject) });
  const m = /Message accepted as ([0-9a-f-]{36})$/.exec(t.message?.text ?? '');
  assert.ok(m, t.message?.text);
  return m[1];
}

/** The message's status once its chain has stopped moving (done, dead, stopped, …), polled over the API. */
async function settled(id: string): Promise<{ status: string; progress: { jobId: string; status: string; steps: { path: string; action: string; status: string }[] } }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await h.call('GET', `/v1/messages/${id}`);
    const status = r.json.progress?.status;
    if (status !== undefined && !['pending', 'queued', 'running', 'waiting'].includes(status)) return r.json;
    assert.ok(Date.now() < deadline, `the chain of ${id} did not settle: ${r.text}`);
    await sleep(50);
  }
}

before(async () => {
  h = await startHarness();
  globex = (await h.token({ tenant: 'globex', scopes: ['messages:read', 'messages:content', 'messages:write', 'messages:erase', 'audit:read'] })).token;
  reader = (await h.token({ tenant: 'acme', scopes: ['messages:read', 'audit:read'] })).token;
  startedAt = new Date().toISOString();
  ids.push(await deliver('first'), await deliver('second #urgent'), await deliver('from bob', 'bob@acme.example', 'summary.analytics'), await deliver('public', 'alice@acme.example', 'public.inbox'));
});
after(() => h?.stop());

describe('messages', () => {
  test('list newest first, filter and page with the cursor', async () => {
    const all = await h.call('GET', '/v1/messages?tenant=acme', { token: reader });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json.items.map((m: { id: string }) => m.id), [...ids].reverse());
    assert.equal(all.json.next, null);
    const page1 = await h.call('GET', '/v1/messages?tenant=acme&limit=2', { token: reader });
    assert.equal(page1.json.items.length, 2);
    assert.ok(page1.json.next);
    const page2 = await h.call('GET', `/v1/messages?tenant=acme&limit=2&cursor=${page1.json.next}`, { token: reader });
    assert.deepEqual(page2.json.items.map((m: { id: string }) => m.id), [ids[1], ids[0]]);
    const page3 = await h.call('GET', `/v1/messages?tenant=acme&limit=2&cursor=${page2.json.next}`, { token: reader });
    assert.deepEqual([page3.json.items, page3.json.next], [[], null]);
    const bob = await h.call('GET', '/v1/messages?tenant=acme&sender=BOB@acme.example', { token: reader });
    assert.deepEqual(bob.json.items.map((m: { id: string }) => m.id), [ids[2]]);
    const linear = await h.call('GET', `/v1/messages?tenant=acme&intent=task.linear&since=${encodeURIComponent(startedAt)}`, { token: reader });
    assert.deepEqual(linear.json.items.map((m: { id: string }) => m.id), [ids[1], ids[0]]);
    const none = await h.call('GET', `/v1/messages?tenant=acme&until=${encodeURIComponent(startedAt)}`, { token: reader });
    assert.deepEqual(none.json.items, []);
    assertProblem(await h.call('GET', '/v1/messages?tenant=acme&cursor=%%%', { token: reader }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/messages?tenant=acme&cursor=bm9wZQ', { token: reader }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/messages?tenant=acme&limit=0', { token: reader }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/messages?tenant=acme&since=yesterday', { token: reader }), 400, 'validation_failed');
  });

  test('status: metadata, the job and the progress of its steps', async () => {
    const r = await h.call('GET', `/v1/messages/${ids[3]}`, { token: reader });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, ids[3]);
    assert.equal(r.json.intent, 'public.inbox');
    assert.equal(r.json.sender, 'alice@acme.example');
    assert.equal(r.json.senderVerified, true);
    assert.equal(r.json.status, 'accepted');
    assert.equal(r.json.legalHold, false);
    assert.equal(r.json.erasedAt, null);
    assert.equal(r.json.policy.file, 'acme/public.inbox.yaml');
    assert.match(r.json.job.id, /^[0-9a-f-]{36}$/);
    const done = await settled(ids[3]);
    assert.equal(done.progress.jobId, r.json.job.id);
    assert.deepEqual(done.progress.steps.map((s: { path: string; action: string }) => `${s.path}:${s.action}`), ['0:stop']);
    assert.equal(r.text.includes('ciphertext') || r.text.includes('wrappedKey'), false, 'no key material in the answer');
    assertProblem(await h.call('GET', '/v1/messages/00000000-0000-4000-8000-000000000000', { token: reader }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/messages/not-a-uuid', { token: reader }), 404, 'not_found');
  });

  test('content: the stored message, each read audited', async () => {
    const r = await h.call('GET', `/v1/messages/${ids[1]}/content`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^message\/rfc822/);
    assert.match(r.text, /^Authentication-Results: mx\.intentmail\.test;/);
    assert.match(r.text, /Subject: second #urgent/);
    const audit = await h.call('GET', '/v1/audit?tenant=acme&type=api.message.read');
    assert.ok(audit.json.items.some((rec: { event: { action: { target: string } } }) => rec.event.action.target === ids[1]));
  });

  test('a dead-lettered step is listed and re-driven; a chain with none answers 409', async () => {
    // task.linear's webhook needs LINEAR_WEBHOOK_URL, which the test router does not set: the step dead-letters.
    const dead = await settled(ids[0]);
    assert.equal(dead.progress.status, 'dead', JSON.stringify(dead.progress));
    const step = dead.progress.steps.find((s: { status: string }) => s.status === 'dead');
    assert.ok(step, JSON.stringify(dead.progress));
    assert.equal(step.action, 'webhook');
    const list = await h.call('GET', '/v1/dead-letters?tenant=acme', { token: reader });
    assert.equal(list.status, 200);
    const entry = list.json.items.find((d: { messageId: string }) => d.messageId === ids[0]);
    assert.ok(entry, list.text);
    assert.equal(entry.stepPath, step.path);
    assert.match(entry.reason, /LINEAR_WEBHOOK_URL/);

    assertProblem(await h.call('POST', `/v1/messages/${ids[0]}/redrive`, { json: { step: '9.then.9' } }), 409, 'not_dead_lettered');
    assertProblem(await h.call('POST', `/v1/messages/${ids[0]}/redrive`, { json: { stepPath: '0' } }), 400, 'validation_failed');
    const redriven = await h.call('POST', `/v1/messages/${ids[0]}/redrive`, { json: { step: step.path, reason: 'secret rotated' } });
    assert.equal(redriven.status, 202, redriven.text);
    assert.deepEqual(redriven.json, { messageId: ids[0], redriven: true, step: step.path });
    const audit = await h.call('GET', '/v1/audit?tenant=acme&type=api.message.redrive');
    assert.equal(audit.json.items.length, 1);
    assert.equal(audit.json.items[0].event.action.parameters.reason, 'secret rotated');

    // public.inbox ends with `stop`: nothing is dead-lettered, so there is nothing to re-drive.
    await settled(ids[3]);
    assertProblem(await h.call('POST', `/v1/messages/${ids[3]}/redrive`), 409, 'not_dead_lettered');
  });

  test('legal hold blocks erasure; once released the message is crypto-erased, cannot be read back, and the audit chain still verifies', async () => {
    const id = ids[1];
    const held = await h.call('PUT', `/v1/messages/${id}/legal-hold`, { json: { hold: true, reason: 'litigation 2026-17' } });
    assert.equal(held.status, 200, held.text);
    assert.equal(held.json.legalHold, true);
    const refused = await h.call('POST', `/v1/messages/${id}/erase`, { json: { reason: 'Art. 17 request' } });
    assertProblem(refused, 409, 'legal_hold');
    assert.equal((await h.call('GET', `/v1/messages/${id}/content`)).status, 200, 'still readable while held');
    await settled(id);

    const released = await h.call('PUT', `/v1/messages/${id}/legal-hold`, { json: { hold: false } });
    assert.equal(released.json.legalHold, false);
    const erased = await h.call('POST', `/v1/messages/${id}/erase`, { json: { reason: 'Art. 17 request' } });
    assert.equal(erased.status, 200, erased.text);
    assert.equal(erased.json.status, 'erased');
    assert.match(erased.json.erasedAt, /^\d{4}-\d\d-\d\dT/);

    const gone = await h.call('GET', `/v1/messages/${id}/content`);
    assertProblem(gone, 410, 'message_erased');
    assert.equal(gone.json.erasedAt, erased.json.erasedAt);
    assertProblem(await h.call('POST', `/v1/messages/${id}/erase`), 410, 'message_erased');
    assertProblem(await h.call('PUT', `/v1/messages/${id}/legal-hold`, { json: { hold: true } }), 410, 'message_erased');
    assert.equal((await h.call('GET', `/v1/messages/${id}`)).json.status, 'erased', 'the metadata stays');

    // The data key is gone from the store: the ciphertext can never be opened again.
    const store = await h.router.app.store();
    const stored = await store.getMessage(id);
    assert.ok(stored && stored.erasedAt !== null);
    assert.equal(stored.wrappedKey.byteLength, 0);
    assert.throws(() => openMessage(stored, h.router.app.keys().masterKey));

    // The audit keeps that it happened (hold, refused erase, release, erase) and still verifies.
    const trail = await h.call('GET', `/v1/audit?tenant=acme&sender=token:bootstrap&limit=500`);
    const mine = trail.json.items.filter((r: { event: { action: { target: string } } }) => r.event.action.target === id).map((r: { event: { action: { type: string }; result: { status: string } } }) => `${r.event.action.type}:${r.event.result.status}`);
    assert.deepEqual(mine.filter((t: string) => t !== 'api.message.read:ok'), ['api.message.hold:ok', 'api.message.erase:refused', 'api.message.release:ok', 'api.message.erase:ok']);
    const viaApi = await h.call('GET', '/v1/audit/verify?tenant=acme', { token: reader });
    assert.equal(viaApi.status, 200);
    assert.equal(viaApi.json.ok, true, viaApi.text);
    assert.equal(viaApi.json.tenants[0].tenant, 'acme');
    for (const t of await store.auditTenants()) await store.checkpoint(t);
    const direct = await verifyAudit(store, h.router.app.keys().verifier);
    assert.equal(direct.ok, true, JSON.stringify(direct.firstBad));
  });

  test('validation errors on the write routes', async () => {
    assertProblem(await h.call('PUT', `/v1/messages/${ids[2]}/legal-hold`, { json: {} }), 400, 'validation_failed');
    assertProblem(await h.call('PUT', `/v1/messages/${ids[2]}/legal-hold`, { json: { hold: 'yes' } }), 400, 'validation_failed');
    assertProblem(await h.call('PUT', `/v1/messages/${ids[2]}/legal-hold`, { body: 'hold', type: 'text/plain' }), 415, 'unsupported_media_type');
    assertProblem(await h.call('POST', `/v1/messages/${ids[2]}/erase`, { json: { why: 'x' } }), 400, 'validation_failed');
    assertProblem(await h.call('DELETE', `/v1/messages/${ids[2]}`), 405, 'method_not_allowed');
  });

  test('security: no token 401, wrong scope 403, another tenant\'s message 404 on every message route', async () => {
    const id = ids[2];
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/messages?tenant=acme'],
      ['GET', `/v1/messages/${id}`],
      ['GET', `/v1/messages/${id}/content`],
      ['POST', `/v1/messages/${id}/redrive`, {}],
      ['PUT', `/v1/messages/${id}/legal-hold`, { hold: true }],
      ['POST', `/v1/messages/${id}/erase`, {}],
      ['GET', '/v1/dead-letters?tenant=acme'],
    ];
    for (const [method, path, json] of routes) {
      assertProblem(await h.call(method, path, { token: null, json }), 401, 'unauthorized');
      const other = await h.call(method, path, { token: globex, json });
      assertProblem(other, 404, 'not_found');
    }
    for (const [method, path, json] of routes.slice(2, 6)) {
      const r = await h.call(method, path, { token: reader, json });
      assertProblem(r, 403, 'forbidden');
    }
    assert.equal((await h.call('GET', `/v1/messages/${id}`)).json.legalHold, false, 'nothing changed');
    assert.equal((await h.call('GET', `/v1/messages/${id}/content`)).status, 200, 'not erased');
    assert.deepEqual((await h.call('GET', '/v1/messages', { token: globex })).json.items, [], 'globex sees only its own (none)');
  });
});

describe('audit', () => {
  test('query by time, sender, intent, result and type, page by seq', async () => {
    const all = await h.call('GET', '/v1/audit?tenant=acme&limit=500', { token: reader });
    assert.equal(all.status, 200);
    const seqs = all.json.items.map((r: { seq: number }) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => a - b));
    assert.equal(seqs[0], 1);
    const bob = await h.call('GET', '/v1/audit?tenant=acme&sender=bob@acme.example', { token: reader });
    assert.ok(bob.json.items.length >= 1);
    assert.ok(bob.json.items.every((r: { event: { actor: { email: string } } }) => r.event.actor.email === 'bob@acme.example'));
    const intent = await h.call('GET', '/v1/audit?tenant=acme&intent=summary.analytics', { token: reader });
    assert.ok(intent.json.items.length >= 1 && intent.json.items.every((r: { event: { action: { intent: string } } }) => r.event.action.intent === 'summary.analytics'));
    const accepted = await h.call('GET', '/v1/audit?tenant=acme&result=accepted', { token: reader });
    assert.equal(accepted.json.items.length, ids.length);
    const typed = await h.call('GET', '/v1/audit?tenant=acme&type=inbound.accepted', { token: reader });
    assert.deepEqual(typed.json.items.map((r: { event: { result: { resourceId: string } } }) => r.event.result.resourceId), ids);
    const future = await h.call('GET', `/v1/audit?tenant=acme&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: reader });
    assert.deepEqual(future.json.items, []);
    const until = await h.call('GET', `/v1/audit?tenant=acme&until=${encodeURIComponent(startedAt)}`, { token: reader });
    assert.deepEqual(until.json.items.map((r: { event: { action: { type: string } } }) => r.event.action.type), ['api.token.create'], 'before the mail: only the token made for this test');
    const p1 = await h.call('GET', '/v1/audit?tenant=acme&limit=2', { token: reader });
    assert.equal(p1.json.next, p1.json.items[1].seq);
    const p2 = await h.call('GET', `/v1/audit?tenant=acme&limit=2&after=${p1.json.next}`, { token: reader });
    assert.equal(p2.json.items[0].seq, p1.json.next + 1);
    assertProblem(await h.call('GET', '/v1/audit?tenant=acme&after=-1', { token: reader }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/audit?tenant=acme&limit=501', { token: reader }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/audit?tenant=acme&since=2026-13-01', { token: reader }), 400, 'validation_failed');
  });

  test('export: JSON lines in chain order, with the query filters, streamed', async () => {
    const res = await fetch(`${h.base}/v1/audit/export?tenant=acme`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    assert.equal(res.headers.get('content-length'), null, 'streamed, not buffered');
    const lines = (await res.text()).split('\n');
    assert.equal(lines.pop(), '', 'every record ends with a newline');
    const records = lines.map((l) => JSON.parse(l) as { seq: number; hash: string; prevHash: string; event: { tenant: string } });
    const query = await h.call('GET', '/v1/audit?tenant=acme&limit=500', { token: reader });
    assert.deepEqual(records.map((r) => r.seq), query.json.items.map((r: { seq: number }) => r.seq));
    for (let i = 1; i < records.length; i++) assert.equal(records[i].prevHash, records[i - 1].hash, 'the chain links');
    assert.ok(records.every((r) => r.event.tenant === 'acme'));
    const filtered = await h.call('GET', '/v1/audit/export?tenant=acme&type=inbound.accepted', { token: reader });
    assert.equal(filtered.text.trim().split('\n').length, ids.length);
  });

  test('verify, and security on the audit routes', async () => {
    const v = await h.call('GET', '/v1/audit/verify', { token: reader });
    assert.equal(v.status, 200);
    assert.equal(v.json.ok, true);
    assert.equal(v.json.firstBad, null);
    for (const path of ['/v1/audit?tenant=acme', '/v1/audit/verify?tenant=acme', '/v1/audit/export?tenant=acme']) {
      assertProblem(await h.call('GET', path, { token: null }), 401, 'unauthorized');
      assertProblem(await h.call('GET', path, { token: globex }), 404, 'not_found');
      const noScope = (await h.token({ tenant: 'acme', scopes: ['messages:read'] })).token;
      assertProblem(await h.call('GET', path, { token: noScope }), 403, 'forbidden');
    }
    assertProblem(await h.call('GET', '/v1/audit'), 400, 'validation_failed');
    const own = await h.call('GET', '/v1/audit/verify', { token: globex });
    assert.equal(own.json.ok, true);
    assert.deepEqual(own.json.tenants.map((t: { tenant: string }) => t.tenant), ['globex']);
  });
});
