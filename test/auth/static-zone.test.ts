/**
 * The declarative zone (tests, INTENTMAIL_DNS_ZONE overlay), its YAML form and file loader, and
 * the bridge that turns Resolver answers into what mailauth expects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadZoneFile } from '../../src/adapters/dns/zone-file.ts';
import { udpResolver } from '../../src/adapters/dns/udp-resolver.ts';
import { DnsLookupError, toMailauthResolver } from '../../src/auth/mailauth-resolver.ts';
import { parseZoneYaml, zoneResolver } from '../../src/auth/static-zone.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import type { DnsAnswer, Resolver } from '../../src/core/ports.ts';
import { startDnsServer } from '../helpers/dns-server.ts';

const isConfigError = (pattern: RegExp) => (err: unknown) => err instanceof IntentmailError && err.code === 'config_invalid' && pattern.test(err.message);

describe('zoneResolver', () => {
  const resolver = zoneResolver({
    'Acme.Example.': { TXT: 'v=spf1 -all', MX: ['10 mx.acme.example', { exchange: 'MX2.acme.example.', priority: 20 }], ttl: 60 },
    'multi.example': { TXT: [['v=spf1 ', 'a -all'], ['other']] },
    'chunks.example': { TXT: ['v=DKIM1; ', 'p=abc'] },
    'www.acme.example': { CNAME: 'acme.example' },
    'slow.example': { TIMEOUT: true },
    'half.example': { A: '192.0.2.1', TIMEOUT: true },
  });

  test('names are case-insensitive and the trailing dot is ignored', async () => {
    assert.deepEqual(await resolver.resolve('ACME.EXAMPLE.', 'TXT'), { status: 'ok', records: [['v=spf1 -all']], ttl: 60 });
  });

  test('TXT as a string, as chunks, or as several records; MX as text or objects', async () => {
    assert.deepEqual(await resolver.resolve('chunks.example', 'TXT'), { status: 'ok', records: [['v=DKIM1; ', 'p=abc']], ttl: 300 });
    assert.deepEqual(await resolver.resolve('multi.example', 'TXT'), { status: 'ok', records: [['v=spf1 ', 'a -all'], ['other']], ttl: 300 });
    assert.deepEqual(await resolver.resolve('acme.example', 'MX'), {
      status: 'ok',
      records: [
        { priority: 10, exchange: 'mx.acme.example' },
        { priority: 20, exchange: 'mx2.acme.example' },
      ],
      ttl: 60,
    });
  });

  test('absent name → nxdomain; present name without the type → nodata', async () => {
    assert.equal((await resolver.resolve('nothing.example', 'TXT')).status, 'nxdomain');
    assert.deepEqual(await resolver.resolve('acme.example', 'A'), { status: 'nodata', ttl: 60 });
  });

  test('a CNAME is followed for other types and answered for CNAME itself', async () => {
    assert.deepEqual(await resolver.resolve('www.acme.example', 'TXT'), { status: 'ok', records: [['v=spf1 -all']], ttl: 60 });
    assert.deepEqual(await resolver.resolve('www.acme.example', 'CNAME'), { status: 'ok', records: ['acme.example'], ttl: 300 });
  });

  test('TIMEOUT answers temperror for every type the entry has no records of', async () => {
    assert.equal((await resolver.resolve('slow.example', 'TXT')).status, 'temperror');
    assert.deepEqual(await resolver.resolve('half.example', 'A'), { status: 'ok', records: ['192.0.2.1'], ttl: 300 });
    assert.equal((await resolver.resolve('half.example', 'TXT')).status, 'temperror');
  });

  test('a fallback is consulted only for names the zone does not hold', async () => {
    const asked: string[] = [];
    const fallback: Resolver = {
      async resolve(name): Promise<DnsAnswer> {
        asked.push(name);
        return { status: 'ok', records: [['from fallback']], ttl: 10 };
      },
    };
    const overlay = zoneResolver({ 'acme.example': { TXT: 'from zone' }, 'alias.example': { CNAME: 'outside.example', ttl: 5 } }, fallback);
    assert.deepEqual(await overlay.resolve('acme.example', 'TXT'), { status: 'ok', records: [['from zone']], ttl: 300 });
    assert.deepEqual(await overlay.resolve('acme.example', 'A'), { status: 'nodata', ttl: 300 }, 'a zone name is authoritative');
    assert.deepEqual(await overlay.resolve('elsewhere.example', 'TXT'), { status: 'ok', records: [['from fallback']], ttl: 10 });
    assert.deepEqual(await overlay.resolve('alias.example', 'TXT'), { status: 'ok', records: [['from fallback']], ttl: 5 });
    assert.deepEqual(asked, ['elsewhere.example', 'outside.example']);
  });

  test('malformed zones are config errors', () => {
    assert.throws(() => zoneResolver({ 'a.example': { CNAME: 'b.example', TXT: 'x' } }), isConfigError(/CNAME/));
    assert.throws(() => zoneResolver({ 'a.example': { MX: 'mx.example' } }), isConfigError(/PREFERENCE HOST/));
    assert.throws(() => zoneResolver({ 'A.example': { A: '192.0.2.1' }, 'a.example.': { A: '192.0.2.2' } }), isConfigError(/twice/));
  });
});

describe('zone files (INTENTMAIL_DNS_ZONE)', () => {
  const yaml = `
acme.example:
  TXT: "v=spf1 ip4:192.0.2.0/24 -all"
  MX: "10 mx.acme.example"
  A: [192.0.2.1, 192.0.2.2]
_dmarc.acme.example:
  TXT: "v=DMARC1; p=reject"
  ttl: 60
sel._domainkey.acme.example:
  TXT: ["v=DKIM1; k=ed25519; ", "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
slow.acme.example:
  TIMEOUT: true
`;

  test('parseZoneYaml reads the documented shape', async () => {
    const resolver = zoneResolver(parseZoneYaml(yaml));
    assert.deepEqual(await resolver.resolve('_dmarc.acme.example', 'TXT'), { status: 'ok', records: [['v=DMARC1; p=reject']], ttl: 60 });
    assert.deepEqual(await resolver.resolve('acme.example', 'A'), { status: 'ok', records: ['192.0.2.1', '192.0.2.2'], ttl: 300 });
    assert.equal((await resolver.resolve('slow.acme.example', 'TXT')).status, 'temperror');
  });

  test('mistakes name the field', () => {
    assert.throws(() => parseZoneYaml('acme.example:\n  A: 999.1.1.1\n'), isConfigError(/acme\.example\.A/));
    assert.throws(() => parseZoneYaml('acme.example:\n  TXTT: x\n'), isConfigError(/acme\.example/));
    assert.throws(() => parseZoneYaml('acme.example:\n  TIMEOUT: false\n'), isConfigError(/TIMEOUT/));
    assert.throws(() => parseZoneYaml('acme.example: [unclosed\n'), isConfigError(/YAML/));
  });

  test('loadZoneFile as an overlay in front of real DNS: zone names locally, the rest from the server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'intentmail-zone-'));
    const server = await startDnsServer({ 'partner.example': { TXT: 'v=spf1 -all', ttl: 30 } });
    try {
      const path = join(dir, 'zone.yaml');
      writeFileSync(path, yaml);
      const overlay = zoneResolver(loadZoneFile(path), udpResolver({ servers: [`${server.host}:${server.port}`] }));
      assert.deepEqual(await overlay.resolve('_dmarc.acme.example', 'TXT'), { status: 'ok', records: [['v=DMARC1; p=reject']], ttl: 60 });
      assert.equal(server.queries, 0, 'zone names never reach the network');
      assert.deepEqual(await overlay.resolve('partner.example', 'TXT'), { status: 'ok', records: [['v=spf1 -all']], ttl: 30 });
      assert.equal(server.queries, 1);
      assert.throws(() => loadZoneFile(join(dir, 'missing.yaml')), isConfigError(/cannot read/));
      writeFileSync(path, 'acme.example:\n  A: nope\n');
      assert.throws(() => loadZoneFile(path), isConfigError(/zone\.yaml: .*acme\.example\.A/));
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('toMailauthResolver', () => {
  const answers: Record<string, DnsAnswer> = {
    'TXT ok.example': { status: 'ok', records: [['a', 'b']], ttl: 1 },
    'MX ok.example': { status: 'ok', records: [{ exchange: 'mx.ok.example', priority: 5 }], ttl: 1 },
    'TXT nx.example': { status: 'nxdomain', ttl: 1 },
    'TXT nodata.example': { status: 'nodata', ttl: 1 },
    'TXT slow.example': { status: 'temperror', reason: 'timeout after 127.0.0.1:53' },
    'TXT broken.example': { status: 'temperror', reason: 'DNS server answered SERVFAIL' },
  };
  const bridge = toMailauthResolver({ resolve: async (name, type) => answers[`${type} ${name}`] ?? { status: 'nxdomain', ttl: 0 } });
  const rejectsWith = (code: string) => (err: unknown) => err instanceof DnsLookupError && err instanceof Error && err.code === code;

  test('ok answers come back in dns.promises.resolve shapes', async () => {
    assert.deepEqual(await bridge('ok.example', 'TXT'), [['a', 'b']]);
    assert.deepEqual(await bridge('ok.example', 'MX'), [{ exchange: 'mx.ok.example', priority: 5 }]);
  });

  test('negative and temporary answers reject with the codes mailauth maps', async () => {
    await assert.rejects(bridge('nx.example', 'TXT'), rejectsWith('ENOTFOUND'));
    await assert.rejects(bridge('nodata.example', 'TXT'), rejectsWith('ENODATA'));
    await assert.rejects(bridge('slow.example', 'TXT'), rejectsWith('ETIMEOUT'));
    await assert.rejects(bridge('broken.example', 'TXT'), rejectsWith('ESERVFAIL'));
    await assert.rejects(bridge('ok.example', 'SRV'), rejectsWith('ENOTIMP'));
  });

  test('a resolver that throws despite the port contract becomes ESERVFAIL', async () => {
    const faulty = toMailauthResolver({ resolve: () => Promise.reject(new Error('bug')) });
    await assert.rejects(faulty('x.example', 'TXT'), rejectsWith('ESERVFAIL'));
  });
});
