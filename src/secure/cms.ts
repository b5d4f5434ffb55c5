/**
 * CMS (RFC 5652) structures for S/MIME 4.0 (RFC 8551), built over Buffers with node:crypto
 * doing every public-key and symmetric operation:
 *   - SignedData with signed attributes (contentType, signingTime, messageDigest), detached or
 *     encapsulated, RSA PKCS#1 v1.5 or ECDSA over SHA-256;
 *   - EnvelopedData with AES-256-CBC, and AuthEnvelopedData (RFC 5083) with AES-256-GCM
 *     (RFC 5084), the content key transported under RSAES-OAEP-SHA-256 (RFC 8017, RFC 4055 §4)
 *     or RSAES-PKCS1-v1_5 for recipients that have not said they support OAEP;
 *   - verification of SignedData from any standard client (BER tolerated).
 */
import { Buffer } from 'node:buffer';
import { constants, createCipheriv, createHash, publicEncrypt, randomBytes, sign, type KeyObject } from 'node:crypto';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import {
  algorithm,
  contentOf,
  expectUniversal,
  explicit,
  implicitPrimitive,
  int,
  isContext,
  isUniversal,
  nul,
  octets,
  oid,
  oidOf,
  parseAsn1,
  parseAsn1Prefix,
  rawOf,
  seq,
  setOf,
  TAG,
  timeOf,
  tlv,
  utcTime,
  type Asn1Node,
} from './asn1.ts';
import { DIGESTS, OID } from './oids.ts';
import { verifyWithAlgorithm } from './signature-alg.ts';
import { parseCertificate, type Certificate } from './x509.ts';

/** Content encryption for S/MIME: CBC (EnvelopedData, every client) or GCM (AuthEnvelopedData, RFC 8551 §2.7 "MUST"). */
export type ContentCipher = 'aes-256-cbc' | 'aes-256-gcm';

/** RSA key transport padding: OAEP with SHA-256 where the recipient supports it, else PKCS#1 v1.5. */
export type KeyTransport = 'rsa-oaep' | 'rsa-pkcs1';

/** A signer: its certificate, the chain to include, and its private key (RSA or EC). */
export interface CmsSigner {
  cert: Certificate;
  chain: Certificate[];
  key: KeyObject;
}

function issuerAndSerial(cert: Certificate): Buffer {
  return seq(cert.issuerDer, int(cert.serial));
}

/**
 * Builds a DER SignedData ContentInfo over `content` (RFC 5652 §5). Detached leaves the content
 * out (multipart/signed, RFC 8551 §3.5.3); the signature covers the DER signed attributes, and
 * the messageDigest attribute binds the content.
 */
export function signedData(content: Buffer, signer: CmsSigner, opts: { detached: boolean; signingTime: Date }): Buffer {
  const digest = createHash('sha256').update(content).digest();
  const attrs = setOf(
    seq(oid(OID.contentType), setOf(oid(OID.data))),
    seq(oid(OID.signingTime), setOf(utcTime(opts.signingTime))),
    seq(oid(OID.messageDigest), setOf(octets(digest))),
  );
  let signatureAlg: Buffer;
  let signature: Buffer;
  if (signer.key.asymmetricKeyType === 'rsa') {
    // rsaEncryption with the digest algorithm's hash is what every client emits and accepts (RFC 3370 §3.2).
    signatureAlg = algorithm(OID.rsaEncryption, nul());
    signature = sign('sha256', attrs, { key: signer.key, padding: constants.RSA_PKCS1_PADDING });
  } else if (signer.key.asymmetricKeyType === 'ec') {
    signatureAlg = algorithm(OID.ecdsaSha256);
    signature = sign('sha256', attrs, { key: signer.key, dsaEncoding: 'der' });
  } else {
    throw new IntentmailError('validation_failed', `S/MIME signing needs an RSA or EC key, not ${signer.key.asymmetricKeyType}`);
  }
  // In the SignerInfo the attributes are [0] IMPLICIT: same bytes, context tag instead of SET.
  const signedAttrs = Buffer.concat([Buffer.from([0xa0]), attrs.subarray(1)]);
  const signerInfo = seq(int(1), issuerAndSerial(signer.cert), algorithm(OID.sha256), signedAttrs, signatureAlg, octets(signature));
  const certs = [signer.cert, ...signer.chain.filter((c) => c.fingerprint !== signer.cert.fingerprint)].map((c) => c.der);
  const encap = opts.detached ? seq(oid(OID.data)) : seq(oid(OID.data), explicit(0, octets(content)));
  const sd = seq(int(1), setOf(algorithm(OID.sha256)), encap, tlv(0xa0, ...certs), setOf(signerInfo));
  return seq(oid(OID.signedData), explicit(0, sd));
}

/** One recipient of an encrypted message: certificate and how the content key reaches it. */
export interface CmsRecipient {
  cert: Certificate;
  transport: KeyTransport;
}

