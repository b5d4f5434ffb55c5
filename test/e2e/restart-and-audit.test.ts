/**
 * Durability and tamper evidence end to end: a message accepted with 250 survives a restart
 * with its job; `intentmail audit verify` (the real CLI in a child process) passes, then fails
 * naming the first bad record once a row is changed, deleted or reordered in the database.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { sendMail } from '../helpers/smtp-client.ts';
import { withSql } from '../helpers/sql.ts';
import { makeKeys, makeZone, POLICY } from './fixtures.ts';

const keys = makeKeys();
const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let env: Record<string, string>;
let router: TestRouter | null = null;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('restart and audit verification', () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    env = {
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      INTENTMAIL_LOG_LEVEL: 'error',
      // Ingress only: this test is about what acceptance stores (jobs stay pending in the outbox)
      // and tampers with records at known positions, which step records would shift.
      INTENTMAIL_WORKER_CONCURRENCY: '0',
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    };
  });
  after(async () => {
    await router?.stop();
    await dns?.close();
    await db?.cleanup();
  });

  test('a message accepted with 250 and its job are still there after a restart', async () => {
    router = await startRouter(env);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const raw = await signMessage(buildMessage({ from: 'alice@acme.example', to: 'task.linear@in.acme.example', subject: `restart ${i}`, text: 'x' }), {
        domain: 'acme.example',
        selector: 'mail',
        privateKey: keys.acme.privateKey,
      });
      const t = await sendMail(router.smtpPort, { from: 'alice@acme.example', to: ['task.linear@in.acme.example'], raw });
      assert.equal(t.message?.code, 250, t.message?.text);
      ids.push(/as ([0-9a-f-]{36})/.exec(t.message!.text)![1]);
    }
    // A refusal is audited too.
    const spoof = buildMessage({ from: 'ceo@acme.example', to: 'task.linear@in.acme.example', subject: 'spoof', text: 'x' });
    const refused = await sendMail(router.smtpPort, { from: 'ceo@acme.example', to: ['task.linear@in.acme.example'], raw: spoof, localAddress: '127.0.0.2' });
    assert.match(refused.message!.text, /^550 5\.7\.26/);
    await router.stop();

    router = await startRouter(env);
    const store = await router.app.store();
    for (const id of ids) {
      assert.ok(await store.getMessage(id), `message ${id} survived`);
      assert.equal((await store.getJobForMessage(id))?.status, 'pending');
    }
    await router.stop();
    router = null;
  });

  test('audit verify passes on the untouched chain', () => {
    const r = cli('audit', 'verify');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /acme: \d+ record\(s\)/);
    assert.match(r.out, /^ok: /m);
  });

  test('a changed record is caught and named', async () => {
    await withSql(db, `UPDATE audit_records SET body = replace(body, '"refused"', '"accepted"') WHERE tenant = 'acme' AND seq = 6`);
    const r = cli('audit', 'verify');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /tenant acme, record #6/);
  });

  test('a deleted record is caught and named', async () => {
    await withSql(db, `UPDATE audit_records SET body = replace(body, '"accepted"', '"refused"') WHERE tenant = 'acme' AND seq = 6`);
    assert.equal(cli('audit', 'verify').code, 0, 'restored');
    const saved = await withSql(db, `SELECT * FROM audit_records WHERE tenant = 'acme' AND seq = 3`);
    assert.equal(saved.length, 1);
    await withSql(db, `DELETE FROM audit_records WHERE tenant = 'acme' AND seq = 3`);
    const r = cli('audit', 'verify');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /tenant acme, record #(3|4)/);
    await withSql(db, `INSERT INTO audit_records SELECT * FROM json_populate_record(NULL::audit_records, $json$${JSON.stringify(saved[0])}$json$::json)`);
    assert.equal(cli('audit', 'verify').code, 0, 'restored');
  });

  test('reordered records are caught', async () => {
    await withSql(db, `UPDATE audit_records SET seq = -4 WHERE tenant = 'acme' AND seq = 4`);
    await withSql(db, `UPDATE audit_records SET seq = 4 WHERE tenant = 'acme' AND seq = 5`);
    await withSql(db, `UPDATE audit_records SET seq = 5 WHERE tenant = 'acme' AND seq = -4`);
    const r = cli('audit', 'verify');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /FAILED: tenant acme, record #4/);
  });
});
