/**
 * Key files named in tenant.yaml are imported into the tenant's key store when the router
 * starts, and read by `key.smime` facts; a missing password variable stops start-up by name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDnsServer } from '../helpers/dns-server.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder } from '../helpers/router.ts';
import { makeChain, makePkcs12 } from '../secure/helpers/pki.ts';
import { makeKeys, makeZone, POLICY } from './fixtures.ts';

const TENANT_KEYS = `
keys:
  - file: keys/ca.pem
  - file: keys/partner.pem
  - file: keys/signing.p12
    password: "\${env.ACME_P12_PASSWORD}"
`;

describe('key files in tenant.yaml', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let db: Awaited<ReturnType<typeof testStoreOptions>>;
  let intents: string;

  before(async () => {
    dns = await startDnsServer(makeZone(makeKeys()));
    db = await testStoreOptions();
    intents = writePolicyFolder({ ...POLICY, 'acme/tenant.yaml': POLICY['acme/tenant.yaml'] + TENANT_KEYS });
    const partner = makeChain('partner@partner.example');
    const own = makeChain('intentmail@in.acme.example');
    mkdirSync(join(intents, 'acme/keys'));
    writeFileSync(join(intents, 'acme/keys/ca.pem'), partner.ca.pem);
    writeFileSync(join(intents, 'acme/keys/partner.pem'), partner.leaf.pem);
    writeFileSync(join(intents, 'acme/keys/signing.p12'), makePkcs12(own.leaf, [own.ca], 'p12-secret'));
  });
  after(async () => {
    await dns?.close();
    await db?.cleanup();
  });

  const env = () => ({
    INTENTMAIL_INTENTS: intents,
    INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    INTENTMAIL_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
  });

  test('a missing password variable stops start-up naming it', async () => {
    await assert.rejects(startRouter(env()), /ACME_P12_PASSWORD/);
  });

  test('imported at start-up: the partner has an S/MIME key, others do not', async () => {
    const router = await startRouter({ ...env(), ACME_P12_PASSWORD: 'p12-secret' });
    try {
      assert.equal((await router.running.chain.keyPresence('acme', 'partner@partner.example')).smime, 'present');
      assert.equal((await router.running.chain.keyPresence('acme', 'stranger@partner.example')).smime, 'missing');
    } finally {
      await router.stop();
    }
  });
});
