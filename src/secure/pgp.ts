/**
 * OpenPGP (RFC 9580 packets, v4 keys as gpg 2.2 reads them) and PGP/MIME (RFC 3156) with
 * openpgp.js: signing as multipart/signed with a detached application/pgp-signature (§5),
 * encryption as multipart/encrypted (§4), signing and encrypting in one OpenPGP message (§6.2),
 * and checking inbound PGP/MIME signatures. Every call passes PGP_CONFIG, whose limits are set
 * deliberately rather than left at the library's defaults.
 */
import { Buffer } from 'node:buffer';
import * as openpgp from 'openpgp';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { assembleMessage, fieldValue, headerFields, multipartBody, multipartParts, newBoundary, parseContentType, splitEntity, splitForProtection, toCrlf } from './mime.ts';

/**
 * The openpgp configuration for every operation. Inflation is bounded (a compressed inbound
 * message cannot become a memory bomb), user ids are short, RSA keys have at least
 * LIMITS.MIN_RSA_BITS, unauthenticated (no-MDC) encrypted data is refused, and we do not
 * compress what we send (RFC 9580 §13.3 compression side channels; size is not our problem).
 */
export const PGP_CONFIG: openpgp.Config = {
  ...openpgp.config,
  maxDecompressedMessageSize: LIMITS.PGP_MAX_DECOMPRESSED_BYTES,
  maxUserIDLength: LIMITS.PGP_MAX_USER_ID_LENGTH,
  minRSABits: LIMITS.MIN_RSA_BITS,
  allowUnauthenticatedMessages: false,
  allowUnauthenticatedStream: false,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
  preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
  preferredHashAlgorithm: openpgp.enums.hash.sha256,
  // SEIPD v1 with MDC: what gpg 2.2 and most installed clients decrypt; v2/AEAD only when asked for.
  aeadProtect: false,
  v6Keys: false,
  showVersion: false,
  showComment: false,
  // Argon2 S2K on an imported secret key may ask for up to 2^N KiB of memory; openpgp allows 2^22 (4 GiB).
  maxArgon2MemoryExponent: LIMITS.PGP_MAX_ARGON2_MEMORY_EXPONENT,
};

/** Reads one or more OpenPGP keys from armored text or binary packets. */
export async function readPgpKeys(data: Uint8Array): Promise<openpgp.Key[]> {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----') || text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    return openpgp.readKeys({ armoredKeys: text, config: PGP_CONFIG });
  }
  return openpgp.readKeys({ binaryKeys: new Uint8Array(data), config: PGP_CONFIG });
}

/** The primary user e-mail addresses of a key, lower-case. */
export function pgpKeyEmails(key: openpgp.Key): string[] {
  const out = new Set<string>();
  for (const user of key.users) {
    const email = user.userID?.email;
    if (email) out.add(email.toLowerCase());
  }
  return [...out];
}

/** Why a key may not be used for `purpose` at `now` (revoked, expired, no capable subkey), or null. */
export async function pgpKeyProblem(key: openpgp.Key, purpose: 'encrypt' | 'sign', now: Date): Promise<string | null> {
  const id = key.getFingerprint().toUpperCase();
  try {
    if (await key.isRevoked(undefined, undefined, now, PGP_CONFIG)) return `OpenPGP key ${id} was revoked`;
    await key.verifyPrimaryKey(now, undefined, PGP_CONFIG);
  } catch (err) {
    return `OpenPGP key ${id}: ${describe(err)}`;
  }
  const expires = await key.getExpirationTime(undefined, PGP_CONFIG);
  if (expires instanceof Date && expires <= now) return `OpenPGP key ${id} expired on ${expires.toISOString()}`;
  const info = key.getAlgorithmInfo();
  if ((info.algorithm === 'rsaEncryptSign' || info.algorithm === 'rsaSign' || info.algorithm === 'rsaEncrypt') && (info.bits ?? 0) < LIMITS.MIN_RSA_BITS) {
    return `OpenPGP key ${id} has a ${info.bits}-bit RSA key, below the minimum of ${LIMITS.MIN_RSA_BITS}`;
  }
  try {
    if (purpose === 'encrypt') await key.getEncryptionKey(undefined, now, undefined, PGP_CONFIG);
    else await key.getSigningKey(undefined, now, undefined, PGP_CONFIG);
  } catch (err) {
    return `OpenPGP key ${id} has no valid ${purpose === 'encrypt' ? 'encryption' : 'signing'} key: ${describe(err)}`;
  }
  return null;
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^Error: /, '').slice(0, 300);
}

/** Wraps an entity in multipart/signed with a detached ASCII-armored signature (RFC 3156 §5). */
export async function pgpSignEntity(entity: Buffer, signingKey: openpgp.PrivateKey, now: Date): Promise<{ fields: string[]; body: Buffer }> {
  const message = await openpgp.createMessage({ binary: new Uint8Array(entity) });
  const signature = await openpgp.sign({ message, signingKeys: signingKey, detached: true, format: 'armored', date: now, config: PGP_CONFIG });
  const boundary = newBoundary('pgp');
  const sigPart = Buffer.from(
    `Content-Type: application/pgp-signature; name="signature.asc"\r\nContent-Description: OpenPGP digital signature\r\nContent-Disposition: attachment; filename="signature.asc"\r\n\r\n${signature.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '')}`,
    'latin1',
  );
  return {
    fields: [`Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="${boundary}"`],
    body: multipartBody(boundary, 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)', [entity, sigPart]),
  };
}

