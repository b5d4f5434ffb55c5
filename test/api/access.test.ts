/**
 * Allowlist entries, deny entries and role bindings over real HTTP against the running router,
 * and their effect on the next message over real SMTP: an entry added lets a DMARC-verified
 * sender in, removing it shuts them out again, an expired entry admits nobody, a deny entry
 * beats the policy's allowlist, a role binding grants a role's intents. Every route's happy
 * path, validation errors, and the 401 / 403 / other-tenant 404 cases.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendMail } from '../helpers/smtp-client.ts';
import { assertProblem, startHarness, type Harness } from './harness.ts';

let h: Harness;
let globexAdmin: string;
let acmeReader: string;

before(async () => {
  h = await startHarness();
  globexAdmin = (await h.token({ tenant: 'globex', scopes: ['allowlist:read', 'allowlist:write', 'deny:read', 'deny:write', 'roles:read', 'roles:write'] })).token;
  acmeReader = (await h.token({ tenant: 'acme', scopes: ['allowlist:read', 'deny:read', 'roles:read'] })).token;
});
after(() => h?.stop());

/** Sends a message from dave@partner.example (DMARC pass, on no file allowlist) to `intent`. */
async function daveTo(intent: string, subject: string): Promise<string> {
  const to = `${intent}@in.acme.example`;
  const t = await sendMail(h.router.smtpPort, { from: 'dave@partner.example', to: [to], raw: await h.signed('partner', 'dave@partner.example', to, subject) });
  return t.message?.text ?? t.rcpt[0].text;
}

