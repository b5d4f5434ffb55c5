/**
 * The run-time grants lookup the pipeline calls per message (AdminStore.runtimeGrants), on a
 * real database (PGlite, or PostgreSQL with DATABASE_URL) and a clock the test moves: intent
 * filtering, `*` entries, exact expiry, role bindings, invalidation on this node's writes and
 * the bounded staleness of another node's writes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../../src/core/audit-event.ts';
import { LIMITS } from '../../src/core/limits.ts';
import { silentLogger } from '../../src/core/ports.ts';
import { ed25519Signer, ed25519Verifier } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { applyMigrations, openDriver, type Driver } from '../../src/store/driver.ts';
import { DrizzleAdminStore } from '../../src/store/admin-store.ts';
import { DrizzleStore } from '../../src/store/drizzle-store.ts';
import type { AccessEntry } from '../../src/api/ports.ts';
import { TestClock, testStoreOptions } from '../helpers/db.ts';

let db: Awaited<ReturnType<typeof testStoreOptions>>;
let driver: Driver;
const clock = new TestClock(Date.parse('2026-01-01T00:00:00Z'));
const signer = ed25519Signer(new Uint8Array(32).fill(7));
const ctx = { signer, clock, checkpointEvery: 64, checkpointMaxAgeMs: 60_000, logger: silentLogger };
/** Two admin stores over one database: two router nodes. */
let nodeA: DrizzleAdminStore;
let nodeB: DrizzleAdminStore;
let store: DrizzleStore;

before(async () => {
  db = await testStoreOptions();
  driver = await openDriver(db);
  await applyMigrations(driver, db, silentLogger);
  nodeA = new DrizzleAdminStore(driver, ctx);
  nodeB = new DrizzleAdminStore(driver, ctx);
  store = new DrizzleStore(driver, ctx);
});
after(async () => {
  await driver?.close();
  await db?.cleanup();
});

function event(tenant: string, type: string): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: clock.now().toISOString(),
    tenant,
    actor: { email: 'token:test', verified: true, ip: null, helo: null },
    action: { type, target: null, intent: null, parameters: {} },
    authentication: null,
    authorization: { permitted: true, role: null, policy: null, reason: 'test' },
    result: { status: 'ok', resourceId: null },
  };
}

function entry(over: Partial<AccessEntry>): AccessEntry {
  return { id: randomUUID(), tenant: 'acme', kind: 'allow', intent: 'task.linear', sender: 'dave@partner.example', note: null, expiresAt: null, createdBy: 'token:test', createdAt: clock.now(), ...over };
}

describe('runtime grants', () => {
  test('entries apply to their intent or to every intent ("*"), per tenant, with role bindings merged', async () => {
    await nodeA.addEntry(entry({}), event('acme', 'api.allowlist.create'));
    await nodeA.addEntry(entry({ intent: '*', sender: '@partner.example' }), event('acme', 'api.allowlist.create'));
    await nodeA.addEntry(entry({ kind: 'deny', intent: 'export.data', sender: 'bob@acme.example' }), event('acme', 'api.deny.create'));
    await nodeA.addEntry(entry({ tenant: 'globex', intent: '*', sender: 'x@globex.example' }), event('globex', 'api.allowlist.create'));
    for (const roles of [['analyst'], ['developer', 'analyst']]) {
      clock.advance(1); // bindings merge in creation order
      await nodeA.addBinding({ id: randomUUID(), tenant: 'acme', member: 'carol@acme.example', roles, note: null, expiresAt: null, createdBy: 'token:test', createdAt: clock.now() }, event('acme', 'api.roles.create'));
    }
    const linear = await nodeA.runtimeGrants('acme', 'task.linear');
    assert.deepEqual({ allow: [...linear.allow].sort(), deny: linear.deny, roles: { ...linear.roles } }, { allow: ['@partner.example', 'dave@partner.example'], deny: [], roles: { 'carol@acme.example': ['analyst', 'developer'] } });
    const exportGrants = await nodeA.runtimeGrants('acme', 'export.data');
    assert.deepEqual([exportGrants.allow, exportGrants.deny], [['@partner.example'], ['bob@acme.example']]);
    assert.deepEqual((await nodeA.runtimeGrants('globex', 'ticket.open')).allow, ['x@globex.example']);
    const none = await nodeA.runtimeGrants('initech', 'x');
    assert.deepEqual([none.allow, none.deny, Object.keys(none.roles)], [[], [], []]);
  });

  test('an entry stops applying at its expiry, even from the cache', async () => {
    const e = entry({ intent: 'notes.drop', sender: 'temp@partner.example', expiresAt: new Date(clock.now().getTime() + 1000) });
    await nodeA.addEntry(e, event('acme', 'api.allowlist.create'));
    assert.ok((await nodeA.runtimeGrants('acme', 'notes.drop')).allow.includes('temp@partner.example'));
    clock.advance(999);
    assert.ok((await nodeA.runtimeGrants('acme', 'notes.drop')).allow.includes('temp@partner.example'), 'still valid 1 ms before');
    clock.advance(1);
    assert.ok(!(await nodeA.runtimeGrants('acme', 'notes.drop')).allow.includes('temp@partner.example'), 'gone at expiry');
  });

  test('this node\'s writes apply at once; another node\'s within GRANTS_CACHE_MS', async () => {
    await nodeA.runtimeGrants('acme', 'public.inbox');
    await nodeB.runtimeGrants('acme', 'public.inbox');
    const e = entry({ kind: 'deny', intent: 'public.inbox', sender: '*' });
    await nodeA.addEntry(e, event('acme', 'api.deny.create'));
    assert.deepEqual((await nodeA.runtimeGrants('acme', 'public.inbox')).deny, ['*'], 'writer sees it at once');
    assert.deepEqual((await nodeB.runtimeGrants('acme', 'public.inbox')).deny, [], 'the other node still has its cached read');
    clock.advance(LIMITS.GRANTS_CACHE_MS);
    assert.deepEqual((await nodeB.runtimeGrants('acme', 'public.inbox')).deny, ['*'], 'and sees it once the cache ages out');

    const outcome = await nodeA.deleteEntry(e.id, () => event('acme', 'api.deny.delete'));
    assert.equal(outcome.status, 'changed');
    assert.deepEqual((await nodeA.runtimeGrants('acme', 'public.inbox')).deny, []);
    assert.equal((await nodeA.deleteEntry(e.id, () => event('acme', 'api.deny.delete'))).status, 'missing');
  });

  test('every change committed its audit record and the chains verify', async () => {
    const records = await store.readAudit('acme', 0, 100);
    assert.deepEqual(
      records.map((r) => r.event.action.type),
      ['api.allowlist.create', 'api.allowlist.create', 'api.deny.create', 'api.roles.create', 'api.roles.create', 'api.allowlist.create', 'api.deny.create', 'api.deny.delete'],
    );
    await store.checkpoint('acme');
    const report = await verifyAudit(store, ed25519Verifier({ [signer.keyId]: signer.publicKey }));
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  });
});
