/**
 * Bridges the Resolver port to the resolver function mailauth calls: `(name, rrtype)` resolving
 * like `dns.promises.resolve` and rejecting with Node's DNS error codes, which mailauth maps
 * to results (ENOTFOUND/ENODATA → "no record", void look-ups in SPF, RFC 7208 §4.6.4; anything
 * else → temperror, RFC 7208 §2.6.6, RFC 6376 §6.1.2, RFC 9989).
 */
import type { DnsType, Resolver } from '../core/ports.ts';

/** The DNS error codes mailauth distinguishes (the names Node's dns module uses). */
export type DnsErrorCode = 'ENOTFOUND' | 'ENODATA' | 'ETIMEOUT' | 'ESERVFAIL' | 'ENOTIMP';

/**
 * The rejection mailauth expects from its resolver. It is not an IntentmailError: it never
 * leaves mailauth, which reads only `code` (Node's DNS codes, not our taxonomy).
 */
export class DnsLookupError extends Error {
  readonly code: DnsErrorCode;
  readonly hostname: string;

  constructor(code: DnsErrorCode, hostname: string, message: string) {
    super(message);
    this.name = 'DnsLookupError';
    this.code = code;
    this.hostname = hostname;
  }
}

const SUPPORTED: ReadonlySet<string> = new Set<DnsType>(['TXT', 'A', 'AAAA', 'MX', 'PTR', 'CNAME', 'NS', 'SPF']);

/** Returns a mailauth `resolver` option that asks `resolver` and never touches the system resolver. */
export function toMailauthResolver(resolver: Resolver): (name: string, rrtype: string) => Promise<unknown> {
  return async (name: string, rrtype: string): Promise<unknown> => {
    const type = String(rrtype).toUpperCase();
    if (!SUPPORTED.has(type)) {
      throw new DnsLookupError('ENOTIMP', name, `query type ${type} is not supported`);
    }
    let answer;
    try {
      answer = await resolver.resolve(name, type as DnsType);
    } catch (err) {
      // The port promises not to throw; if an implementation does anyway, fail temporarily
      // rather than let mailauth read an unknown error as something permanent.
      throw new DnsLookupError('ESERVFAIL', name, `resolver failed for ${name}: ${(err as Error)?.message ?? String(err)}`);
    }
    switch (answer.status) {
      case 'ok':
        // TXT arrives as chunks (string[][]), MX as {exchange, priority}: the shapes of
        // dns.promises.resolve, which mailauth consumes as they are.
        return answer.records.map((record) => (Array.isArray(record) ? [...record] : typeof record === 'object' ? { ...record } : record));
      case 'nxdomain':
        throw new DnsLookupError('ENOTFOUND', name, `query${type} ENOTFOUND ${name}`);
      case 'nodata':
        throw new DnsLookupError('ENODATA', name, `query${type} ENODATA ${name}`);
      case 'temperror':
        // A timeout and a SERVFAIL are both temperror to mailauth; the code keeps the cause visible.
        throw new DnsLookupError(/time(d)?\s*out/i.test(answer.reason) ? 'ETIMEOUT' : 'ESERVFAIL', name, `DNS temporary failure for ${name} ${type}: ${answer.reason}`);
    }
  };
}
