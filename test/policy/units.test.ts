import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IntentmailError } from '../../src/core/errors.ts';
import { LIMITS } from '../../src/core/limits.ts';
import { parseDuration, parseRate, parseSize } from '../../src/policy/units.ts';

function throwsPolicy(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof IntentmailError && e.code === 'policy_invalid');
}

describe('parseSize (1024-based)', () => {
  const cases: [string | number, number][] = [
    ['25MB', 25 * 1024 ** 2],
    ['50MB', LIMITS.MAX_MESSAGE_BYTES],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['512KB', 512 * 1024],
    ['100B', 100],
    ['100', 100],
    [4096, 4096],
    ['2 mb', 2 * 1024 ** 2],
    ['3MiB', 3 * 1024 ** 2],
    ['1TB', 1024 ** 4],
    ['0.3KB', 307],
  ];
  for (const [input, bytes] of cases) test(`${input} → ${bytes}`, () => assert.equal(parseSize(input), bytes));
  for (const bad of ['', 'MB', '25XB', '-1MB', '1e3', 'ten', -5, 1.5, Number.NaN, '99999999999TB']) {
    test(`refuses ${String(bad)}`, () => throwsPolicy(() => parseSize(bad)));
  }
});

describe('parseDuration', () => {
  const cases: [string | number, number][] = [
    ['15m', 15 * 60_000],
    ['14d', 14 * 86_400_000],
    ['2h', 7_200_000],
    ['30s', 30_000],
    ['1w', 604_800_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    [1000, 1000],
  ];
  for (const [input, ms] of cases) test(`${input} → ${ms}`, () => assert.equal(parseDuration(input), ms));
  for (const bad of ['', '15', '15x', 'm', '-1d', 'soon', -1]) test(`refuses ${String(bad)}`, () => throwsPolicy(() => parseDuration(bad)));
});

describe('parseRate', () => {
  const cases: [string, number, number][] = [
    ['60/hour', 60, 3_600_000],
    ['20/hour', 20, 3_600_000],
    ['5/minute', 5, 60_000],
    ['100/day', 100, 86_400_000],
    ['10/10m', 10, 600_000],
    ['3/hours', 3, 3_600_000],
    ['7 / week', 7, 604_800_000],
    ['2/h', 2, 3_600_000],
  ];
  for (const [input, count, windowMs] of cases) {
    test(`${input} → ${count} per ${windowMs} ms`, () => assert.deepEqual(parseRate(input), { count, windowMs, text: input.trim() }));
  }
  for (const bad of ['', '60', '60/', '/hour', '0/hour', '60/fortnight', '1.5/hour', '60/0m', '-1/hour']) {
    test(`refuses "${bad}"`, () => throwsPolicy(() => parseRate(bad)));
  }
});