/** Encrypts (and optionally signs, RFC 3156 §6.2) an entity into multipart/encrypted (RFC 3156 §4). */
export async function pgpEncryptEntity(entity: Buffer, encryptionKeys: openpgp.Key[], signingKey: openpgp.PrivateKey | null, now: Date): Promise<{ fields: string[]; body: Buffer }> {
  const message = await openpgp.createMessage({ binary: new Uint8Array(entity), date: now });
  const armored = await openpgp.encrypt({
    message,
    encryptionKeys,
    ...(signingKey ? { signingKeys: signingKey } : {}),
    format: 'armored',
    date: now,
    config: PGP_CONFIG,
  });
  const boundary = newBoundary('pgp');
  const control = Buffer.from('Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1', 'latin1');
  const payload = Buffer.from(
    `Content-Type: application/octet-stream; name="encrypted.asc"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename="encrypted.asc"\r\n\r\n${armored.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '')}`,
    'latin1',
  );
  return {
    fields: [`Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"`],
    body: multipartBody(boundary, 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)', [control, payload]),
  };
}

/** Signs and/or encrypts a complete message as PGP/MIME; outer routing and subject fields stay outside. */
export async function protectPgp(raw: Uint8Array, opts: { signingKey?: openpgp.PrivateKey; encryptionKeys?: openpgp.Key[]; now: Date }): Promise<Buffer> {
  const { outer, entity } = splitForProtection(raw);
  const encrypt = opts.encryptionKeys !== undefined && opts.encryptionKeys.length > 0;
  if (!encrypt && !opts.signingKey) throw new IntentmailError('internal', 'protectPgp needs a signing key, encryption keys, or both');
  const wrapped = encrypt ? await pgpEncryptEntity(entity, opts.encryptionKeys!, opts.signingKey ?? null, opts.now) : await pgpSignEntity(entity, opts.signingKey!, opts.now);
  return assembleMessage(outer, wrapped.fields, wrapped.body);
}

/** What an inbound message carries in the way of PGP/MIME, and what a signature check found. */
export type PgpFinding =
  | { kind: 'none' }
  | { kind: 'encrypted' }
  | { kind: 'signed'; status: 'valid' | 'invalid'; reason: string; keyIds: string[]; fingerprint: string | null };

/**
 * Finds a top-level PGP/MIME signature and checks it against `keys` (the sender's known keys).
 * A signature by a key we do not have cannot be valid: it is `invalid` with that reason.
 */
export async function findPgpSignature(raw: Uint8Array, keys: openpgp.Key[], now: Date): Promise<PgpFinding> {
  const { header, body } = splitEntity(toCrlf(raw));
  const ct = parseContentType(fieldValue(headerFields(header), 'content-type'));
  if (ct.type === 'multipart/encrypted' && (ct.params.protocol ?? '').toLowerCase() === 'application/pgp-encrypted') return { kind: 'encrypted' };
  if (ct.type !== 'multipart/signed' || (ct.params.protocol ?? '').toLowerCase() !== 'application/pgp-signature') return { kind: 'none' };
  const parts = ct.params.boundary ? multipartParts(body, ct.params.boundary) : null;
  const bad = (reason: string, keyIds: string[] = []): PgpFinding => ({ kind: 'signed', status: 'invalid', reason, keyIds, fingerprint: null });
  if (parts === null || parts.length !== 2) return bad('multipart/signed does not have exactly two parts');
  let signature: openpgp.Signature;
  try {
    const sigText = splitEntity(parts[1]).body.toString('latin1');
    signature = await openpgp.readSignature({ armoredSignature: sigText, config: PGP_CONFIG });
  } catch (err) {
    return bad(`the signature part is not an OpenPGP signature: ${describe(err)}`);
  }
  const keyIds = Array.from(signature.getSigningKeyIDs(), (k) => k.toHex().toUpperCase());
  if (keys.length === 0) return bad(`no OpenPGP key of the sender is known (signed by key ${keyIds.join(', ')})`, keyIds);
  try {
    const message = await openpgp.createMessage({ binary: new Uint8Array(parts[0]) });
    const result = await openpgp.verify({ message, signature, verificationKeys: keys, date: now, config: PGP_CONFIG });
    for (const sig of result.signatures) {
      try {
        await sig.verified;
        const key = keys.find((k) => k.getKeys(sig.keyID).length > 0) ?? null;
        return { kind: 'signed', status: 'valid', reason: `signed by OpenPGP key ${sig.keyID.toHex().toUpperCase()}`, keyIds, fingerprint: key ? key.getFingerprint().toUpperCase() : null };
      } catch (err) {
        return bad(`signature does not verify: ${describe(err)}`, keyIds);
      }
    }
    return bad('signature has no signature packets', keyIds);
  } catch (err) {
    return bad(`signature check failed: ${describe(err)}`, keyIds);
  }
}
