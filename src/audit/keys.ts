/**
 * Ed25519 (RFC 8032) checkpoint signing and verification with node:crypto. Keys are handled as
 * raw 32-byte seeds and public keys; node:crypto wants DER, so the fixed RFC 8410 prefixes
 * are added here.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { IntentmailError } from '../core/errors.ts';
import type { SignatureVerifier, Signer } from '../core/ports.ts';

const SEED_BYTES = 32;
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** PKCS#8 PrivateKeyInfo for id-Ed25519 (1.3.101.112) wrapping a 32-byte seed (RFC 8410 §7). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SubjectPublicKeyInfo for id-Ed25519 with a 32-byte key (RFC 8410 §4). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A fresh random Ed25519 private key seed (32 bytes). */
export function generateSigningSeed(): Uint8Array {
  return new Uint8Array(randomBytes(SEED_BYTES));
}

/** The key id of a raw Ed25519 public key: the first 16 hex digits of its SHA-256. */
export function signingKeyId(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 16);
}

/** A Signer for a 32-byte seed; publicKey is the raw public key in base64. */
export function ed25519Signer(seed: Uint8Array): Signer {
  if (seed.length !== SEED_BYTES) throw new IntentmailError('config_invalid', 'audit signing key must be a 32-byte Ed25519 seed');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const rawPublic = spki.subarray(SPKI_PREFIX.length);
  const keyId = signingKeyId(rawPublic);
  const publicKey = rawPublic.toString('base64');
  return {
    keyId,
    publicKey,
    // Ed25519 is one-shot: the algorithm argument must be null (node:crypto docs).
    sign: async (data: Uint8Array) => new Uint8Array(sign(null, data, privateKey)),
  };
}

/** A verifier over known public keys (keyId → base64 raw key); an unknown key id never verifies. */
export function ed25519Verifier(publicKeys: Record<string, string>): SignatureVerifier {
  const keys = new Map<string, KeyObject>();
  for (const [keyId, b64] of Object.entries(publicKeys)) {
    const raw = Buffer.from(b64, 'base64');
    if (raw.length !== PUBLIC_KEY_BYTES) throw new IntentmailError('config_invalid', `audit public key ${keyId} must be 32 raw bytes in base64`);
    if (signingKeyId(raw) !== keyId) throw new IntentmailError('config_invalid', `audit public key does not match its key id ${keyId}`);
    keys.set(keyId, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }));
  }
  return {
    verify: async (keyId: string, data: Uint8Array, signature: Uint8Array) => {
      const key = keys.get(keyId);
      if (key === undefined || signature.length !== SIGNATURE_BYTES) return false;
      return verify(null, data, key, signature);
    },
  };
}