describe('allowlist entries', () => {
  test('an entry added over the API admits the next message over SMTP; removing it shuts the sender out again', async () => {
    assert.match(await daveTo('task.linear', 'before'), /^550 5\.7\.1 .*not on the allowlist/);

    const created = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'task.linear', sender: 'Dave@Partner.example', note: 'contractor until March' } });
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { tenant: created.json.tenant, intent: created.json.intent, sender: created.json.sender, note: created.json.note, expiresAt: created.json.expiresAt, active: created.json.active, createdBy: created.json.createdBy },
      { tenant: 'acme', intent: 'task.linear', sender: 'dave@partner.example', note: 'contractor until March', expiresAt: null, active: true, createdBy: 'token:bootstrap' },
    );
    assert.match(await daveTo('task.linear', 'with entry'), /^250 2\.6\.0 Message accepted as /);

    const list = await h.call('GET', '/v1/allowlist?tenant=acme&intent=task.linear');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((e: { id: string }) => e.id), [created.json.id]);
    const one = await h.call('GET', `/v1/allowlist/${created.json.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.sender, 'dave@partner.example');

    const del = await h.call('DELETE', `/v1/allowlist/${created.json.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.match(await daveTo('task.linear', 'after removal'), /^550 5\.7\.1 /);
    assertProblem(await h.call('DELETE', `/v1/allowlist/${created.json.id}`), 404, 'not_found');

    // Both changes are on the tenant's chain with before and after.
    const audit = await h.call('GET', '/v1/audit?tenant=acme&sender=token:bootstrap');
    const types = audit.json.items.map((r: { event: { action: { type: string } } }) => r.event.action.type);
    assert.ok(types.includes('api.allowlist.create') && types.includes('api.allowlist.delete'), types.join());
    const deleted = audit.json.items.find((r: { event: { action: { type: string } } }) => r.event.action.type === 'api.allowlist.delete');
    assert.equal(deleted.event.action.parameters.before.sender, 'dave@partner.example');
    assert.equal(deleted.event.action.parameters.after, null);
  });

  test('an entry for all intents ("*") applies to every intent', async () => {
    const created = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: '*', sender: '@partner.example' } });
    assert.equal(created.status, 201, created.text);
    assert.match(await daveTo('export.data', 'star'), /^250 /);
    assert.equal((await h.call('DELETE', `/v1/allowlist/${created.json.id}`)).status, 204);
    assert.match(await daveTo('export.data', 'star removed'), /^550 5\.7\.1 /);
  });

  test('an expired entry does not admit', async () => {
    const expiresAt = new Date(Date.now() + 1000).toISOString();
    const created = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'task.linear', sender: 'dave@partner.example', expiresAt } });
    assert.equal(created.status, 201, created.text);
    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 100);
    assert.match(await daveTo('task.linear', 'expired'), /^550 5\.7\.1 .*not on the allowlist/);
    const active = await h.call('GET', '/v1/allowlist?tenant=acme&intent=task.linear');
    assert.deepEqual(active.json.items, [], 'expired entries are not listed by default');
    const all = await h.call('GET', '/v1/allowlist?tenant=acme&intent=task.linear&includeExpired=true');
    assert.equal(all.json.items.length, 1);
    assert.equal(all.json.items[0].active, false);
  });

  test('validation errors: missing and unknown fields, bad sender forms, unknown intent, past expiry, duplicates', async () => {
    const bad = async (json: unknown, path: string) => {
      const r = await h.call('POST', '/v1/allowlist', { json });
      assertProblem(r, 400, 'validation_failed');
      assert.ok(r.json.errors.some((e: { path: string }) => e.path.startsWith(path)), `${path} in ${r.text}`);
    };
    await bad({ tenant: 'acme', sender: 'x@y.example' }, 'intent');
    await bad({ tenant: 'acme', intent: 'task.linear' }, 'sender');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', expires_at: '2030-01-01T00:00:00Z' }, '');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'not an address' }, 'sender');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: '*' }, 'sender');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'group:nope' }, 'sender');
    await bad({ tenant: 'acme', intent: 'no.such', sender: 'x@y.example' }, 'intent');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', expiresAt: 'tomorrow' }, 'expiresAt');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt');
    await bad({ intent: 'task.linear', sender: 'x@y.example' }, 'tenant');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', note: 'x'.repeat(501) }, 'note');
    await bad({ tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', note: 'lone \ud800 surrogate' }, 'note');

    const malformed = await h.call('POST', '/v1/allowlist', { body: '{"tenant": "acme",', type: 'application/json' });
    assertProblem(malformed, 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/allowlist', { body: 'tenant=acme', type: 'text/plain' }), 415, 'unsupported_media_type');
    const huge = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'task.linear', sender: 'x@y.example', note: 'x'.repeat(70_000) } });
    assertProblem(huge, 413, 'payload_too_large');

    const first = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'summary.analytics', sender: 'group:ops' } });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.json.sender, 'group:ops');
    const dup = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'summary.analytics', sender: 'group:ops' } });
    assertProblem(dup, 409, 'conflict');
    assert.equal(dup.json.existingId, first.json.id);
    assertProblem(await h.call('GET', '/v1/allowlist/not-a-uuid'), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/allowlist?tenant=acme&includeExpired=yes'), 400, 'validation_failed');
  });

  test('security: no token 401, wrong scope 403, other tenant 404 on every allowlist route', async () => {
    const entry = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'task.linear', sender: 'eve@partner.example' } });
    assert.equal(entry.status, 201);
    const id = entry.json.id;
    for (const [method, path] of [['GET', '/v1/allowlist?tenant=acme'], ['POST', '/v1/allowlist'], ['GET', `/v1/allowlist/${id}`], ['DELETE', `/v1/allowlist/${id}`]] as const) {
      const r = await h.call(method, path, { token: null, json: method === 'POST' ? { tenant: 'acme', intent: '*', sender: 'x@y.example' } : undefined });
      assertProblem(r, 401, 'unauthorized');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="intentmail"');
    }
    assertProblem(await h.call('GET', '/v1/allowlist?tenant=acme', { token: 'im_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), 401, 'unauthorized');
    assertProblem(await h.call('GET', '/v1/allowlist?tenant=acme', { token: 'garbage' }), 401, 'unauthorized');
    const forbidden = await h.call('POST', '/v1/allowlist', { token: acmeReader, json: { intent: '*', sender: 'x@y.example' } });
    assertProblem(forbidden, 403, 'forbidden');
    assert.equal(forbidden.json.requiredScope, 'allowlist:write');
    assertProblem(await h.call('DELETE', `/v1/allowlist/${id}`, { token: acmeReader }), 403, 'forbidden');
    // A tenant-bound token omits the tenant, and sees its own entries only.
    const own = await h.call('GET', '/v1/allowlist', { token: acmeReader });
    assert.equal(own.status, 200);
    assert.ok(own.json.items.some((e: { id: string }) => e.id === id));
    // Another tenant's token: the entry and the tenant read as nonexistent.
    assertProblem(await h.call('GET', `/v1/allowlist/${id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/allowlist/${id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/allowlist?tenant=acme', { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('POST', '/v1/allowlist', { token: globexAdmin, json: { tenant: 'acme', intent: '*', sender: 'x@y.example' } }), 404, 'not_found');
    const unknown = await h.call('GET', '/v1/allowlist?tenant=nosuch', { token: globexAdmin });
    assertProblem(unknown, 404, 'not_found');
    const hidden = await h.call('GET', '/v1/allowlist?tenant=acme', { token: globexAdmin });
    assert.equal(hidden.json.detail.replace('acme', 'nosuch'), unknown.json.detail, 'another tenant reads exactly like a missing one');
    assert.equal((await h.call('GET', `/v1/allowlist/${id}`)).status, 200, 'still there');
    const globexOwn = await h.call('POST', '/v1/allowlist', { token: globexAdmin, json: { intent: 'ticket.open', sender: 'x@partner.example' } });
    assert.equal(globexOwn.status, 201, globexOwn.text);
    assert.equal(globexOwn.json.tenant, 'globex');
    assertProblem(await h.call('GET', `/v1/allowlist/${globexOwn.json.id}`, { token: acmeReader }), 404, 'not_found');
  });
});

describe('deny entries', () => {
  test('a deny entry refuses a sender the policy admits, and deleting it lets them in again', async () => {
    const to = 'task.linear@in.acme.example';
    const send = async (subject: string) => (await sendMail(h.router.smtpPort, { from: 'alice@acme.example', to: [to], raw: await h.signed('acme', 'alice@acme.example', to, subject) })).message!.text;
    assert.match(await send('deny before'), /^250 /);
    const deny = await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'task.linear', sender: 'alice@acme.example', note: 'left the company' } });
    assert.equal(deny.status, 201, deny.text);
    assert.match(await send('denied'), /^550 5\.7\.1 .*run-time deny entry "alice@acme\.example"/);
    const list = await h.call('GET', '/v1/deny?tenant=acme');
    assert.deepEqual(list.json.items.map((e: { id: string }) => e.id), [deny.json.id]);
    assert.equal((await h.call('GET', `/v1/deny/${deny.json.id}`)).json.note, 'left the company');
    assert.equal((await h.call('DELETE', `/v1/deny/${deny.json.id}`)).status, 204);
    assert.match(await send('deny removed'), /^250 /);
  });

  test('deny "*" shuts an intent for everyone; an allowlist id is not a deny id', async () => {
    const allow = await h.call('POST', '/v1/allowlist', { json: { tenant: 'acme', intent: 'public.inbox', sender: 'nobody@partner.example' } });
    assertProblem(await h.call('GET', `/v1/deny/${allow.json.id}`), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/deny/${allow.json.id}`), 404, 'not_found');
    const deny = await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'public.inbox', sender: '*' } });
    assert.equal(deny.status, 201, deny.text);
    const to = 'public.inbox@in.acme.example';
    const t = await sendMail(h.router.smtpPort, { from: 'x@partner.example', to: [to], raw: await h.signed('partner', 'x@partner.example', to, 'closed') });
    assert.match(t.message!.text, /^550 5\.7\.1 /);
    assert.equal((await h.call('DELETE', `/v1/deny/${deny.json.id}`)).status, 204);
  });

  test('validation and security on the deny routes', async () => {
    assertProblem(await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'task.linear', sender: 'role:nope' } }), 400, 'validation_failed');
    assertProblem(await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'task.linear' } }), 400, 'validation_failed');
    assertProblem(await h.call('GET', '/v1/deny?tenant=acme', { token: null }), 401, 'unauthorized');
    assertProblem(await h.call('POST', '/v1/deny', { token: acmeReader, json: { intent: '*', sender: '*' } }), 403, 'forbidden');
    const d = await h.call('POST', '/v1/deny', { json: { tenant: 'acme', intent: 'notes.drop', sender: 'role:analyst' } });
    assert.equal(d.status, 201, d.text);
    assertProblem(await h.call('GET', `/v1/deny/${d.json.id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/deny/${d.json.id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/deny?tenant=acme', { token: globexAdmin }), 404, 'not_found');
  });
});

describe('role bindings', () => {
  test('binding a member to a role admits them to the role\'s intent on the next message; removing it does not', async () => {
    // summary.analytics admits role:analyst only; carol (DMARC pass) has no role in tenant.yaml.
    const to = 'summary.analytics@in.acme.example';
    const send = async (subject: string) => (await sendMail(h.router.smtpPort, { from: 'carol@acme.example', to: [to], raw: await h.signed('acme', 'carol@acme.example', to, subject) })).message!.text;
    assert.match(await send('no role'), /^550 5\.7\.1 /);
    const bound = await h.call('POST', '/v1/roles', { json: { tenant: 'acme', member: 'Carol@acme.example', roles: ['analyst'], note: 'Q4 reporting' } });
    assert.equal(bound.status, 201, bound.text);
    assert.deepEqual({ member: bound.json.member, roles: bound.json.roles, active: bound.json.active }, { member: 'carol@acme.example', roles: ['analyst'], active: true });
    assert.match(await send('with role'), /^250 /);
    const list = await h.call('GET', '/v1/roles?tenant=acme');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((b: { id: string }) => b.id), [bound.json.id]);
    assert.deepEqual(list.json.policy.members['alice@acme.example'], ['developer'], 'the tenant.yaml bindings are shown beside');
    assert.equal(list.json.policy.file, 'acme/tenant.yaml');
    assert.equal((await h.call('GET', `/v1/roles/${bound.json.id}`)).json.member, 'carol@acme.example');
    assert.equal((await h.call('DELETE', `/v1/roles/${bound.json.id}`)).status, 204);
    assert.match(await send('role removed'), /^550 5\.7\.1 /);
  });

  test('validation and security on the role routes', async () => {
    const bad = async (json: unknown) => assertProblem(await h.call('POST', '/v1/roles', { json }), 400, 'validation_failed');
    await bad({ tenant: 'acme', member: 'x@y.example', roles: ['wizard'] });
    await bad({ tenant: 'acme', member: 'x@y.example', roles: [] });
    await bad({ tenant: 'acme', member: 'role:analyst', roles: ['analyst'] });
    await bad({ tenant: 'acme', member: 'group:nope', roles: ['analyst'] });
    await bad({ tenant: 'acme', roles: ['analyst'] });
    const b = await h.call('POST', '/v1/roles', { json: { tenant: 'acme', member: 'group:ops', roles: ['developer', 'developer'] } });
    assert.equal(b.status, 201, b.text);
    assert.deepEqual(b.json.roles, ['developer']);
    assertProblem(await h.call('GET', '/v1/roles?tenant=acme', { token: null }), 401, 'unauthorized');
    assertProblem(await h.call('POST', '/v1/roles', { token: acmeReader, json: { member: 'x@y.example', roles: ['analyst'] } }), 403, 'forbidden');
    assertProblem(await h.call('DELETE', `/v1/roles/${b.json.id}`, { token: acmeReader }), 403, 'forbidden');
    assertProblem(await h.call('GET', `/v1/roles/${b.json.id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/roles/${b.json.id}`, { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/roles?tenant=acme', { token: globexAdmin }), 404, 'not_found');
    assertProblem(await h.call('POST', '/v1/roles', { token: globexAdmin, json: { tenant: 'acme', member: 'x@y.example', roles: ['analyst'] } }), 404, 'not_found');
    const own = await h.call('POST', '/v1/roles', { token: globexAdmin, json: { member: 'x@globex.example', roles: ['clerk'] } });
    assert.equal(own.status, 201, own.text);
    assert.equal(own.json.tenant, 'globex');
  });
});
