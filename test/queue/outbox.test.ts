/**
 * Enqueue is atomic with acceptance: the accepted job is the outbox row, and the relay moves it
 * into the queue in one transaction with its status change. A process that dies after the 250
 * but before the queue, or after queueing but before running, loses nothing; relays racing over
 * the same rows queue each job once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startDnsServer } from '../helpers/dns-server.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { makeZone } from '../e2e/fixtures.ts';
import { silentLogger } from '../../src/core/ports.ts';
import { CHAIN_QUEUE, QUEUE_SCHEMA, startQueue } from '../../src/queue/boss.ts';
import { jobCounts } from '../../src/queue/control.ts';
import { relayPending } from '../../src/queue/relay.ts';
import { storeDriver } from '../../src/store/drizzle-store.ts';
import { resultRows } from '../../src/store/driver.ts';
import { startReceiver, type Receiver } from '../steps/receiver.ts';
import { SECRET } from '../steps/fixtures.ts';
import { keys, send, settle } from './world.ts';

const POLICY = {
  'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
  'acme/hook.plain.yaml': 'intent: hook.plain\nsenders: ["@acme.example"]\nsteps:\n  - webhook: { url: "${env.HOOK}", secret: "${env.HOOK_SECRET}" }\n',
};

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let recv: Receiver;
let env: Record<string, string>;
let router: TestRouter | null = null;

describe('outbox relay', () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    recv = await startReceiver({ secrets: [SECRET] });
    env = {
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      HOOK: recv.url,
      HOOK_SECRET: SECRET,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    };
  });
  after(async () => {
    await router?.stop();
    await recv?.close();
    await dns?.close();
    await db?.cleanup();
  });

  test('accepted with no queue running, relayed by racing relays, run after a restart: every webhook exactly once', async () => {
    router = await startRouter({ ...env, INTENTMAIL_WORKER_CONCURRENCY: '0' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await send(router.smtpPort, 'hook.plain@in.acme.example', `outbox ${i}`));
    const driver = storeDriver(await router.app.store());
    assert.deepEqual(await jobCounts(driver.db), { pending: 6 }, 'accepted, in the outbox, nothing queued');

    // Five relays race over the six rows, two rows per pass at most.
    const queue = await startQueue(driver, silentLogger);
    const moved = await Promise.all(Array.from({ length: 5 }, () => relayPending(driver.db, queue, 2)));
    const more = await relayPending(driver.db, queue, 2);
    assert.equal(moved.reduce((a, b) => a + b, 0) + more, 6);
    const queued = resultRows(await driver.db.execute(sql.raw(`SELECT count(*)::int AS n FROM ${QUEUE_SCHEMA}.job WHERE name = '${CHAIN_QUEUE}'`)));
    assert.equal(Number(queued[0].n), 6, 'one queue job per accepted job');
    assert.deepEqual(await jobCounts(driver.db), { queued: 6 });
    await queue.stop();

    // Two more accepted, then the process "dies" before its relay ran.
    for (let i = 6; i < 8; i++) ids.push(await send(router.smtpPort, 'hook.plain@in.acme.example', `outbox ${i}`));
    await router.stop();
    assert.equal(recv.deliveries.length, 0, 'nothing ran yet');

    router = await startRouter(env);
    for (const id of ids) assert.equal((await settle(router, id)).status, 'done');
    const byId = new Map<string, number>();
    for (const d of recv.deliveries) byId.set(d.id, (byId.get(d.id) ?? 0) + 1);
    assert.equal(byId.size, 8, 'one webhook per message');
    assert.ok([...byId.values()].every((n) => n === 1), 'none twice');
    assert.ok(recv.deliveries.every((d) => d.verified));
  });
});
