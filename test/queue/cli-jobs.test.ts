/**
 * `intentmail jobs` in a child process, against the database a router left behind: the
 * dead-lettered step is listed with its reason, `redrive` puts it back in the outbox and is
 * audited, `status` shows the chain, and a running worker then finishes it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer } from '../helpers/dns-server.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { makeZone } from '../e2e/fixtures.ts';
import { startReceiver, type Receiver } from '../steps/receiver.ts';
import { SECRET } from '../steps/fixtures.ts';
import { spawnCli } from './processes.ts';
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

async function cli(...args: string[]): Promise<{ code: number | string; out: string }> {
  const p = spawnCli(['jobs', ...args], env);
  const code = await p.exited;
  return { code, out: p.stdout() };
}

describe('intentmail jobs', () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    recv = await startReceiver({ secrets: [SECRET] });
    env = {
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
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

  test('dead, redrive (audited), status; a worker then finishes the chain', async () => {
    // HOOK is not set: the step fails permanently and is dead-lettered.
    router = await startRouter(env);
    const id = await send(router.smtpPort, 'hook.plain@in.acme.example', 'no url yet');
    assert.equal((await settle(router, id)).status, 'dead');
    await router.stop();
    router = null;

    const dead = await cli('dead', '--tenant', 'acme');
    assert.equal(dead.code, 0);
    assert.match(dead.out, new RegExp(`${id}  acme/hook.plain  step 0 \\(webhook\\)  after 1 attempt\\(s\\), .*environment variable not set: HOOK`));
    assert.equal((await cli('redrive', id, '--step', '5')).code, 1, 'no dead step at that path');
    const redriven = await cli('redrive', id);
    assert.equal(redriven.code, 0, redriven.out);
    const status = await cli('status', id);
    assert.match(status.out, new RegExp(`message ${id} \\(acme/hook.plain\\): pending`));
    assert.match(status.out, /^ {2}0 +webhook +pending +attempts 0/m);

    router = await startRouter({ ...env, HOOK: recv.url });
    assert.equal((await settle(router, id)).status, 'done');
    assert.equal(recv.deliveries.length, 1);
    assert.ok(recv.deliveries[0].verified);
    const audit = (await (await router.app.store()).readAudit('acme', 0, 1000)).map((r) => r.event);
    const redrive = audit.find((e) => e.action.type === 'job.redrive');
    assert.ok(redrive, 'the re-drive is on the audit chain');
    assert.equal(redrive.action.target, id);
  });
});
