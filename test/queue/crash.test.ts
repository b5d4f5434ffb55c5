/**
 * kill -9 in the middle of a chain: `intentmail serve` (a child process) has run the first
 * webhook and is waiting on the second when it is killed. Started again, it finishes the chain:
 * the first webhook is not sent again, the second is sent again with the same webhook-id (the
 * receiver answered it once), and the third follows. Runs on PGlite and on PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer } from '../helpers/dns-server.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { writePolicyFolder } from '../helpers/router.ts';
import { makeZone } from '../e2e/fixtures.ts';
import { startReceiver, type Receiver } from '../steps/receiver.ts';
import { SECRET } from '../steps/fixtures.ts';
import { freePort, spawnCli, type CliProcess } from './processes.ts';
import { keys, send } from './world.ts';

const POLICY = {
  'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
  'acme/hook.three.yaml': `intent: hook.three
senders: ["@acme.example"]
steps:
  - name: a
    webhook: { url: "\${env.HOOK}/a", secret: "\${env.HOOK_SECRET}" }
  - name: b
    webhook: { url: "\${env.HOOK}/b", secret: "\${env.HOOK_SECRET}", timeout: 2s }
  - name: c
    webhook: { url: "\${env.HOOK}/c", secret: "\${env.HOOK_SECRET}" }
`,
};

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let recv: Receiver;
let serve: CliProcess | null = null;

describe('a worker killed mid-chain', () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    // The first delivery of step b never gets an answer: the worker is killed while it waits.
    recv = await startReceiver({ secrets: [SECRET], answer: (d, seen) => (d.path.endsWith('/b') && seen === 0 ? 'hang' : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"ok"}' }) });
  });
  after(async () => {
    await serve?.stop('SIGKILL');
    await recv?.close();
    await dns?.close();
    await db?.cleanup();
  });

  test('is started again and the chain finishes, each webhook answered once by id', async () => {
    const port = await freePort();
    const env = {
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      INTENTMAIL_SMTP_PORT: String(port),
      INTENTMAIL_HTTP_PORT: '0',
      INTENTMAIL_HOSTNAME: 'mx.intentmail.test',
      INTENTMAIL_LOG_LEVEL: 'info',
      INTENTMAIL_WORKER_RECOVERY_INTERVAL: '1',
      HOOK: recv.url,
      HOOK_SECRET: SECRET,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    };
    serve = spawnCli(['serve'], env);
    await serve.waitForLog((l) => l.msg === 'intentmail ready');
    const id = await send(port, 'hook.three@in.acme.example', 'crash me');
    await recv.waitFor((d) => d.some((x) => x.path.endsWith('/b')));
    assert.equal(recv.deliveries.filter((d) => d.path.endsWith('/a')).length, 1);
    serve.child.kill('SIGKILL');
    assert.equal(await serve.exited, 'SIGKILL');

    serve = spawnCli(['serve'], env);
    await serve.waitForLog((l) => l.msg === 'intentmail ready');
    await recv.waitFor((d) => d.some((x) => x.path.endsWith('/c')), 90_000);
    await serve.stop();
    serve = null;

    const answered = new Map<string, number>();
    for (const d of recv.deliveries) if (d.answered !== null && d.answered < 300) answered.set(d.id, (answered.get(d.id) ?? 0) + 1);
    assert.equal(answered.size, 3, 'three webhooks');
    assert.deepEqual([...answered.values()], [1, 1, 1], 'each answered once by id');
    const b = recv.deliveries.filter((d) => d.path.endsWith('/b'));
    assert.equal(b.length, 2, 'step b was sent again after the crash');
    assert.equal(b[0].id, b[1].id, 'with the same webhook-id');
    assert.equal(recv.deliveries.filter((d) => d.path.endsWith('/a')).length, 1, 'step a was not repeated');
    assert.ok(recv.deliveries.every((d) => d.verified));

    const status = spawnCli(['jobs', 'status', id, '--json'], env);
    assert.equal(await status.exited, 0);
    const p = JSON.parse(status.stdout()) as { status: string; steps: { name: string; status: string; attempts: number }[] };
    assert.equal(p.status, 'done');
    assert.deepEqual(p.steps.map((s) => [s.name, s.status, s.attempts]), [['a', 'done', 1], ['b', 'done', 2], ['c', 'done', 1]]);
  });
});
