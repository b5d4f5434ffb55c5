/**
 * The SMTP listener's transport guarantees: STARTTLS when a certificate is configured (and
 * only then), the connection cap, and the greeting and idle timeouts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { SmtpClient } from '../helpers/smtp-client.ts';
import { makeKeys, makeZone, POLICY } from './fixtures.ts';

const keys = makeKeys();
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let intents: string;

before(async () => {
  dns = await startDnsServer(makeZone(keys));
  db = await testStoreOptions();
  intents = writePolicyFolder(POLICY);
});
after(async () => {
  await dns?.close();
  await db?.cleanup();
});

function baseEnv(): Record<string, string> {
  return {
    INTENTMAIL_INTENTS: intents,
    INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    INTENTMAIL_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
  };
}

describe('STARTTLS', { skip: hasOpenssl ? false : 'openssl is not installed' }, () => {
  let router: TestRouter;
  let cert: Buffer;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'intentmail-tls-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=mx.intentmail.test', '-addext', 'subjectAltName=DNS:mx.intentmail.test']);
    assert.equal(r.status, 0, r.stderr?.toString());
    cert = readFileSync(join(dir, 'cert.pem'));
    router = await startRouter({ ...baseEnv(), INTENTMAIL_TLS_CERT: join(dir, 'cert.pem'), INTENTMAIL_TLS_KEY: join(dir, 'key.pem') });
  });
  after(() => router?.stop());

  test('advertised, upgrades, and the stored message records TLS', async () => {
    const { client } = await SmtpClient.connect(router.smtpPort);
    const ehlo = await client.cmd('EHLO client.test');
    assert.ok(ehlo.lines.includes('STARTTLS'), ehlo.text);
    assert.equal((await client.startTls({ ca: cert, servername: 'mx.intentmail.test' })).code, 220);
    const again = await client.cmd('EHLO client.test');
    assert.ok(!again.lines.includes('STARTTLS'), 'not offered twice');
    assert.equal((await client.cmd('MAIL FROM:<alice@acme.example>')).code, 250);
    assert.equal((await client.cmd('RCPT TO:<task.linear@in.acme.example>')).code, 250);
    const raw = await signMessage(buildMessage({ from: 'alice@acme.example', to: 'task.linear@in.acme.example', subject: 'over tls', text: 'x' }), { domain: 'acme.example', selector: 'mail', privateKey: keys.acme.privateKey });
    const [, reply] = await client.data(raw);
    assert.equal(reply?.code, 250, reply?.text);
    await client.quit();
    const id = /as ([0-9a-f-]{36})/.exec(reply!.text)![1];
    assert.equal((await (await router.app.store()).getMessage(id))?.tls, true);
  });
});

describe('connection limits and timeouts', () => {
  let router: TestRouter;
  before(async () => {
    router = await startRouter({ ...baseEnv(), INTENTMAIL_MAX_CONNECTIONS: '2' }, { timeouts: { greetingMs: 400, idleMs: 800 } });
  });
  after(() => router?.stop());

  test('no STARTTLS without a certificate', async () => {
    const { client } = await SmtpClient.connect(router.smtpPort);
    const ehlo = await client.cmd('EHLO client.test');
    assert.ok(!ehlo.lines.includes('STARTTLS'));
    await client.quit();
  });

  test('a connection over the cap is turned away with 421', async () => {
    const a = await SmtpClient.connect(router.smtpPort);
    const b = await SmtpClient.connect(router.smtpPort);
    assert.equal(a.greeting.code, 220);
    assert.equal(b.greeting.code, 220);
    const c = await SmtpClient.connect(router.smtpPort);
    assert.equal(c.greeting.code, 421, c.greeting.text);
    await a.client.quit();
    await b.client.quit();
    await sleep(100);
  });

  test('a client that never says EHLO is closed after the greeting timeout', async () => {
    const { client } = await SmtpClient.connect(router.smtpPort);
    const reply = await client.read();
    assert.equal(reply.code, 421, reply.text);
    assert.match(reply.text, /EHLO/);
  });

  test('an idle client is closed after the idle timeout', async () => {
    const { client } = await SmtpClient.connect(router.smtpPort);
    assert.equal((await client.cmd('EHLO client.test')).code, 250);
    const reply = await client.read();
    assert.equal(reply.code, 421, reply.text);
  });
});
