/**
 * The retry schedule of a step that failed temporarily: a list of delays, one per retry (the
 * default waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, about a day in all, like the
 * Standard Webhooks reference senders), each spread by jitter so a receiver that comes back
 * is not hit by every delivery at once. A receiver's `Retry-After` (RFC 9110 §10.2.3) only
 * ever lengthens a wait.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { parseDuration } from '../policy/units.ts';

/** The default schedule (INTENTMAIL_RETRY_SCHEDULE). */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

/** Delays in milliseconds; the length is how many retries a step gets after its first attempt. */
export type RetrySchedule = readonly number[];

/** Parses `5s,5m,30m` into milliseconds; throws config_invalid naming the bad entry. */
export function parseRetrySchedule(text: string): RetrySchedule {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new IntentmailError('config_invalid', 'INTENTMAIL_RETRY_SCHEDULE: a comma list of durations such as 5s,5m,30m', { detail: { variable: 'INTENTMAIL_RETRY_SCHEDULE' } });
  }
  if (parts.length > LIMITS.MAX_RETRY_SCHEDULE_ENTRIES) {
    throw new IntentmailError('config_invalid', `INTENTMAIL_RETRY_SCHEDULE: at most ${LIMITS.MAX_RETRY_SCHEDULE_ENTRIES} retries`, { detail: { variable: 'INTENTMAIL_RETRY_SCHEDULE' } });
  }
  return parts.map((p) => {
    let ms: number;
    try {
      ms = parseDuration(p);
    } catch {
      throw new IntentmailError('config_invalid', `INTENTMAIL_RETRY_SCHEDULE: "${p}" is not a duration such as 30s, 5m or 2h`, { detail: { variable: 'INTENTMAIL_RETRY_SCHEDULE' } });
    }
    if (ms <= 0 || ms > LIMITS.MAX_RETRY_DELAY_MS) {
      throw new IntentmailError('config_invalid', `INTENTMAIL_RETRY_SCHEDULE: "${p}" must be above 0 and at most ${LIMITS.MAX_RETRY_DELAY_MS / 3_600_000} h`, {
        detail: { variable: 'INTENTMAIL_RETRY_SCHEDULE' },
      });
    }
    return ms;
  });
}

/**
 * The wait before the next attempt after `attempts` attempts failed temporarily, or null when
 * the schedule is used up (the step is dead-lettered). Jitter spreads the delay uniformly over
 * ±RETRY_JITTER_RATIO; `retryAfterMs` from the receiver raises it, capped at MAX_RETRY_AFTER_MS.
 */
export function nextRetryDelay(schedule: RetrySchedule, attempts: number, opts: { retryAfterMs?: number; random?: () => number } = {}): number | null {
  if (attempts < 1 || attempts > schedule.length) return null;
  const base = schedule[attempts - 1];
  const random = opts.random ?? Math.random;
  const jittered = Math.round(base * (1 + LIMITS.RETRY_JITTER_RATIO * (2 * random() - 1)));
  const asked = opts.retryAfterMs === undefined ? 0 : Math.min(Math.max(0, opts.retryAfterMs), LIMITS.MAX_RETRY_AFTER_MS);
  return Math.max(jittered, asked, 1);
}

/** Reads a `Retry-After` value (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) as milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
