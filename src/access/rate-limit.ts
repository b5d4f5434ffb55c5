/**
 * Per-sender rate limits (`limits: { per_sender: 20/hour }`) as fixed windows aligned to
 * multiples of the window length since the Unix epoch, so every process that shares the
 * store agrees on the window without coordination. The store counts; this module decides.
 */
import type { Clock } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import { IntentmailError } from '../core/errors.ts';
import type { Rate } from '../policy/types.ts';

export interface RateLimitResult {
  allowed: boolean;
  /** Hits in the current window including this one (for a dry run: as if this one counted). */
  count: number;
  limit: number;
  /** 0 when allowed; otherwise milliseconds until the window ends. */
  retryAfterMs: number;
}

/** The counter key for one sender on one intent; each part is escaped so no two triples collide. */
export function rateLimitKey(tenant: string, intent: string, sender: string): string {
  return ['rate', tenant, intent.toLowerCase(), sender.toLowerCase()].map(encodeURIComponent).join(':');
}

/**
 * Counts this message against the window it falls in and says whether it is within the rate.
 * With `dryRun` (simulate) the counter is only read, never changed.
 */
export async function checkRateLimit(
  store: Pick<Store, 'hitRateLimit' | 'peekRateLimit'>,
  clock: Clock,
  key: string,
  rate: Rate,
  opts?: { dryRun?: boolean },
): Promise<RateLimitResult> {
  if (!Number.isSafeInteger(rate.windowMs) || rate.windowMs <= 0 || !Number.isSafeInteger(rate.count) || rate.count < 0) {
    throw new IntentmailError('policy_invalid', `rate "${rate.text}" needs a positive window and a non-negative count`);
  }
  const now = clock.now().getTime();
  const startMs = Math.floor(now / rate.windowMs) * rate.windowMs;
  const windowStart = new Date(startMs);
  const windowEnd = new Date(startMs + rate.windowMs);
  const count = opts?.dryRun === true ? (await store.peekRateLimit(key, windowStart)) + 1 : await store.hitRateLimit(key, windowStart, windowEnd);
  const allowed = count <= rate.count;
  return { allowed, count, limit: rate.count, retryAfterMs: allowed ? 0 : windowEnd.getTime() - now };
}
