/**
 * The UDP/TCP DNS client against a real DNS server on loopback (test/helpers/dns-server.ts),
 * and against a hand-written hostile one for the anti-spoofing checks.
 */
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { parseDnsServer, systemDnsServers, udpResolver } from '../../src/adapters/dns/udp-resolver.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import type { DnsTestServer } from '../helpers/dns-server.ts';

const bigTxt = Array.from({ length: 12 }, (_, i) => [`record-${i}-${'x'.repeat(200)}`]);

describe('udpResolver against a real DNS server', () => {
  let server: DnsTestServer;
  let address: string;
  before(async () => {
    server = await startDnsServer({
      'acme.example': { TXT: 'v=spf1 ip4:192.0.2.0/24 -all', A: ['192.0.2.1', '192.0.2.2'], AAAA: '2001:db8::1', MX: ['10 mx1.acme.example', { exchange: 'mx2.acme.example', priority: 20 }], ttl: 120 },
      'chunked.acme.example': { TXT: ['v=DKIM1; k=rsa; ', 'p=MIIBIjAN'], ttl: 60 },
      'long.acme.example': { TXT: `v=DKIM1; k=rsa; p=${'A'.repeat(400)}` },
      'big.acme.example': { TXT: bigTxt },
      'legacy.acme.example': { SPF: 'v=spf1 -all' },
      'alias.acme.example': { CNAME: 'target.acme.example', ttl: 30 },
      'target.acme.example': { TXT: 'via cname', ttl: 600 },
      'empty.acme.example': { A: '192.0.2.9', ttl: 45 },
      '10.2.0.192.in-addr.arpa': { PTR: 'mail.acme.example' },
      'slow.acme.example': { TIMEOUT: true },
      'loop-a.acme.example': { CNAME: 'loop-b.acme.example' },
      'loop-b.acme.example': { CNAME: 'loop-a.acme.example' },
    });
    address = `${server.host}:${server.port}`;
  });
  after(() => server.close());

  test('TXT with its TTL; A, AAAA, MX and PTR in dns.promises.resolve shapes', async () => {
    const resolver = udpResolver({ servers: [address] });
    assert.deepEqual(await resolver.resolve('acme.example', 'TXT'), { status: 'ok', records: [['v=spf1 ip4:192.0.2.0/24 -all']], ttl: 120 });
    assert.deepEqual(await resolver.resolve('ACME.example.', 'A'), { status: 'ok', records: ['192.0.2.1', '192.0.2.2'], ttl: 120 });
    assert.deepEqual(await resolver.resolve('acme.example', 'AAAA'), { status: 'ok', records: ['2001:db8::1'], ttl: 120 });
    assert.deepEqual(await resolver.resolve('acme.example', 'MX'), {
      status: 'ok',
      records: [
        { priority: 10, exchange: 'mx1.acme.example' },
        { priority: 20, exchange: 'mx2.acme.example' },
      ],
      ttl: 120,
    });
    assert.deepEqual(await resolver.resolve('10.2.0.192.in-addr.arpa', 'PTR'), { status: 'ok', records: ['mail.acme.example'], ttl: 300 });
  });

  test('TXT character-strings are kept as chunks; data over 255 octets arrives split', async () => {
    const resolver = udpResolver({ servers: [address] });
    assert.deepEqual(await resolver.resolve('chunked.acme.example', 'TXT'), { status: 'ok', records: [['v=DKIM1; k=rsa; ', 'p=MIIBIjAN']], ttl: 60 });
    const long = await resolver.resolve('long.acme.example', 'TXT');
    assert.equal(long.status, 'ok');
    const chunks = (long as { records: string[][] }).records[0];
    assert.equal(chunks.length, 2);
    assert.equal(chunks.join(''), `v=DKIM1; k=rsa; p=${'A'.repeat(400)}`);
  });

  test('the historic SPF RR type (99) is decoded like TXT', async () => {
    const resolver = udpResolver({ servers: [address] });
    assert.deepEqual(await resolver.resolve('legacy.acme.example', 'SPF'), { status: 'ok', records: [['v=spf1 -all']], ttl: 300 });
  });

  test('NXDOMAIN carries the SOA negative TTL; an empty answer is NODATA with the SOA TTL', async () => {
    const resolver = udpResolver({ servers: [address] });
    assert.deepEqual(await resolver.resolve('nope.acme.example', 'TXT'), { status: 'nxdomain', ttl: 300 });
    assert.deepEqual(await resolver.resolve('empty.acme.example', 'TXT'), { status: 'nodata', ttl: 45 });
  });

  test('a CNAME chain in the answer is followed; the TTL is the smallest along it', async () => {
    const resolver = udpResolver({ servers: [address] });
    assert.deepEqual(await resolver.resolve('alias.acme.example', 'TXT'), { status: 'ok', records: [['via cname']], ttl: 30 });
    assert.deepEqual(await resolver.resolve('alias.acme.example', 'CNAME'), { status: 'ok', records: ['target.acme.example'], ttl: 30 });
  });

  test('an answer too big for UDP (TC set) is fetched again over TCP', async () => {
    const resolver = udpResolver({ servers: [address] });
    const before = server.queries;
    const answer = await resolver.resolve('big.acme.example', 'TXT');
    assert.equal(answer.status, 'ok');
    assert.deepEqual((answer as { records: string[][] }).records, bigTxt);
    assert.equal(server.queries - before, 2, 'one UDP question, then the same over TCP');
  });

  test('a server that never answers is a temperror within the budget, never "no record"', async () => {
    const resolver = udpResolver({ servers: [address], timeoutMs: 300 });
    const answer = await resolver.resolve('slow.acme.example', 'TXT');
    assert.equal(answer.status, 'temperror');
    assert.match((answer as { reason: string }).reason, /timeout/);
  });

  test('SERVFAIL from every server is a temperror', async () => {
    const resolver = udpResolver({ servers: [address], timeoutMs: 1000 });
    const answer = await resolver.resolve('loop-a.acme.example', 'TXT');
    assert.equal(answer.status, 'temperror');
    assert.match((answer as { reason: string }).reason, /SERVFAIL/);
  });

  test('a dead first server is skipped for the next one', async () => {
    const dead = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => dead.bind(0, '127.0.0.1', () => resolve()));
    try {
      const resolver = udpResolver({ servers: [`127.0.0.1:${dead.address().port}`, address], timeoutMs: 1000 });
      assert.deepEqual(await resolver.resolve('acme.example', 'AAAA'), { status: 'ok', records: ['2001:db8::1'], ttl: 120 });
    } finally {
      dead.close();
    }
  });
});

