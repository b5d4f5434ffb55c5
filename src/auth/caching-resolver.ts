/**
 * A DNS cache in front of any Resolver. SPF, DKIM, DMARC and ARC ask the same few names for
 * every message from a sender, so answers are kept for their TTL (capped), negative answers
 * for at most the RFC 2308 §5 bound, and temporary failures never: a cached timeout would turn
 * one lost packet into minutes of 451s, and a timeout must never stand in for an answer.
 */
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { Clock, DnsAnswer, DnsType, Resolver } from '../core/ports.ts';
import { normalizeDnsName } from './static-zone.ts';

interface Entry {
  answer: Exclude<DnsAnswer, { status: 'temperror' }>;
  /** Milliseconds since the epoch, by `clock`. */
  expiresAt: number;
}

/**
 * Wraps `inner` with an LRU cache of at most `maxEntries` (default LIMITS.DNS_CACHE_ENTRIES)
 * answers. Identical questions asked while one is in flight share that one look-up.
 */
export function cachingResolver(inner: Resolver, clock: Clock, opts?: { maxEntries?: number }): Resolver {
  const maxEntries = opts?.maxEntries ?? LIMITS.DNS_CACHE_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new IntentmailError('config_invalid', 'cachingResolver: maxEntries must be a positive integer');
  }
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently
  // used entry first, so eviction is `keys().next()`.
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<DnsAnswer>>();

  const lookup = async (name: string, type: DnsType, key: string): Promise<DnsAnswer> => {
    let answer: DnsAnswer;
    try {
      answer = await inner.resolve(name, type);
    } catch (err) {
      // The port never throws; keep that promise even for a faulty inner resolver.
      answer = { status: 'temperror', reason: `resolver failed: ${(err as Error)?.message ?? String(err)}` };
    }
    if (answer.status !== 'temperror') {
      const cap = answer.status === 'ok' ? LIMITS.DNS_CACHE_MAX_TTL_S : LIMITS.DNS_NEGATIVE_TTL_S;
      const seconds = Math.min(Math.max(0, answer.ttl), cap);
      if (seconds > 0) {
        const now = clock.now().getTime();
        cache.delete(key);
        cache.set(key, { answer, expiresAt: now + seconds * 1000 });
        while (cache.size > maxEntries) {
          const oldest = cache.keys().next().value as string;
          cache.delete(oldest);
        }
      }
    }
    return answer;
  };

  return {
    resolve(name: string, type: DnsType): Promise<DnsAnswer> {
      const key = `${type} ${normalizeDnsName(name)}`;
      const now = clock.now().getTime();
      const hit = cache.get(key);
      if (hit) {
        cache.delete(key);
        if (hit.expiresAt > now) {
          cache.set(key, hit);
          // Hand out the remaining TTL, as a recursive resolver does, so a layer above never
          // keeps the answer longer than it was valid here.
          const remaining = Math.max(0, Math.floor((hit.expiresAt - now) / 1000));
          return Promise.resolve({ ...hit.answer, ttl: remaining });
        }
      }
      const pending = inFlight.get(key);
      if (pending) return pending;
      const started = lookup(name, type, key).finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return started;
    },
  };
}
