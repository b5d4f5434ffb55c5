/**
 * The DNS cache with a pinned clock: hits, expiry, TTL caps, negative caching, temperror never
 * cached, LRU eviction and in-flight sharing. No sleeping: time moves only when the test says.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cachingResolver } from '../../src/auth/caching-resolver.ts';
import { LIMITS } from '../../src/core/limits.ts';
import type { Clock, DnsAnswer, DnsType, Resolver } from '../../src/core/ports.ts';

class FixedClock implements Clock {
  ms = Date.UTC(2025, 0, 1);
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** An inner resolver answering from a script and counting questions. */
function scripted(answers: Record<string, DnsAnswer>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolve(name: string, type: DnsType): Promise<DnsAnswer> {
      calls.push(`${type} ${name}`);
      return answers[`${type} ${name.toLowerCase().replace(/\.$/, '')}`] ?? { status: 'nxdomain', ttl: 60 };
    },
  };
}

const txt = (value: string, ttl: number): DnsAnswer => ({ status: 'ok', records: [[value]], ttl });

describe('cachingResolver', () => {
  test('a hit is served from the cache with the remaining TTL; expiry asks again', async () => {
    const clock = new FixedClock();
    const inner = scripted({ 'TXT acme.example': txt('v=spf1 -all', 120) });
    const cache = cachingResolver(inner, clock);
    assert.deepEqual(await cache.resolve('acme.example', 'TXT'), txt('v=spf1 -all', 120));
    clock.advance(30);
    assert.deepEqual(await cache.resolve('ACME.example.', 'TXT'), txt('v=spf1 -all', 90), 'names are case-insensitive, the trailing dot ignored');
    assert.equal(inner.calls.length, 1);
    clock.advance(90);
    await cache.resolve('acme.example', 'TXT');
    assert.equal(inner.calls.length, 2, 'expired after its 120 s');
  });

  test('types are cached separately', async () => {
    const inner = scripted({ 'TXT acme.example': txt('a', 100), 'A acme.example': { status: 'ok', records: ['192.0.2.1'], ttl: 100 } });
    const cache = cachingResolver(inner, new FixedClock());
    await cache.resolve('acme.example', 'TXT');
    assert.deepEqual(await cache.resolve('acme.example', 'A'), { status: 'ok', records: ['192.0.2.1'], ttl: 100 });
    assert.equal(inner.calls.length, 2);
  });

  test(`positive TTLs are capped at DNS_CACHE_MAX_TTL_S (${LIMITS.DNS_CACHE_MAX_TTL_S} s)`, async () => {
    const clock = new FixedClock();
    const inner = scripted({ 'TXT acme.example': txt('long', 86_400) });
    const cache = cachingResolver(inner, clock);
    await cache.resolve('acme.example', 'TXT');
    clock.advance(LIMITS.DNS_CACHE_MAX_TTL_S - 1);
    await cache.resolve('acme.example', 'TXT');
    assert.equal(inner.calls.length, 1);
    clock.advance(2);
    await cache.resolve('acme.example', 'TXT');
    assert.equal(inner.calls.length, 2);
  });

  test(`NXDOMAIN and NODATA are cached for at most DNS_NEGATIVE_TTL_S (${LIMITS.DNS_NEGATIVE_TTL_S} s)`, async () => {
    const clock = new FixedClock();
    const inner = scripted({ 'TXT gone.example': { status: 'nxdomain', ttl: 86_400 }, 'MX empty.example': { status: 'nodata', ttl: 30 } });
    const cache = cachingResolver(inner, clock);
    assert.equal((await cache.resolve('gone.example', 'TXT')).status, 'nxdomain');
    assert.equal((await cache.resolve('empty.example', 'MX')).status, 'nodata');
    clock.advance(29);
    await cache.resolve('gone.example', 'TXT');
    await cache.resolve('empty.example', 'MX');
    assert.equal(inner.calls.length, 2, 'both still cached');
    clock.advance(2);
    await cache.resolve('empty.example', 'MX');
    assert.equal(inner.calls.length, 3, 'NODATA expired with its own 30 s TTL');
    clock.advance(LIMITS.DNS_NEGATIVE_TTL_S - 30);
    await cache.resolve('gone.example', 'TXT');
    assert.equal(inner.calls.length, 4, 'NXDOMAIN expired at the negative cap, not after a day');
  });

  test('temperror is never cached, and an answer with TTL 0 is not kept', async () => {
    const clock = new FixedClock();
    const inner = scripted({ 'TXT slow.example': { status: 'temperror', reason: 'timeout' }, 'TXT zero.example': txt('z', 0) });
    const cache = cachingResolver(inner, clock);
    assert.equal((await cache.resolve('slow.example', 'TXT')).status, 'temperror');
    assert.equal((await cache.resolve('slow.example', 'TXT')).status, 'temperror');
    await cache.resolve('zero.example', 'TXT');
    await cache.resolve('zero.example', 'TXT');
    assert.equal(inner.calls.length, 4);
  });

  test('a throwing inner resolver becomes a temperror (the port never throws)', async () => {
    const cache = cachingResolver(
      {
        resolve: () => Promise.reject(new Error('socket exploded')),
      },
      new FixedClock(),
    );
    const answer = await cache.resolve('acme.example', 'TXT');
    assert.equal(answer.status, 'temperror');
  });

  test('least recently used entries are evicted first', async () => {
    const inner = scripted({ 'TXT a.example': txt('a', 300), 'TXT b.example': txt('b', 300), 'TXT c.example': txt('c', 300) });
    const cache = cachingResolver(inner, new FixedClock(), { maxEntries: 2 });
    await cache.resolve('a.example', 'TXT');
    await cache.resolve('b.example', 'TXT');
    await cache.resolve('a.example', 'TXT'); // a is now the most recent
    await cache.resolve('c.example', 'TXT'); // evicts b
    assert.equal(inner.calls.length, 3);
    await cache.resolve('a.example', 'TXT');
    assert.equal(inner.calls.length, 3, 'a survived');
    await cache.resolve('b.example', 'TXT');
    assert.equal(inner.calls.length, 4, 'b was evicted');
  });

  test('identical concurrent questions share one in-flight look-up', async () => {
    let release!: (answer: DnsAnswer) => void;
    let calls = 0;
    const inner: Resolver = {
      resolve: () => {
        calls++;
        return new Promise<DnsAnswer>((resolve) => {
          release = resolve;
        });
      },
    };
    const cache = cachingResolver(inner, new FixedClock());
    const first = cache.resolve('acme.example', 'TXT');
    const second = cache.resolve('Acme.Example', 'TXT');
    assert.equal(calls, 1);
    release(txt('shared', 60));
    assert.deepEqual(await first, txt('shared', 60));
    assert.deepEqual(await second, txt('shared', 60));
    await cache.resolve('acme.example', 'TXT');
    assert.equal(calls, 1, 'and the result was cached');
  });

  test('a temperror in flight is shared too, then forgotten', async () => {
    let calls = 0;
    const inner: Resolver = {
      resolve: async () => {
        calls++;
        return { status: 'temperror', reason: 'timeout' };
      },
    };
    const cache = cachingResolver(inner, new FixedClock());
    await Promise.all([cache.resolve('x.example', 'TXT'), cache.resolve('x.example', 'TXT')]);
    assert.equal(calls, 1);
    await cache.resolve('x.example', 'TXT');
    assert.equal(calls, 2);
  });
});
