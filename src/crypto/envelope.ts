/**
 * Envelope encryption at rest (GDPR Art. 32): every message gets a fresh random 256-bit data
 * key; the message is sealed with AES-256-GCM under it, and the data key is wrapped with
 * AES-256-GCM under the master key. Crypto-erasure deletes only the wrapped key.
 *
 * Both blobs share one versioned layout: `version (1) | IV (12) | GCM tag (16) | ciphertext`.
 * The IV is 96 random bits (NIST SP 800-38D §8.2.2: safe well below 2^32 uses per key; a data
 * key is used once, and the master key wraps one data key per message). The version byte and a
 * purpose label are the GCM additional data, so a wrapped key cannot be passed off as a
 * message (or the reverse) and a future format cannot be downgraded silently.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { IntentmailError } from '../core/errors.ts';

const VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
const AAD_MESSAGE = Buffer.from('intentmail-message-v1');
const AAD_WRAPPED_KEY = Buffer.from('intentmail-data-key-v1');

/** A sealed message as stored: ciphertext, the wrapped data key, and the id of the master key that wraps it. */
export interface SealedMessage {
  ciphertext: Uint8Array;
  wrappedKey: Uint8Array;
  keyId: string;
}

/** Identifies a master key without revealing it: the first 16 hex digits of its SHA-256. */
export function masterKeyId(masterKey: Uint8Array): string {
  return createHash('sha256').update(masterKey).digest('hex').slice(0, 16);
}

/** Encrypts one message under a fresh data key and wraps that key with the master key. */
export function sealMessage(raw: Uint8Array, masterKey: Uint8Array): SealedMessage {
  checkKey(masterKey);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return {
      ciphertext: seal(raw, dataKey, AAD_MESSAGE),
      wrappedKey: seal(dataKey, masterKey, AAD_WRAPPED_KEY),
      keyId: masterKeyId(masterKey),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Unwraps the data key and decrypts; throws IntentmailError('internal') on a wrong master key or any tampering. */
export function openMessage(sealed: SealedMessage, masterKey: Uint8Array): Uint8Array {
  checkKey(masterKey);
  const haveId = masterKeyId(masterKey);
  if (sealed.keyId !== haveId) {
    throw new IntentmailError('internal', `message is sealed under master key ${sealed.keyId}, not ${haveId}`);
  }
  const dataKey = open(sealed.wrappedKey, masterKey, AAD_WRAPPED_KEY, 'wrapped data key');
  try {
    if (dataKey.length !== KEY_BYTES) throw new IntentmailError('internal', 'wrapped data key has the wrong length');
    const plain = open(sealed.ciphertext, dataKey, AAD_MESSAGE, 'message');
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  } finally {
    dataKey.fill(0);
  }
}

/** Decodes INTENTMAIL_MASTER_KEY: standard base64 of exactly 32 bytes, nothing else. */
export function parseMasterKey(b64: string): Uint8Array {
  const text = b64.trim();
  // Buffer.from(…, 'base64') skips invalid characters silently; insist on the canonical alphabet and padding.
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    throw new IntentmailError('config_invalid', 'INTENTMAIL_MASTER_KEY must be base64 of 32 bytes');
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) throw new IntentmailError('config_invalid', 'INTENTMAIL_MASTER_KEY must be base64 of 32 bytes');
  return new Uint8Array(key);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new IntentmailError('internal', 'encryption key must be 32 bytes');
}

function seal(plain: Uint8Array, key: Uint8Array, label: Buffer): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const version = Buffer.from([VERSION]);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([version, label]));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(version, 0);
  out.set(iv, 1);
  out.set(cipher.getAuthTag(), 1 + IV_BYTES);
  out.set(body, HEADER_BYTES);
  return out;
}

function open(blob: Uint8Array, key: Uint8Array, label: Buffer, what: string): Buffer {
  if (blob.length < HEADER_BYTES) throw new IntentmailError('internal', `${what}: sealed data is truncated`);
  if (blob[0] !== VERSION) throw new IntentmailError('internal', `${what}: unknown sealed format version ${blob[0]}`);
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([bytes.subarray(0, 1), label]));
    decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, HEADER_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new IntentmailError('internal', `${what}: authentication failed (wrong key or tampered data)`, { cause });
  }
}
