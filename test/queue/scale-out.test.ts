/**
 * Scale-out on one PostgreSQL: an ingress-only router accepts the mail, two `intentmail worker`
 * processes run the chains. Every step runs exactly once — one attempt per step row, one
 * delivery per webhook id — and both workers did part of the work. Needs a PostgreSQL server
 * (DATABASE_URL); PGlite is one process by design.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startDnsServer } from '../helpers/dns-server.ts';
import { onServer, testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { makeZone } from '../e2e/fixtures.ts';
import { jobCounts } from '../../src/queue/control.ts';
import { storeDriver } from '../../src/store/drizzle-store.ts';
import { resultRows } from '../../src/store/driver.ts';
import { startReceiver, type Receiver } from '../steps/receiver.ts';
import { SECRET } from '../steps/fixtures.ts';
import { spawnCli, type CliProcess } from './processes.ts';
import { keys, send } from './world.ts';

const POLICY = {
  'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
  'acme/hook.two.yaml':
    'intent: hook.two\nsenders: ["@acme.example"]\nsteps:\n  - name: first\n    webhook: { url: "${env.HOOK}/first", secret: "${env.HOOK_SECRET}" }\n  - name: second\n    webhook: { url: "${env.HOOK}/second", secret: "${env.HOOK_SECRET}" }\n',
};
const MESSAGES = 30;

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let recv: Receiver;
let router: TestRouter;
const workers: CliProcess[] = [];

describe('two worker processes on one PostgreSQL', { skip: onServer ? false : 'needs DATABASE_URL (PostgreSQL)' }, () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    recv = await startReceiver({ secrets: [SECRET] });
    const env = {
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      DATABASE_URL: db.databaseUrl!,
      HOOK: recv.url,
      HOOK_SECRET: SECRET,
    };
    router = await startRouter({ ...env, INTENTMAIL_WORKER_CONCURRENCY: '0' });
    for (let i = 0; i < 2; i++) workers.push(spawnCli(['worker'], { ...env, INTENTMAIL_WORKER_CONCURRENCY: '2', INTENTMAIL_LOG_LEVEL: 'info' }));
    for (const w of workers) await w.waitForLog((l) => l.msg === 'intentmail worker ready');
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await router?.stop();
    await recv?.close();
    await dns?.close();
    await db?.cleanup();
  });

  test('every step exactly once, and both workers took part', async () => {
    await Promise.all(Array.from({ length: MESSAGES }, (_, i) => send(router.smtpPort, 'hook.two@in.acme.example', `scale ${i}`)));
    const driver = storeDriver(await router.app.store());
    const end = Date.now() + 60_000;
    while ((await jobCounts(driver.db)).done !== MESSAGES) {
      assert.ok(Date.now() < end, `not all chains done: ${JSON.stringify(await jobCounts(driver.db))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids = new Map<string, number>();
    for (const d of recv.deliveries) ids.set(d.id, (ids.get(d.id) ?? 0) + 1);
    assert.equal(ids.size, MESSAGES * 2, 'one webhook id per step');
    assert.deepEqual([...new Set(ids.values())], [1], 'no webhook delivered twice');
    assert.ok(recv.deliveries.every((d) => d.verified));
    const attempts = resultRows(await driver.db.execute(sql`SELECT attempts, count(*)::int AS n FROM step_runs GROUP BY attempts`));
    assert.deepEqual(attempts.map((r) => [Number(r.attempts), Number(r.n)]), [[1, MESSAGES * 2]], 'no step attempted twice');
    const perWorker = workers.map((w) => w.logs.filter((l) => l.msg === 'step').length);
    assert.equal(perWorker[0] + perWorker[1], MESSAGES * 2);
    assert.ok(perWorker.every((n) => n > 0), `both workers ran steps: ${perWorker.join(' / ')}`);
  });
});