function keyTransRecipientInfo(recipient: CmsRecipient, contentKey: Buffer): Buffer {
  let alg: Buffer;
  let encryptedKey: Buffer;
  if (recipient.transport === 'rsa-oaep') {
    // RSAES-OAEP-params (RFC 4055 §4.1): SHA-256 and MGF1 with SHA-256; pSourceFunc left at its default.
    alg = algorithm(OID.rsaesOaep, seq(explicit(0, algorithm(OID.sha256)), explicit(1, algorithm(OID.mgf1, algorithm(OID.sha256)))));
    encryptedKey = publicEncrypt({ key: recipient.cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  } else {
    alg = algorithm(OID.rsaEncryption, nul());
    encryptedKey = publicEncrypt({ key: recipient.cert.publicKey, padding: constants.RSA_PKCS1_PADDING }, contentKey);
  }
  return seq(int(0), issuerAndSerial(recipient.cert), alg, octets(encryptedKey));
}

/**
 * Encrypts `content` for `recipients` (RFC 5652 §6, RFC 5083): a fresh AES-256 key per message,
 * transported to each recipient's RSA key. Returns the DER ContentInfo and its S/MIME smime-type.
 */
export function envelopedData(content: Buffer, recipients: CmsRecipient[], cipher: ContentCipher): { der: Buffer; smimeType: 'enveloped-data' | 'authEnveloped-data' } {
  const contentKey = randomBytes(32);
  try {
    const infos = setOf(...recipients.map((r) => keyTransRecipientInfo(r, contentKey)));
    if (cipher === 'aes-256-cbc') {
      const iv = randomBytes(16);
      const enc = createCipheriv('aes-256-cbc', contentKey, iv);
      const ciphertext = Buffer.concat([enc.update(content), enc.final()]);
      const eci = seq(oid(OID.data), algorithm(OID.aes256Cbc, octets(iv)), implicitPrimitive(0, ciphertext));
      return { der: seq(oid(OID.envelopedData), explicit(0, seq(int(0), infos, eci))), smimeType: 'enveloped-data' };
    }
    // GCM (RFC 5084 §3.2): 12-byte nonce, 16-byte tag carried as the AuthEnvelopedData mac; no authenticated attributes.
    const nonce = randomBytes(12);
    const enc = createCipheriv('aes-256-gcm', contentKey, nonce, { authTagLength: 16 });
    const ciphertext = Buffer.concat([enc.update(content), enc.final()]);
    const eci = seq(oid(OID.data), algorithm(OID.aes256Gcm, seq(octets(nonce), int(16))), implicitPrimitive(0, ciphertext));
    return { der: seq(oid(OID.authEnvelopedData), explicit(0, seq(int(0), infos, eci, octets(enc.getAuthTag())))), smimeType: 'authEnveloped-data' };
  } finally {
    contentKey.fill(0);
  }
}

/** The outcome of checking one CMS SignedData. */
export interface CmsVerification {
  status: 'valid' | 'invalid';
  reason: string;
  /** The signer's certificate, when it was found. */
  signer: Certificate | null;
  /** Every certificate the structure carried (chain building uses them). */
  certificates: Certificate[];
  signingTime: Date | null;
  /** The encapsulated content (opaque signing), or null for detached signatures. */
  content: Buffer | null;
  /** Algorithms the signer says it can decrypt (smimeCapabilities, RFC 8551 §2.5.2), as OIDs. */
  capabilities: string[];
}

function invalid(reason: string, partial: Partial<CmsVerification> = {}): CmsVerification {
  return { status: 'invalid', reason, signer: null, certificates: [], signingTime: null, content: null, capabilities: [], ...partial };
}

/**
 * Checks a SignedData ContentInfo (RFC 5652 §5.6): for the first SignerInfo whose certificate is
 * included, the messageDigest attribute must equal the content's digest and the signature must
 * verify over the DER signed attributes. `detachedContent` is the signed MIME part for
 * multipart/signed; null means the content is encapsulated. Never throws: malformed input is `invalid`.
 * Whether the certificate is trusted, current and bound to the sender is the caller's decision.
 */
export function verifySignedData(der: Uint8Array, detachedContent: Buffer | null): CmsVerification {
  let root: Asn1Node;
  try {
    root = parseAsn1Prefix(der);
  } catch (err) {
    return invalid(`signature is not valid ASN.1: ${errText(err)}`);
  }
  try {
    if (oidOf(root.children[0]) !== OID.signedData) return invalid('CMS content is not signed-data');
    const sd = expectUniversal(root.children[1]?.children[0], TAG.SEQUENCE, 'SignedData');
    const encap = expectUniversal(sd.children[2], TAG.SEQUENCE, 'encapContentInfo');
    const eContentType = oidOf(encap.children[0]);
    const encapsulated = isContext(encap.children[1], 0) ? contentOf(encap.children[1].children[0]) : null;
    const content = detachedContent ?? encapsulated;
    if (content === null) return invalid('signature carries no content and none was given');
    const certificates: Certificate[] = [];
    let signerInfos: Asn1Node | undefined;
    for (const field of sd.children.slice(3)) {
      if (isContext(field, 0)) {
        for (const c of field.children.slice(0, LIMITS.MAX_CERTS_PER_OBJECT)) {
          if (!isUniversal(c, TAG.SEQUENCE)) continue; // other certificate formats (attribute certificates) are not signers
          try {
            certificates.push(parseCertificate(rawOf(c)));
          } catch {
            // An unparseable extra certificate cannot be the signer's; the signer lookup decides.
          }
        }
      } else if (isUniversal(field, TAG.SET)) signerInfos = field;
    }
    if (signerInfos === undefined || signerInfos.children.length === 0) return invalid('signature has no signer');
    const base = { certificates, content: encapsulated };
    let lastReason = 'no signer certificate is included in the signature';
    for (const si of signerInfos.children.slice(0, LIMITS.MAX_CMS_SIGNERS)) {
      const outcome = checkSignerInfo(si, certificates, content, eContentType);
      if (outcome.status === 'valid') return { ...outcome, ...base };
      lastReason = outcome.reason;
      if (outcome.signer) return { ...outcome, ...base };
    }
    return invalid(lastReason, base);
  } catch (err) {
    return invalid(`signature structure: ${errText(err)}`);
  }
}

function checkSignerInfo(si: Asn1Node, certs: Certificate[], content: Buffer, eContentType: string): Omit<CmsVerification, 'certificates' | 'content'> {
  const f = si.children;
  const sid = f[1];
  let signer: Certificate | undefined;
  if (isUniversal(sid, TAG.SEQUENCE)) {
    const issuer = rawOf(sid.children[0]);
    const serial = contentOf(sid.children[1]);
    signer = certs.find((c) => c.issuerDer.equals(issuer) && c.serial.equals(serial));
  } else if (isContext(sid, 0)) {
    const ski = contentOf(sid);
    signer = certs.find((c) => c.subjectKeyId?.equals(ski) ?? false);
  }
  const none = { signingTime: null, capabilities: [] as string[] };
  if (signer === undefined) return { status: 'invalid', reason: 'the signer certificate is not included in the signature', signer: null, ...none };
  const digestOid = oidOf(f[2].children[0]);
  const hash = DIGESTS[digestOid];
  if (hash === undefined) return { status: 'invalid', reason: `unsupported digest algorithm ${digestOid}`, signer, ...none };
  let i = 3;
  let signedData: Buffer = content;
  let signingTime: Date | null = null;
  const capabilities: string[] = [];
  if (isContext(f[i], 0)) {
    const attrsNode = f[i];
    let digestAttr: Buffer | null = null;
    let contentTypeAttr: string | null = null;
    for (const attr of attrsNode.children) {
      const type = oidOf(attr.children[0]);
      const value = attr.children[1]?.children[0];
      if (type === OID.messageDigest) digestAttr = contentOf(value);
      else if (type === OID.contentType) contentTypeAttr = oidOf(value);
      else if (type === OID.signingTime) signingTime = timeOf(value);
      else if (type === OID.smimeCapabilities) for (const cap of value?.children ?? []) capabilities.push(oidOf(cap.children[0]));
    }
    // RFC 5652 §5.3: with signed attributes, contentType and messageDigest MUST be present.
    if (digestAttr === null || contentTypeAttr === null) return { status: 'invalid', reason: 'signed attributes lack messageDigest or contentType', signer, signingTime, capabilities };
    if (contentTypeAttr !== eContentType) return { status: 'invalid', reason: 'contentType attribute does not match the content', signer, signingTime, capabilities };
    if (!createHash(hash).update(content).digest().equals(digestAttr)) {
      return { status: 'invalid', reason: 'message digest does not match: the content was changed after signing', signer, signingTime, capabilities };
    }
    // RFC 5652 §5.4: the signature is over the DER SET OF, not the [0] IMPLICIT tag.
    const raw = rawOf(attrsNode);
    signedData = Buffer.concat([Buffer.from([0x31]), raw.subarray(1)]);
    i += 1;
  }
  const check = verifyWithAlgorithm(f[i], hash, signedData, contentOf(f[i + 1]), signer.publicKey);
  if (!check.ok) return { status: 'invalid', reason: check.reason === 'signature does not verify' ? 'signature does not verify: the message or its signature was changed' : check.reason, signer, signingTime, capabilities };
  return { status: 'valid', reason: `signed by "${signer.subject}"`, signer, signingTime, capabilities };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads just enough of a CMS ContentInfo to say what it is (signed-data, enveloped-data, …). */
export function contentInfoType(der: Uint8Array): string | null {
  try {
    return oidOf(parseAsn1(der).children[0]);
  } catch {
    return null;
  }
}
