/**
 * X.509 certificates and CRLs for S/MIME (RFC 5280, RFC 8550): the fields the key store and CMS
 * need (issuer and serial as encoded, e-mail addresses, key usage, extended key usage, CA flag,
 * key identifiers), the checks made on import and on every use (validity, usage, key size),
 * chain building to a trust anchor, and revocation by CRL. Signatures on certificates are checked
 * by node:crypto's X509Certificate; CRL signatures through signature-alg.ts.
 */
import { Buffer } from 'node:buffer';
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { LIMITS } from '../core/limits.ts';
import { contentOf, expectUniversal, isContext, isUniversal, oidOf, parseAsn1, rawOf, stringOf, TAG, timeOf, type Asn1Node } from './asn1.ts';
import { OID } from './oids.ts';
import { verifyWithAlgorithm } from './signature-alg.ts';

/** The RFC 5280 §4.2.1.3 key usage bits, by name, in bit order. */
const KEY_USAGE_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const;

/** A parsed certificate: node's view plus the encoded fields CMS matches on. */
export interface Certificate {
  der: Buffer;
  x509: X509Certificate;
  /** Hex SHA-256 of the DER, lower-case. */
  fingerprint: string;
  /** The serial number's INTEGER content bytes, exactly as encoded. */
  serial: Buffer;
  issuerDer: Buffer;
  subjectDer: Buffer;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Lower-case addresses from subjectAltName rfc822Name entries and the subject's emailAddress. */
  emails: string[];
  /** Key usage names, or null when the extension is absent (any usage, RFC 5280 §4.2.1.3). */
  keyUsage: string[] | null;
  /** Extended key usage OIDs, or null when absent. */
  extKeyUsage: string[] | null;
  isCa: boolean;
  subjectKeyId: Buffer | null;
  authorityKeyId: Buffer | null;
  publicKey: KeyObject;
  /** `rsa`, `ec`, `ed25519`, … (node's asymmetricKeyType). */
  keyType: string;
  /** RSA modulus length in bits, null for other key types. */
  rsaBits: number | null;
}

/** Parses one DER certificate; throws IntentmailError('validation_failed') when it is not one. */
export function parseCertificate(der: Uint8Array): Certificate {
  const bytes = Buffer.from(der);
  const root = parseAsn1(bytes);
  const tbs = expectUniversal(root.children[0], TAG.SEQUENCE, 'tbsCertificate');
  let i = 0;
  if (isContext(tbs.children[0], 0)) i = 1; // version [0] EXPLICIT
  const serialNode = expectUniversal(tbs.children[i], TAG.INTEGER, 'serialNumber');
  const issuerNode = expectUniversal(tbs.children[i + 2], TAG.SEQUENCE, 'issuer');
  const subjectNode = expectUniversal(tbs.children[i + 4], TAG.SEQUENCE, 'subject');
  const extensions = new Map<string, Asn1Node>();
  for (const field of tbs.children.slice(i + 6)) {
    if (!isContext(field, 3)) continue;
    for (const ext of expectUniversal(field.children[0], TAG.SEQUENCE, 'extensions').children) {
      const valueNode = ext.children[ext.children.length - 1];
      extensions.set(oidOf(ext.children[0]), parseAsn1(contentOf(expectUniversal(valueNode, TAG.OCTET_STRING, 'extnValue'))));
    }
  }
  const x509 = new X509Certificate(bytes);
  const publicKey = x509.publicKey;
  const emails = new Set<string>();
  const san = extensions.get(OID.subjectAltName);
  if (san) for (const name of san.children) if (isContext(name, 1) && !name.constructed) emails.add(contentOf(name).toString('latin1').toLowerCase());
  for (const email of nameAttributes(subjectNode, OID.emailAddress)) emails.add(email.toLowerCase());
  const basic = extensions.get(OID.basicConstraints);
  const ski = extensions.get(OID.subjectKeyIdentifier);
  const aki = extensions.get(OID.authorityKeyIdentifier);
  const akiKeyId = aki?.children.find((c) => isContext(c, 0));
  const details = publicKey.asymmetricKeyDetails;
  return {
    der: bytes,
    x509,
    fingerprint: createHash('sha256').update(bytes).digest('hex'),
    serial: contentOf(serialNode),
    issuerDer: rawOf(issuerNode),
    subjectDer: rawOf(subjectNode),
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    emails: [...emails].filter((e) => e.includes('@')),
    keyUsage: extensions.has(OID.keyUsage) ? keyUsageNames(extensions.get(OID.keyUsage)!) : null,
    extKeyUsage: extensions.has(OID.extKeyUsage) ? extensions.get(OID.extKeyUsage)!.children.map((c) => oidOf(c)) : null,
    isCa: basic !== undefined && isUniversal(basic.children[0], TAG.BOOLEAN) && contentOf(basic.children[0])[0] !== 0,
    subjectKeyId: ski ? contentOf(ski) : null,
    authorityKeyId: akiKeyId ? contentOf(akiKeyId) : null,
    publicKey,
    keyType: publicKey.asymmetricKeyType ?? 'unknown',
    rsaBits: publicKey.asymmetricKeyType === 'rsa' || publicKey.asymmetricKeyType === 'rsa-pss' ? (details?.modulusLength ?? null) : null,
  };
}

