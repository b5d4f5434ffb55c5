/**
 * API tokens (create, use, list, revoke, expire; no privilege escalation), the unauthenticated
 * surface (/healthz, /docs with local assets, problem details for unknown routes and wrong
 * methods), the per-token rate limit, and the OpenAPI 3.1 document: structurally valid, and
 * covering every route the running app serves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServing } from '../../src/app/compose.ts';
import { assertProblem, startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.stop());

const TOKEN_FORMAT = /^im_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

describe('tokens', () => {
  test('created once with its text, stored hashed, usable, listed without secrets, revoked at once', async () => {
    const created = await h.call('POST', '/v1/tokens', { json: { name: 'helpdesk', tenant: 'acme', scopes: ['allowlist:read', 'allowlist:write'] } });
    assert.equal(created.status, 201, created.text);
    const m = TOKEN_FORMAT.exec(created.json.token);
    assert.ok(m, created.json.token);
    assert.equal(created.json.id, m[1]);
    assert.deepEqual({ name: created.json.name, tenant: created.json.tenant, scopes: created.json.scopes, active: created.json.active, createdBy: created.json.createdBy }, {
      name: 'helpdesk',
      tenant: 'acme',
      scopes: ['allowlist:read', 'allowlist:write'],
      active: true,
      createdBy: 'token:bootstrap',
    });
    const stored = await (await h.router.app.admin()).findToken(created.json.id);
    assert.equal(stored?.secretHash, createHash('sha256').update(m[2]).digest('hex'), 'only the SHA-256 of the secret is stored');

    const tok = created.json.token as string;
    assert.equal((await h.call('GET', '/v1/allowlist', { token: tok })).status, 200);
    const list = await h.call('GET', '/v1/tokens');
    assert.equal(list.status, 200);
    const row = list.json.items.find((t: { id: string }) => t.id === created.json.id);
    assert.ok(row);
    assert.equal(row.token, undefined);
    assert.ok(!list.text.includes(m[2]) && !list.text.includes(stored!.secretHash), 'no secret and no hash in the list');

    const tampered = `${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}`;
    assertProblem(await h.call('GET', '/v1/allowlist', { token: tampered }), 401, 'unauthorized');

    assert.equal((await h.call('DELETE', `/v1/tokens/${created.json.id}`)).status, 204);
    assertProblem(await h.call('GET', '/v1/allowlist', { token: tok }), 401, 'unauthorized');
    const after = await h.call('GET', '/v1/tokens?tenant=acme');
    const revoked = after.json.items.find((t: { id: string }) => t.id === created.json.id);
    assert.equal(revoked.active, false);
    assert.match(revoked.revokedAt, /^\d{4}-/);

    const audit = await h.call('GET', '/v1/audit?tenant=acme&type=api.token.revoke');
    assert.equal(audit.json.items.length, 1);
    assert.equal(audit.json.items[0].event.action.parameters.before.active, true);
    assert.equal(audit.json.items[0].event.action.parameters.after.active, false);
  });

  test('an expired token is refused', async () => {
    const expiresAt = new Date(Date.now() + 1000).toISOString();
    const { token } = await h.token({ tenant: 'acme', scopes: ['intents:read'], expiresAt });
    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 50);
    assertProblem(await h.call('GET', '/v1/intents', { token }), 401, 'unauthorized');
  });

  test('no escalation: a token grants only scopes it holds, for its own tenant', async () => {
    const acmeAdmin = (await h.token({ tenant: 'acme', scopes: ['tokens:read', 'tokens:write', 'allowlist:read'] })).token;
    const child = await h.call('POST', '/v1/tokens', { token: acmeAdmin, json: { name: 'child', scopes: ['allowlist:read'] } });
    assert.equal(child.status, 201, child.text);
    assert.equal(child.json.tenant, 'acme', 'a tenant-bound caller may omit the tenant');
    const more = await h.call('POST', '/v1/tokens', { token: acmeAdmin, json: { name: 'x', scopes: ['allowlist:write'] } });
    assertProblem(more, 403, 'forbidden');
    assert.deepEqual(more.json.missingScopes, ['allowlist:write']);
    assertProblem(await h.call('POST', '/v1/tokens', { token: acmeAdmin, json: { name: 'x', tenant: null, scopes: ['allowlist:read'] } }), 403, 'forbidden');
    assertProblem(await h.call('POST', '/v1/tokens', { token: acmeAdmin, json: { name: 'x', tenant: 'globex', scopes: ['allowlist:read'] } }), 404, 'not_found');

    const globexToken = await h.token({ tenant: 'globex', scopes: ['tokens:read'] });
    const allTenants = await h.token({ tenant: null, scopes: ['audit:read'] });
    const seen = await h.call('GET', '/v1/tokens', { token: acmeAdmin });
    assert.ok(seen.json.items.every((t: { tenant: string }) => t.tenant === 'acme'), 'a tenant token lists its tenant\'s tokens only');
    assertProblem(await h.call('GET', '/v1/tokens?tenant=globex', { token: acmeAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/tokens/${globexToken.id}`, { token: acmeAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', `/v1/tokens/${allTenants.id}`, { token: acmeAdmin }), 404, 'not_found');
    assertProblem(await h.call('DELETE', '/v1/tokens/bootstrap'), 404, 'not_found');
    assert.equal((await h.call('GET', '/v1/tokens', { token: globexToken.token })).status, 200, 'not revoked');

    // The all-tenant token's creation is on the _system chain, a tenant token's on its tenant's.
    const system = await h.call('GET', '/v1/audit?tenant=_system&type=api.token.create');
    assertProblem(system, 404, 'not_found');
    const store = await h.router.app.store();
    const sys = await store.readAudit('_system', 0, 100);
    assert.ok(sys.some((r) => r.event.action.type === 'api.token.create' && r.event.result.resourceId === allTenants.id));
  });

  test('validation errors and security on the token routes', async () => {
    const bad = async (json: unknown) => assertProblem(await h.call('POST', '/v1/tokens', { json }), 400, 'validation_failed');
    await bad({ name: 'x', tenant: 'acme', scopes: [] });
    await bad({ name: 'x', tenant: 'acme', scopes: ['root'] });
    await bad({ name: '', tenant: 'acme', scopes: ['inbound'] });
    await bad({ name: 'x', scopes: ['inbound'] });
    await bad({ name: 'x', tenant: 'acme', scopes: ['inbound'], expiresAt: '2000-01-01T00:00:00Z' });
    await bad({ name: 'x', tenant: 'acme', scopes: ['inbound'], secret: 'mine' });
    assertProblem(await h.call('POST', '/v1/tokens', { json: { name: 'x', tenant: 'nosuch', scopes: ['inbound'] } }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/tokens', { token: null }), 401, 'unauthorized');
    assertProblem(await h.call('POST', '/v1/tokens', { token: null, json: { name: 'x', scopes: ['inbound'] } }), 401, 'unauthorized');
    assertProblem(await h.call('DELETE', '/v1/tokens/0000000000000000', { token: null }), 401, 'unauthorized');
    const weak = (await h.token({ tenant: 'acme', scopes: ['inbound'] })).token;
    assertProblem(await h.call('GET', '/v1/tokens', { token: weak }), 403, 'forbidden');
    assertProblem(await h.call('POST', '/v1/tokens', { token: weak, json: { name: 'x', scopes: ['inbound'] } }), 403, 'forbidden');
    assertProblem(await h.call('DELETE', '/v1/tokens/0000000000000000', { token: weak }), 403, 'forbidden');
    assertProblem(await h.call('DELETE', '/v1/tokens/0000000000000000'), 404, 'not_found');
  });
});

describe('unauthenticated surface and limits', () => {
  test('/healthz, unknown routes 404 and wrong methods 405 as problem details', async () => {
    const health = await h.call('GET', '/healthz', { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok', database: true });
    assertProblem(await h.call('GET', '/nope', { token: null }), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/nope'), 404, 'not_found');
    assertProblem(await h.call('GET', '/v1/nope', { token: null }), 401, 'unauthorized');
    const wrong = await h.call('DELETE', '/healthz', { token: null });
    assertProblem(wrong, 405, 'method_not_allowed');
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const put = await h.call('PUT', '/v1/allowlist');
    assertProblem(put, 405, 'method_not_allowed');
    assert.equal(put.headers.get('allow'), 'GET, HEAD, POST');
  });

  test('/docs renders Swagger UI from local files only', async () => {
    const page = await h.call('GET', '/docs', { token: null });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length >= 3);
    for (const ref of refs) {
      assert.match(ref, /^\/docs\//, 'no CDN');
      const asset = await fetch(`${h.base}${ref}`);
      assert.equal(asset.status, 200, ref);
      assert.ok((await asset.arrayBuffer()).byteLength > 0);
    }
    const init = await h.call('GET', '/docs/init.js', { token: null });
    assert.match(init.text, /url: '\/openapi\.json'/);
    assertProblem(await h.call('GET', '/docs/../package.json', { token: null }), 404, 'not_found');
    assertProblem(await h.call('GET', '/docs/index.html', { token: null }), 400, 'validation_failed');
  });

  test('per-token rate limit: 429 with Retry-After once the bucket is empty, other tokens unaffected', async () => {
    const limited = await startServing(h.router.app, { apiRateLimit: { burst: 3, perSecond: 0.5 } });
    try {
      const base = `http://127.0.0.1:${limited.http.port}`;
      const get = (token: string) => fetch(`${base}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
      const one = (await h.token({ tenant: 'acme', scopes: ['intents:read'] })).token;
      const two = (await h.token({ tenant: 'acme', scopes: ['intents:read'] })).token;
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(one)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const res = await get(one);
      assert.equal(res.status, 429);
      const body = (await res.json()) as { code: string; retryAfterSeconds: number };
      assert.equal(body.code, 'api_rate_limited');
      assert.equal(res.headers.get('retry-after'), String(body.retryAfterSeconds));
      assert.equal((await get(two)).status, 200);
    } finally {
      await limited.close();
    }
  });
});

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Structural checks of an OpenAPI 3.1 document (OAS 3.1.0 §4.8): the fields and references a client relies on. */
function structuralProblems(doc: Json): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  need(typeof doc.openapi === 'string' && /^3\.1\.\d+$/.test(doc.openapi), 'openapi is 3.1.x');
  const info = doc.info as Json | undefined;
  need(typeof info?.title === 'string' && typeof info?.version === 'string', 'info.title and info.version');
  const paths = doc.paths as Record<string, Json>;
  need(typeof paths === 'object' && paths !== null, 'paths');
  const components = (doc.components ?? {}) as Json;
  const schemes = (components.securitySchemes ?? {}) as Json;
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(paths ?? {})) {
    need(path.startsWith('/'), `${path}: starts with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [key, op] of Object.entries(item)) {
      if (!METHODS.includes(key)) {
        need(['parameters', 'summary', 'description', 'servers', '$ref'].includes(key), `${path}: unknown key ${key}`);
        continue;
      }
      const o = op as Json;
      const where = `${key.toUpperCase()} ${path}`;
      if (typeof o.operationId === 'string') {
        need(!operationIds.has(o.operationId), `${where}: operationId unique`);
        operationIds.add(o.operationId);
      }
      const responses = o.responses as Record<string, Json> | undefined;
      need(responses !== undefined && Object.keys(responses).length > 0, `${where}: has responses`);
      for (const [code, r] of Object.entries(responses ?? {})) {
        need(/^([1-5]\d\d|[1-5]XX|default)$/.test(code), `${where}: response key ${code}`);
        need(typeof r.description === 'string', `${where}: response ${code} has a description`);
        for (const [type, media] of Object.entries((r.content ?? {}) as Record<string, Json>)) need(/^[\w.+-]+\/[\w.+-]+$/.test(type) && typeof media.schema === 'object', `${where}: ${code} ${type} has a schema`);
      }
      const params = (o.parameters ?? []) as Json[];
      for (const p of params) {
        need(typeof p.name === 'string' && ['query', 'header', 'path', 'cookie'].includes(p.in as string), `${where}: parameter name and in`);
        need(typeof p.schema === 'object' || typeof p.content === 'object', `${where}: parameter ${String(p.name)} has a schema`);
        if (p.in === 'path') need(p.required === true && templated.includes(p.name as string), `${where}: path parameter ${String(p.name)} required and templated`);
      }
      for (const name of templated) need(params.some((p) => p.in === 'path' && p.name === name), `${where}: {${name}} is declared`);
      const body = o.requestBody as Json | undefined;
      if (body) {
        const content = (body.content ?? {}) as Record<string, Json>;
        need(Object.keys(content).length > 0 && Object.values(content).every((m) => typeof m.schema === 'object'), `${where}: request body content with schemas`);
      }
      for (const req of (o.security ?? doc.security ?? []) as Json[]) for (const name of Object.keys(req)) need(name in schemes, `${where}: security scheme ${name} is defined`);
    }
  }
  const refs: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.push(x);
        else walk(x);
      }
    }
  };
  walk(doc);
  for (const ref of refs) {
    const target = ref.startsWith('#/') ? ref.slice(2).split('/').reduce<unknown>((node, part) => (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc) : undefined;
    need(target !== undefined, `$ref ${ref} resolves`);
  }
  return problems;
}

describe('OpenAPI', () => {
  test('the document is a structurally valid OpenAPI 3.1 document', async () => {
    const r = await h.call('GET', '/openapi.json', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(structuralProblems(r.json), []);
    assert.equal(r.json.components.securitySchemes.bearer.scheme, 'bearer');
    assert.ok(r.json.components.schemas.Problem, 'the problem schema is a component');
    // Spot check: the allowlist contract of interface.md.
    const post = r.json.paths['/v1/allowlist'].post;
    const schema = post.requestBody.content['application/json'].schema;
    const resolved = schema.$ref ? r.json.components.schemas[schema.$ref.split('/').pop()] : schema;
    assert.deepEqual(Object.keys(resolved.properties).sort(), ['expiresAt', 'intent', 'note', 'sender', 'tenant']);
    assert.deepEqual(resolved.required.sort(), ['intent', 'sender']);
    assert.ok(post.responses['201']);
    assert.ok(r.json.paths['/v1/allowlist/{id}'].delete.responses['204']);
  });

  test('every route the running app serves is in the document, and every documented operation is served', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const served = h.router.running.api.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
    assert.ok(served.length >= 30, `${served.length} routes`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m} ${path}`));
    const missing = served.filter((s) => !documented.includes(s));
    assert.deepEqual(missing, [], 'served but not documented');
    const unserved = documented.filter((d) => !served.includes(d));
    assert.deepEqual(unserved, [], 'documented but not served');
    // And each documented operation answers over HTTP as a route, not as "no route" (404 not_found for a path).
    for (const op of documented) {
      const [method, path] = op.split(' ');
      const concrete = path.replace('{file}', 'init.js').replace(/\{[^}]+\}/g, 'x');
      const res = await fetch(`${h.base}${concrete}`, { method: method.toUpperCase() });
      const text = await res.text();
      assert.ok(!(res.status === 404 && text.includes('No route for')) && res.status !== 405, `${op} is served (${res.status})`);
    }
  });
});