describe('udpResolver against a spoofing server', () => {
  test('replies with a wrong id, a wrong question, or from another port are ignored', async () => {
    const real = dgram.createSocket('udp4');
    const rogue = dgram.createSocket('udp4');
    await Promise.all([real, rogue].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()))));
    const reply = (query: DecodedPacket, overrides: { id?: number; name?: string; address: string }) =>
      dnsPacket.encode({
        type: 'response',
        id: overrides.id ?? query.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: [{ type: 'A', name: overrides.name ?? query.questions![0].name, class: 'IN' }],
        answers: [{ type: 'A', name: overrides.name ?? query.questions![0].name, ttl: 60, class: 'IN', data: overrides.address }],
      });
    real.on('message', (msg, rinfo) => {
      const query = dnsPacket.decode(msg);
      // An off-path attacker's guesses arrive first; the genuine answer comes last.
      rogue.send(reply(query, { address: '203.0.113.1' }), rinfo.port, rinfo.address);
      real.send(reply(query, { id: (query.id! + 1) % 65536, address: '203.0.113.2' }), rinfo.port, rinfo.address);
      real.send(reply(query, { name: 'other.acme.example', address: '203.0.113.3' }), rinfo.port, rinfo.address);
      real.send(Buffer.from('garbage'), rinfo.port, rinfo.address);
      setTimeout(() => real.send(reply(query, { address: '192.0.2.55' }), rinfo.port, rinfo.address), 20);
    });
    try {
      const resolver = udpResolver({ servers: [`127.0.0.1:${real.address().port}`], timeoutMs: 2000 });
      assert.deepEqual(await resolver.resolve('www.acme.example', 'A'), { status: 'ok', records: ['192.0.2.55'], ttl: 60 });
    } finally {
      real.close();
      rogue.close();
    }
  });
});

describe('DNS server addresses', () => {
  test('host[:port], [v6]:port and bare IPv6 parse; names and bad ports are config errors', () => {
    assert.deepEqual(parseDnsServer('192.0.2.53'), { host: '192.0.2.53', port: 53, family: 4 });
    assert.deepEqual(parseDnsServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353, family: 4 });
    assert.deepEqual(parseDnsServer('[2001:db8::53]:5353'), { host: '2001:db8::53', port: 5353, family: 6 });
    assert.deepEqual(parseDnsServer('2001:db8::53'), { host: '2001:db8::53', port: 53, family: 6 });
    for (const bad of ['dns.example', '127.0.0.1:0', '127.0.0.1:70000', '']) {
      assert.throws(() => parseDnsServer(bad), (err) => err instanceof IntentmailError && err.code === 'config_invalid', bad);
    }
    assert.throws(() => udpResolver({ servers: [] }), IntentmailError);
  });

  test('systemDnsServers lists the resolv.conf servers in a form udpResolver accepts', () => {
    const servers = systemDnsServers();
    for (const server of servers) assert.doesNotThrow(() => parseDnsServer(server), server);
  });
});