/** Node prints distinguished names one attribute per line; the store and reports want one line. */
function oneLine(dn: string): string {
  return dn.split('\n').filter((s) => s !== '').join(', ');
}

/** Values of one attribute type in a Name (RDNSequence of SETs of type/value pairs). */
function nameAttributes(name: Asn1Node, type: string): string[] {
  const out: string[] = [];
  for (const rdn of name.children) for (const atv of rdn.children) if (oidOf(atv.children[0]) === type) out.push(stringOf(atv.children[1]));
  return out;
}

function keyUsageNames(bits: Asn1Node): string[] {
  const bytes = contentOf(expectUniversal(bits, TAG.BIT_STRING, 'keyUsage'));
  const out: string[] = [];
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[1 + (bit >> 3)];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) out.push(name);
  });
  return out;
}

/** Splits PEM text into its blocks: label and DER bytes. Text outside blocks is ignored (openssl prints headers). */
export function pemBlocks(text: string): { label: string; der: Buffer; text: string }[] {
  const out: { label: string; der: Buffer; text: string }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    // Encrypted legacy PEM keys carry `Proc-Type`/`DEK-Info` headers; keep the text for node:crypto.
    const body = m[2].includes(':') ? '' : m[2];
    out.push({ label: m[1], der: Buffer.from(body.replace(/\s+/g, ''), 'base64'), text: m[0] });
  }
  return out;
}

/** DER → PEM text with a label. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** What a certificate is checked for. */
export type CertPurpose = 'encrypt' | 'sign' | 'ca';

/**
 * Checks one certificate for a purpose at `now`: validity period, key usage bits, the
 * emailProtection extended key usage (RFC 8550 §4.4), and the key size. Returns the reasons it
 * may not be used; empty means usable.
 */
export function certificateProblems(cert: Certificate, purpose: CertPurpose, now: Date): string[] {
  const problems: string[] = [];
  const who = `certificate "${cert.subject}"`;
  if (now < cert.notBefore) problems.push(`${who} is not valid before ${cert.notBefore.toISOString()}`);
  if (now > cert.notAfter) problems.push(`${who} expired on ${cert.notAfter.toISOString()}`);
  if (cert.rsaBits !== null && cert.rsaBits < LIMITS.MIN_RSA_BITS) problems.push(`${who} has a ${cert.rsaBits}-bit RSA key, below the minimum of ${LIMITS.MIN_RSA_BITS}`);
  if (purpose === 'ca') {
    if (!cert.isCa) problems.push(`${who} is not a CA certificate (basicConstraints cA is not set)`);
    if (cert.keyUsage !== null && !cert.keyUsage.includes('keyCertSign')) problems.push(`${who} may not sign certificates (keyUsage lacks keyCertSign)`);
    return problems;
  }
  if (cert.isCa) problems.push(`${who} is a CA certificate, not an end-entity certificate`);
  if (cert.keyUsage !== null) {
    const needed = purpose === 'encrypt' ? (cert.keyType === 'rsa' ? ['keyEncipherment'] : ['keyAgreement']) : ['digitalSignature', 'nonRepudiation'];
    if (!needed.some((u) => cert.keyUsage!.includes(u))) problems.push(`${who} may not be used to ${purpose} (keyUsage has ${cert.keyUsage.join(', ') || 'nothing'}, needs ${needed.join(' or ')})`);
  }
  if (cert.extKeyUsage !== null && !cert.extKeyUsage.includes(OID.emailProtection) && !cert.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    problems.push(`${who} is not for e-mail (extendedKeyUsage lacks emailProtection)`);
  }
  if (purpose === 'encrypt' && cert.keyType !== 'rsa') problems.push(`${who} has a ${cert.keyType} key; S/MIME encryption here uses RSA key transport only`);
  if (cert.emails.length === 0) problems.push(`${who} names no e-mail address (subjectAltName rfc822Name or emailAddress)`);
  return problems;
}

