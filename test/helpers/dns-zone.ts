/**
 * Test DNS zones: the project's declarative zone resolver plus builders for the records the
 * authentication tests publish (SPF, DMARC, DKIM keys).
 */
import { createPublicKey } from 'node:crypto';

export { zoneResolver, compileZone, parseZoneYaml } from '../../src/auth/static-zone.ts';
export type { Zone, ZoneEntry } from '../../src/auth/static-zone.ts';

/** `v=spf1 <mechanisms> <all>` (RFC 7208 §4.5); `all` defaults to a hard fail. */
export function spfRecord(mechanisms: string | string[] = [], all = '-all'): string {
  const terms = Array.isArray(mechanisms) ? mechanisms : [mechanisms];
  return ['v=spf1', ...terms.filter((t) => t !== ''), all].join(' ');
}

/** `v=DMARC1; p=<p>` plus extra tags such as `{ sp: 'none', adkim: 's' }` (RFC 9989 §4.7). */
export function dmarcRecord(p: 'none' | 'quarantine' | 'reject', extra: Record<string, string> = {}): string {
  return ['v=DMARC1', `p=${p}`, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join('; ');
}

/**
 * A DKIM key record (RFC 6376 §3.6.1): `p=` is the SubjectPublicKeyInfo for RSA and the raw
 * 32-byte key for Ed25519 (RFC 8463 §4.2). `key` is a PEM public key, or an already encoded `p=` value.
 */
export function dkimKeyRecord(key: string, type: 'rsa' | 'ed25519'): string {
  let p = key.trim();
  if (p.includes('-----BEGIN')) {
    const publicKey = createPublicKey(p);
    if (type === 'ed25519') {
      const jwk = publicKey.export({ format: 'jwk' });
      p = Buffer.from(String(jwk.x), 'base64url').toString('base64');
    } else {
      p = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    }
  }
  return `v=DKIM1; k=${type}; p=${p}`;
}
