/**
 * Reads key files into material the key store can check: X.509 certificates (PEM or DER,
 * `.cer`/`.crt`/`.pem`), private keys (PEM, PKCS#8 or traditional, encrypted with a password or
 * not), PKCS#12 bundles (`.p12`/`.pfx`, node-forge: OpenSSL 3's AES-256/SHA-256 and the legacy
 * 3DES/SHA-1 profiles), CRLs (PEM or DER), and OpenPGP keys (armored or binary, public or secret).
 * Nothing here trusts anything; store.ts decides.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import * as openpgp from 'openpgp';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { parseAsn1Prefix, isContext, isUniversal, TAG } from '../secure/asn1.ts';
import { PGP_CONFIG, readPgpKeys } from '../secure/pgp.ts';
import { parseCertificate, parseCrl, pemBlocks, type Certificate, type Crl } from '../secure/x509.ts';

/** One piece of material found in a file. */
export type Material =
  | { type: 'certificate'; cert: Certificate }
  | { type: 'private-key'; key: KeyObject }
  | { type: 'crl'; crl: Crl }
  | { type: 'pgp-public'; key: openpgp.PublicKey }
  | { type: 'pgp-secret'; key: openpgp.PrivateKey };

function refuse(file: string, why: string, cause?: unknown): IntentmailError {
  return new IntentmailError('validation_failed', `${file}: ${why}`, cause === undefined ? undefined : { cause });
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^Error: /, '').slice(0, 200);
}

/**
 * Reads every piece of material in one file. `password` unlocks PKCS#12 files, encrypted PEM
 * keys and protected OpenPGP secret keys. Throws IntentmailError('validation_failed') naming
 * the file when it is too large, unreadable, or needs a password it was not given.
 */
export async function readKeyFile(file: string, data: Uint8Array, password: string | undefined): Promise<Material[]> {
  if (data.length > LIMITS.MAX_KEY_FILE_BYTES) throw refuse(file, `larger than ${LIMITS.MAX_KEY_FILE_BYTES} bytes; a key file is a few KiB`);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN PGP ')) return readPgp(file, bytes, password);
  if (text.includes('-----BEGIN ')) return readPem(file, text, password);
  if (bytes.length > 0 && (bytes[0] & 0x80) !== 0 && bytes[0] !== 0x30) return readPgp(file, bytes, password);
  return readDer(file, bytes, password);
}

function readPem(file: string, text: string, password: string | undefined): Material[] {
  const out: Material[] = [];
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw refuse(file, 'no PEM block found');
  if (blocks.length > LIMITS.MAX_CERTS_PER_OBJECT) throw refuse(file, `more than ${LIMITS.MAX_CERTS_PER_OBJECT} PEM blocks`);
  for (const block of blocks) {
    try {
      switch (block.label) {
        case 'CERTIFICATE':
        case 'X509 CERTIFICATE':
          out.push({ type: 'certificate', cert: parseCertificate(block.der) });
          break;
        case 'X509 CRL':
          out.push({ type: 'crl', crl: parseCrl(block.der) });
          break;
        case 'PRIVATE KEY':
        case 'RSA PRIVATE KEY':
        case 'EC PRIVATE KEY':
        case 'ENCRYPTED PRIVATE KEY':
          out.push({ type: 'private-key', key: privateKey(file, block.text, password) });
          break;
        default:
          throw refuse(file, `PEM block "${block.label}" is not a certificate, CRL or private key`);
      }
    } catch (err) {
      if (err instanceof IntentmailError) throw err;
      throw refuse(file, `${block.label}: ${reason(err)}`, err);
    }
  }
  return out;
}

function privateKey(file: string, pem: string, password: string | undefined): KeyObject {
  const encrypted = pem.includes('ENCRYPTED') || pem.includes('Proc-Type: 4,ENCRYPTED');
  if (encrypted && password === undefined) throw refuse(file, 'the private key is encrypted: give --password');
  try {
    return createPrivateKey(encrypted ? { key: pem, passphrase: password } : { key: pem });
  } catch (err) {
    throw refuse(file, encrypted ? 'cannot decrypt the private key (wrong password?)' : `unreadable private key: ${reason(err)}`, err);
  }
}