/** A parsed certificate revocation list. */
export interface Crl {
  der: Buffer;
  fingerprint: string;
  issuerDer: Buffer;
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** Hex serial → revocation date. */
  revoked: Map<string, Date>;
  tbs: Buffer;
  signatureAlgorithm: Asn1Node;
  signature: Buffer;
}

/** Parses a DER CRL (RFC 5280 §5.1). Its signature is checked against the issuer when it is used. */
export function parseCrl(der: Uint8Array): Crl {
  const bytes = Buffer.from(der);
  const root = parseAsn1(bytes);
  const tbs = expectUniversal(root.children[0], TAG.SEQUENCE, 'tbsCertList');
  let i = isUniversal(tbs.children[0], TAG.INTEGER) ? 1 : 0;
  const issuerNode = expectUniversal(tbs.children[i + 1], TAG.SEQUENCE, 'CRL issuer');
  const thisUpdate = timeOf(tbs.children[i + 2]);
  i += 3;
  let nextUpdate: Date | null = null;
  const maybeNext = tbs.children[i];
  if (isUniversal(maybeNext, TAG.UTC_TIME) || isUniversal(maybeNext, TAG.GENERALIZED_TIME)) {
    nextUpdate = timeOf(maybeNext);
    i += 1;
  }
  const revoked = new Map<string, Date>();
  const list = tbs.children[i];
  if (isUniversal(list, TAG.SEQUENCE)) {
    for (const entry of list.children) revoked.set(contentOf(entry.children[0]).toString('hex'), timeOf(entry.children[1]));
  }
  return {
    der: bytes,
    fingerprint: createHash('sha256').update(bytes).digest('hex'),
    issuerDer: rawOf(issuerNode),
    issuer: describeName(issuerNode),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: rawOf(tbs),
    signatureAlgorithm: expectUniversal(root.children[1], TAG.SEQUENCE, 'CRL signatureAlgorithm'),
    signature: contentOf(expectUniversal(root.children[2], TAG.BIT_STRING, 'CRL signature')).subarray(1),
  };
}

/** A readable one-line form of a Name for messages (`CN=…, O=…`). */
function describeName(name: Asn1Node): string {
  const short: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', [OID.emailAddress]: 'emailAddress' };
  const parts: string[] = [];
  for (const rdn of name.children) for (const atv of rdn.children) parts.push(`${short[oidOf(atv.children[0])] ?? oidOf(atv.children[0])}=${stringOf(atv.children[1])}`);
  return parts.join(', ');
}

