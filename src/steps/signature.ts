/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme"):
 * `webhook-signature: v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`,
 * keyed by the secret's bytes (`whsec_` + base64). Several secrets, separated by spaces, give
 * several space-separated signatures, so a receiver can rotate keys without losing a delivery.
 */
import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Secrets carry this prefix; the rest is base64 of the key bytes. */
const SECRET_PREFIX = 'whsec_';
/** Shortest key accepted: 24 bytes (192 bits); the spec's generators make 24 to 64. */
const MIN_SECRET_BYTES = 24;
/** A receiver accepts a timestamp this far from its clock (the reference verifiers use 5 minutes), which stops replays. */
export const TIMESTAMP_TOLERANCE_S = 300;

/** One secret's key bytes, or a reason it cannot be used. */
export function secretKey(secret: string): { key: Buffer } | { problem: string } {
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return { problem: 'a webhook secret is "whsec_" followed by base64' };
  const key = Buffer.from(text, 'base64');
  if (key.length < MIN_SECRET_BYTES) return { problem: `a webhook secret must hold at least ${MIN_SECRET_BYTES} bytes` };
  return { key };
}

/** The space-separated secrets of one `secret:` value (two during a rotation). */
export function splitSecrets(value: string): string[] {
  return value.split(/\s+/).filter((s) => s !== '');
}

/** The `webhook-signature` header value for one delivery attempt: `v1,<sig>` per secret. */
export function signWebhook(input: { id: string; timestamp: number; body: string; secrets: string[] }): string {
  const content = `${input.id}.${input.timestamp}.${input.body}`;
  return input.secrets
    .map((secret) => {
      const k = secretKey(secret);
      if ('problem' in k) throw new TypeError(k.problem);
      return `v1,${createHmac('sha256', k.key).update(content, 'utf8').digest('base64')}`;
    })
    .join(' ');
}

/**
 * Checks a delivery as a receiver would: the timestamp within the tolerance of `now`, and one of
 * the `v1,` signatures matching under one of the secrets (constant-time comparison).
 */
export function verifyWebhook(input: {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  secrets: string[];
  now: Date;
  toleranceS?: number;
}): { ok: true } | { ok: false; reason: string } {
  if (!/^\d+$/.test(input.timestamp)) return { ok: false, reason: 'webhook-timestamp is not a number of seconds' };
  const ts = Number(input.timestamp);
  if (Math.abs(input.now.getTime() / 1000 - ts) > (input.toleranceS ?? TIMESTAMP_TOLERANCE_S)) return { ok: false, reason: 'webhook-timestamp outside the tolerance' };
  const content = `${input.id}.${input.timestamp}.${input.body}`;
  const offered = input.signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of input.secrets) {
    const k = secretKey(secret);
    if ('problem' in k) continue;
    const expected = createHmac('sha256', k.key).update(content, 'utf8').digest();
    if (offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected))) return { ok: true };
  }
  return { ok: false, reason: 'no signature matches' };
}
