/**
 * Hostile MIME from ../shared/testdata/mime/generated sent over SMTP: each is refused with a
 * clear reply (never accepted truncated), and the router still accepts good mail afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { sendMail } from '../helpers/smtp-client.ts';
import { makeKeys, makeZone, POLICY } from './fixtures.ts';

const GENERATED = new URL('../../../shared/testdata/mime/generated/', import.meta.url);
const haveData = existsSync(GENERATED);

/** What each generated file must get: accepted (within limits) or refused with this reply. */
const EXPECTED: Record<string, RegExp> = {
  'nested-depth-2000.eml': /^554 5\.6\.0 .*nesting/i,
  'nested-depth-50.eml': /^554 5\.6\.0 .*nesting/i,
  'wide-5000-parts.eml': /^554 5\.6\.0 .*parts/i,
  'wide-999-parts.eml': /^250 /,
  'header-2MiB-single-line.eml': /^554 5\.6\.0 .*header/i,
  'header-200k-folded-lines.eml': /^554 5\.6\.0 .*header/i,
  'headers-50000-fields.eml': /^554 5\.6\.0 .*header/i,
  'linkify-xn-chain.eml': /^250 /,
};

let router: TestRouter;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;

describe('hostile MIME over SMTP', { skip: haveData ? false : 'shared/testdata is absent' }, () => {
  before(async () => {
    dns = await startDnsServer(makeZone(makeKeys()));
    db = await testStoreOptions();
    router = await startRouter({
      INTENTMAIL_INTENTS: writePolicyFolder({ ...POLICY, 'acme/tenant.yaml': POLICY['acme/tenant.yaml'].replace('max_size: 1MB', 'max_size: 50MB') }),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    });
  });
  after(async () => {
    await router?.stop();
    await dns?.close();
    await db?.cleanup();
  });

  for (const file of haveData ? readdirSync(GENERATED).filter((f) => f.endsWith('.eml')) : []) {
    test(file, async () => {
      let text = readFileSync(new URL(file, GENERATED)).toString('latin1');
      // An SMTP client sends CRLF line endings (RFC 5321 §2.3.8); files on disk may use LF.
      if (!text.includes('\r\n')) text = text.replace(/\n/g, '\r\n');
      const t = await sendMail(router.smtpPort, { from: 'someone@partner.example', to: ['public.inbox@in.acme.example'], raw: text });
      const expected = EXPECTED[file];
      assert.ok(t.message, 'the server answered the message');
      if (expected) assert.match(t.message.text, expected);
      else assert.notEqual(t.message.code, 0, 'connection survived');
    });
  }

  test('the router is alive and accepts good mail afterwards', async () => {
    const raw = buildMessage({ from: 'someone@partner.example', to: 'public.inbox@in.acme.example', subject: 'still here', text: 'hello' });
    const t = await sendMail(router.smtpPort, { from: 'someone@partner.example', to: ['public.inbox@in.acme.example'], raw });
    assert.equal(t.message?.code, 250, t.message?.text);
  });
});