/** True when `issuer` issued `cert`: names match, key identifiers agree when both are present, and the signature verifies. */
export function issuedBy(cert: Certificate, issuer: Certificate): boolean {
  if (!cert.issuerDer.equals(issuer.subjectDer)) return false;
  if (cert.authorityKeyId && issuer.subjectKeyId && !cert.authorityKeyId.equals(issuer.subjectKeyId)) return false;
  try {
    return cert.x509.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Whether `crl` was signed by `issuer` (names match and the signature verifies). */
export function crlSignedBy(crl: Crl, issuer: Certificate): boolean {
  if (!crl.issuerDer.equals(issuer.subjectDer)) return false;
  if (issuer.keyUsage !== null && !issuer.keyUsage.includes('cRLSign')) return false;
  return verifyWithAlgorithm(crl.signatureAlgorithm, null, crl.tbs, crl.signature, issuer.publicKey).ok;
}

/** Where a chain ended. */
export type TrustPath = 'anchor' | 'public-root' | 'pinned';

/** A chain from a leaf to its trust anchor, or why there is none. */
export type ChainResult = { ok: true; path: Certificate[]; trust: TrustPath } | { ok: false; reason: string };

/** What chain building may use. */
export interface ChainContext {
  /** Certificates that may serve as intermediates (from the same file, the same CMS structure, the store). */
  pool: Certificate[];
  /** The tenant's trust anchors (imported CA certificates). */
  anchors: Certificate[];
  crls: Crl[];
  now: Date;
  /** Also accept the public roots Node ships (Mozilla's list). */
  publicRoots: boolean;
  /** Accept a self-signed end-entity certificate as its own anchor (an operator's explicit import). */
  allowPinned: boolean;
}

let publicRootCache: Certificate[] | null = null;

/** Node's bundled root certificates, parsed once. */
function publicRoots(): Certificate[] {
  if (publicRootCache === null) {
    publicRootCache = [];
    for (const pem of rootCertificates) {
      try {
        publicRootCache.push(parseCertificate(pemBlocks(pem)[0].der));
      } catch {
        // A root Node ships that our parser rejects is simply not offered as an anchor.
      }
    }
  }
  return publicRootCache;
}

/**
 * Builds and checks the path from `leaf` to a trust anchor (RFC 5280 §6, simplified to what
 * S/MIME needs): each issuer found by name, key identifier and signature, valid now, a CA that
 * may sign certificates, and not revoked by any CRL its issuer signed. Bounded by
 * LIMITS.MAX_CERT_CHAIN_LENGTH.
 */
export function buildChain(leaf: Certificate, ctx: ChainContext): ChainResult {
  const path: Certificate[] = [leaf];
  const anchorSet = new Set(ctx.anchors.map((a) => a.fingerprint));
  let current = leaf;
  for (let depth = 0; depth < LIMITS.MAX_CERT_CHAIN_LENGTH; depth++) {
    if (anchorSet.has(current.fingerprint)) return { ok: true, path, trust: 'anchor' };
    const selfSigned = current.subjectDer.equals(current.issuerDer) && issuedBy(current, current);
    if (selfSigned) {
      if (ctx.publicRoots && publicRoots().some((r) => r.fingerprint === current.fingerprint)) return { ok: true, path, trust: 'public-root' };
      if (ctx.allowPinned && current === leaf) return { ok: true, path, trust: 'pinned' };
      return { ok: false, reason: `self-signed certificate "${current.subject}" is not a trust anchor of this tenant (import it as a CA first)` };
    }
    const candidates = [...ctx.anchors, ...ctx.pool, ...(ctx.publicRoots ? publicRoots() : [])];
    const issuer = candidates.find((c) => c.fingerprint !== current.fingerprint && issuedBy(current, c));
    if (issuer === undefined) return { ok: false, reason: `issuer "${current.issuer}" of "${current.subject}" is not known (import the CA certificate)` };
    const problems = certificateProblems(issuer, 'ca', ctx.now);
    if (problems.length > 0) return { ok: false, reason: `chain: ${problems[0]}` };
    const revoked = revocation(current, issuer, ctx.crls);
    if (revoked) return { ok: false, reason: revoked };
    path.push(issuer);
    current = issuer;
  }
  return { ok: false, reason: `certificate chain longer than ${LIMITS.MAX_CERT_CHAIN_LENGTH}` };
}

/** The reason `cert` is revoked by a CRL that `issuer` signed, or null. */
export function revocation(cert: Certificate, issuer: Certificate, crls: Crl[]): string | null {
  const serial = cert.serial.toString('hex');
  for (const crl of crls) {
    const when = crl.revoked.get(serial);
    if (when !== undefined && crlSignedBy(crl, issuer)) return `certificate "${cert.subject}" was revoked on ${when.toISOString()} (CRL of "${crl.issuer}")`;
  }
  return null;
}
