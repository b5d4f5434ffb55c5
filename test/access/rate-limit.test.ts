/**
 * Fixed-window rate limits with a pinned clock. The two store methods are stood in for by a
 * tiny in-memory counter (the database implementation has its own suite in test/store); it
 * records the windows it is asked for, so alignment is checked on what the store receives.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checkRateLimit, rateLimitKey } from '../../src/access/rate-limit.ts';
import type { Clock } from '../../src/core/ports.ts';
import type { Store } from '../../src/core/store-port.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import type { Rate } from '../../src/policy/types.ts';

class MemoryCounters implements Pick<Store, 'hitRateLimit' | 'peekRateLimit'> {
  readonly counts = new Map<string, number>();
  readonly calls: Array<{ op: 'hit' | 'peek'; key: string; windowStart: string; expiresAt?: string }> = [];

  async hitRateLimit(key: string, windowStart: Date, expiresAt: Date): Promise<number> {
    this.calls.push({ op: 'hit', key, windowStart: windowStart.toISOString(), expiresAt: expiresAt.toISOString() });
    const k = `${key}|${windowStart.toISOString()}`;
    const n = (this.counts.get(k) ?? 0) + 1;
    this.counts.set(k, n);
    return n;
  }

  async peekRateLimit(key: string, windowStart: Date): Promise<number> {
    this.calls.push({ op: 'peek', key, windowStart: windowStart.toISOString() });
    return this.counts.get(`${key}|${windowStart.toISOString()}`) ?? 0;
  }
}

class FixedClock implements Clock {
  ms: number;
  constructor(iso: string) {
    this.ms = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.ms);
  }
}

const HOUR = 3_600_000;
const threePerHour: Rate = { count: 3, windowMs: HOUR, text: '3/hour' };

describe('rateLimitKey', () => {
  test('lower-cases intent and sender and escapes separators so keys cannot collide', () => {
    assert.equal(rateLimitKey('acme', 'Task.Linear', 'Alice@ACME.example'), 'rate:acme:task.linear:alice%40acme.example');
    assert.notEqual(rateLimitKey('a:b', 'c', 'd@x'), rateLimitKey('a', 'b:c', 'd@x'));
  });
});

describe('checkRateLimit', () => {
  test('windows are aligned to multiples of the window length', async () => {
    const store = new MemoryCounters();
    const clock = new FixedClock('2025-07-01T10:17:42.123Z');
    await checkRateLimit(store, clock, 'k', threePerHour);
    assert.deepEqual(store.calls[0], { op: 'hit', key: 'k', windowStart: '2025-07-01T10:00:00.000Z', expiresAt: '2025-07-01T11:00:00.000Z' });
    const fiveMin: Rate = { count: 1, windowMs: 5 * 60_000, text: '1/5m' };
    await checkRateLimit(store, clock, 'k', fiveMin);
    assert.deepEqual(store.calls[1], { op: 'hit', key: 'k', windowStart: '2025-07-01T10:15:00.000Z', expiresAt: '2025-07-01T10:20:00.000Z' });
  });

  test('allows up to the limit, then refuses with the time to the window end', async () => {
    const store = new MemoryCounters();
    const clock = new FixedClock('2025-07-01T10:45:00.000Z');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await checkRateLimit(store, clock, 'k', threePerHour));
    assert.deepEqual(results.map((r) => [r.allowed, r.count, r.limit, r.retryAfterMs]), [
      [true, 1, 3, 0],
      [true, 2, 3, 0],
      [true, 3, 3, 0],
      [false, 4, 3, 15 * 60_000],
    ]);
    clock.ms = Date.parse('2025-07-01T10:59:59.999Z');
    assert.deepEqual(await checkRateLimit(store, clock, 'k', threePerHour), { allowed: false, count: 5, limit: 3, retryAfterMs: 1 });
    // The next window starts from zero.
    clock.ms = Date.parse('2025-07-01T11:00:00.000Z');
    assert.deepEqual(await checkRateLimit(store, clock, 'k', threePerHour), { allowed: true, count: 1, limit: 3, retryAfterMs: 0 });
  });

  test('counters are per key', async () => {
    const store = new MemoryCounters();
    const clock = new FixedClock('2025-07-01T10:00:00.000Z');
    const one: Rate = { count: 1, windowMs: HOUR, text: '1/hour' };
    assert.equal((await checkRateLimit(store, clock, rateLimitKey('acme', 'task.linear', 'a@x.example'), one)).allowed, true);
    assert.equal((await checkRateLimit(store, clock, rateLimitKey('acme', 'task.linear', 'b@x.example'), one)).allowed, true);
    assert.equal((await checkRateLimit(store, clock, rateLimitKey('acme', 'task.linear', 'A@X.example'), one)).allowed, false);
  });

  test('dryRun reads the counter and does not count', async () => {
    const store = new MemoryCounters();
    const clock = new FixedClock('2025-07-01T10:30:00.000Z');
    for (let i = 0; i < 2; i++) await checkRateLimit(store, clock, 'k', threePerHour);
    const dry = await checkRateLimit(store, clock, 'k', threePerHour, { dryRun: true });
    assert.deepEqual(dry, { allowed: true, count: 3, limit: 3, retryAfterMs: 0 });
    assert.equal(store.calls.at(-1)?.op, 'peek');
    assert.equal(store.counts.get('k|2025-07-01T10:00:00.000Z'), 2);
    await checkRateLimit(store, clock, 'k', threePerHour);
    const after = await checkRateLimit(store, clock, 'k', threePerHour, { dryRun: true });
    assert.deepEqual(after, { allowed: false, count: 4, limit: 3, retryAfterMs: 30 * 60_000 });
    assert.equal(store.counts.get('k|2025-07-01T10:00:00.000Z'), 3);
  });

  test('a zero count refuses everything; a broken rate is a policy error', async () => {
    const store = new MemoryCounters();
    const clock = new FixedClock('2025-07-01T10:00:00.000Z');
    assert.equal((await checkRateLimit(store, clock, 'k', { count: 0, windowMs: HOUR, text: '0/hour' })).allowed, false);
    await assert.rejects(checkRateLimit(store, clock, 'k', { count: 1, windowMs: 0, text: '1/0s' }), (err: unknown) => err instanceof IntentmailError && err.code === 'policy_invalid');
  });
});
