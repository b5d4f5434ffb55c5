import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY_SCHEDULE, nextRetryDelay, parseRetryAfter, parseRetrySchedule } from '../../src/queue/schedule.ts';

describe('retry schedule', () => {
  test('the default is 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h', () => {
    assert.deepEqual(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE), [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  test('bad schedules name the problem', () => {
    assert.throws(() => parseRetrySchedule('5s,,5m'), /comma list/);
    assert.throws(() => parseRetrySchedule('5s,soon'), /"soon" is not a duration/);
    assert.throws(() => parseRetrySchedule('0s'), /above 0/);
    assert.throws(() => parseRetrySchedule('3d'), /at most 48 h/);
    assert.throws(() => parseRetrySchedule(Array(51).fill('1s').join(',')), /at most 50 retries/);
  });

  test('jitter stays within ±20 % and the schedule runs out after its last entry', () => {
    const s = parseRetrySchedule('10s,1m');
    assert.equal(nextRetryDelay(s, 1, { random: () => 0 }), 8_000);
    assert.equal(nextRetryDelay(s, 1, { random: () => 1 }), 12_000);
    assert.equal(nextRetryDelay(s, 2, { random: () => 0.5 }), 60_000);
    assert.equal(nextRetryDelay(s, 3), null, 'dead-lettered after the last retry');
    for (let i = 0; i < 200; i++) {
      const d = nextRetryDelay(s, 2)!;
      assert.ok(d >= 48_000 && d <= 72_000, String(d));
    }
  });

  test('Retry-After only lengthens a wait, and is capped at a day', () => {
    const s = parseRetrySchedule('5s');
    assert.equal(nextRetryDelay(s, 1, { retryAfterMs: 120_000, random: () => 0.5 }), 120_000);
    assert.equal(nextRetryDelay(s, 1, { retryAfterMs: 1_000, random: () => 0.5 }), 5_000);
    assert.equal(nextRetryDelay(s, 1, { retryAfterMs: 10 * 86_400_000, random: () => 0.5 }), 86_400_000);
  });

  test('Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3)', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});