/** A DER file: a certificate, a CRL, or a PKCS#12 PFX (RFC 7292: SEQUENCE { INTEGER 3, ContentInfo, … }). */
function readDer(file: string, bytes: Buffer, password: string | undefined): Material[] {
  let root;
  try {
    root = parseAsn1Prefix(bytes);
  } catch (err) {
    throw refuse(file, `not a certificate, CRL, PKCS#12 or OpenPGP file: ${reason(err)}`, err);
  }
  if (isUniversal(root.children[0], TAG.INTEGER)) return readPkcs12(file, bytes, password);
  const tbs = root.children[0];
  // A certificate's TBS starts with [0] version or the serial INTEGER, then an AlgorithmIdentifier; a CRL's with the
  // optional version, an AlgorithmIdentifier, then the issuer Name. Try certificate first, then CRL.
  try {
    if (isContext(tbs?.children[0], 0) || isUniversal(tbs?.children[1], TAG.SEQUENCE)) return [{ type: 'certificate', cert: parseCertificate(bytes.subarray(0, root.end)) }];
  } catch {
    // fall through to CRL
  }
  try {
    return [{ type: 'crl', crl: parseCrl(bytes.subarray(0, root.end)) }];
  } catch (err) {
    throw refuse(file, `not a certificate, CRL, PKCS#12 or OpenPGP file: ${reason(err)}`, err);
  }
}

function readPkcs12(file: string, bytes: Buffer, password: string | undefined): Material[] {
  if (password === undefined) throw refuse(file, 'a PKCS#12 file needs --password');
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bytes.toString('binary')), true, password);
  } catch (err) {
    throw refuse(file, `cannot open the PKCS#12 file (wrong password or unsupported encryption): ${reason(err)}`, err);
  }
  const out: Material[] = [];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  for (const bag of certBags.slice(0, LIMITS.MAX_CERTS_PER_OBJECT)) {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
    if (!asn1) continue;
    out.push({ type: 'certificate', cert: parseCertificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')) });
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  for (const bag of keyBags) {
    if (!bag.key) throw refuse(file, 'the PKCS#12 private key is not RSA; export the key as PEM (PKCS#8) instead');
    const pem = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)));
    out.push({ type: 'private-key', key: createPrivateKey(pem) });
  }
  return out;
}

async function readPgp(file: string, bytes: Buffer, password: string | undefined): Promise<Material[]> {
  let keys: openpgp.Key[];
  try {
    keys = await readPgpKeys(bytes);
  } catch (err) {
    throw refuse(file, `not an OpenPGP key: ${reason(err)}`, err);
  }
  if (keys.length > LIMITS.MAX_CERTS_PER_OBJECT) throw refuse(file, `more than ${LIMITS.MAX_CERTS_PER_OBJECT} OpenPGP keys`);
  const out: Material[] = [];
  for (const key of keys) {
    if (!key.isPrivate()) {
      out.push({ type: 'pgp-public', key: key as openpgp.PublicKey });
      continue;
    }
    let secret = key as openpgp.PrivateKey;
    if (!secret.isDecrypted()) {
      if (password === undefined) throw refuse(file, `OpenPGP secret key ${secret.getFingerprint().toUpperCase()} is protected: give --password`);
      try {
        secret = await openpgp.decryptKey({ privateKey: secret, passphrase: password, config: PGP_CONFIG });
      } catch (err) {
        throw refuse(file, `cannot unlock OpenPGP secret key ${secret.getFingerprint().toUpperCase()} (wrong password?): ${reason(err)}`, err);
      }
    }
    out.push({ type: 'pgp-secret', key: secret });
  }
  return out;
}
