/**
 * Per-token request rate limit: an in-memory token bucket per API token, per process. It
 * bounds what one (possibly leaked) token can do to one node; with N nodes the effective
 * burst is N times larger, which is acceptable for an admin surface (the SMTP sender limits,
 * which must hold across nodes, use the database counters instead).
 */
import { LIMITS } from '../core/limits.ts';
import type { Clock } from '../core/ports.ts';
import type { RateLimitOptions } from './ports.ts';

interface Bucket {
  tokens: number;
  at: number;
}

/** A set of token buckets, least recently used evicted past LIMITS.API_RATE_BUCKETS. */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #opts: RateLimitOptions;
  readonly #clock: Clock;

  constructor(clock: Clock, opts: RateLimitOptions = { burst: LIMITS.API_RATE_BURST, perSecond: LIMITS.API_RATE_PER_SECOND }) {
    this.#clock = clock;
    this.#opts = opts;
  }

  /** Takes one request from `key`'s bucket; when empty, says how long until one is available. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const now = this.#clock.now().getTime();
    const old = this.#buckets.get(key);
    const elapsed = old === undefined ? 0 : Math.max(0, now - old.at);
    const tokens = old === undefined ? this.#opts.burst : Math.min(this.#opts.burst, old.tokens + (elapsed / 1000) * this.#opts.perSecond);
    // Re-insert so Map order is recency order: the first key is the least recently used.
    this.#buckets.delete(key);
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      return { allowed: false, retryAfterMs: Math.ceil(((1 - tokens) / this.#opts.perSecond) * 1000) };
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.#buckets.size > LIMITS.API_RATE_BUCKETS) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return { allowed: true };
  }
}
