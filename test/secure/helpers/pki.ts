/**
 * Test PKI: a CA, S/MIME leaf certificates with chosen validity and usages, CRLs, PKCS#12 files
 * and OpenPGP keys, all generated in-process (node:crypto keys, node-forge certificates,
 * openpgp keys) so tests need no external tool to have real, standard material.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import forge from 'node-forge';
import * as openpgp from 'openpgp';
import { algorithm, int, nul, seq, tlv, utcTime } from '../../../src/secure/asn1.ts';
import { OID } from '../../../src/secure/oids.ts';
import { parseCertificate, toPem } from '../../../src/secure/x509.ts';

const DAY = 24 * 3600_000;

/** A fresh RSA-2048 key pair as PEM (node:crypto is far faster than forge at generating keys). */
export function rsaKeyPair(bits = 2048): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A certificate with its key: DER, PEM, and the private key PEM. */
export interface TestCert {
  der: Buffer;
  pem: string;
  keyPem: string;
  forgeCert: forge.pki.Certificate;
}

let serialCounter = 0x1000;

interface CertOptions {
  cn: string;
  email?: string;
  issuer?: TestCert;
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  keyUsage?: Record<string, boolean>;
  emailProtection?: boolean;
  bits?: number;
  serial?: number;
}

/** Issues a certificate (self-signed when no issuer) with the usual S/MIME or CA extensions. */
export function makeCert(opts: CertOptions): TestCert {
  const pair = rsaKeyPair(opts.bits ?? 2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicPem);
  cert.serialNumber = (opts.serial ?? ++serialCounter).toString(16).padStart(4, '0');
  const now = Date.now();
  cert.validity.notBefore = opts.notBefore ?? new Date(now - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(now + 365 * DAY);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: opts.cn }, { name: 'organizationName', value: 'Intentmail Test' }];
  if (opts.email) subject.push({ name: 'emailAddress', value: opts.email });
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.forgeCert.subject.attributes : subject);
  const extensions: Record<string, unknown>[] = [];
  if (opts.ca) {
    extensions.push({ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  } else {
    extensions.push({ name: 'basicConstraints', cA: false });
    extensions.push({ name: 'keyUsage', critical: true, ...(opts.keyUsage ?? { digitalSignature: true, keyEncipherment: true }) });
    if (opts.emailProtection !== false) extensions.push({ name: 'extKeyUsage', emailProtection: true });
    else extensions.push({ name: 'extKeyUsage', serverAuth: true });
    if (opts.email) extensions.push({ name: 'subjectAltName', altNames: [{ type: 1, value: opts.email }] });
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(extensions);
  const signingKey = opts.issuer ? opts.issuer.keyPem : pair.privatePem;
  cert.sign(forge.pki.privateKeyFromPem(signingKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { der, pem: toPem('CERTIFICATE', der), keyPem: pair.privatePem, forgeCert: cert };
}

/** A CA and an S/MIME leaf for `email` issued by it. */
export function makeChain(email: string, leaf: Omit<CertOptions, 'cn' | 'issuer' | 'email'> = {}): { ca: TestCert; leaf: TestCert } {
  const ca = makeCert({ cn: `Test CA for ${email}`, ca: true });
  return { ca, leaf: makeCert({ cn: email, email, issuer: ca, ...leaf }) };
}

/** A DER CRL signed by `ca` revoking the given leaf certificates (RFC 5280 §5.1). */
export function makeCrl(ca: TestCert, revoked: TestCert[]): Buffer {
  const caInfo = parseCertificate(ca.der);
  const now = new Date();
  const entries = revoked.map((c) => seq(int(parseCertificate(c.der).serial), utcTime(new Date(now.getTime() - 3600_000))));
  const tbs = seq(int(1), algorithm(OID.sha256WithRsa, nul()), caInfo.subjectDer, utcTime(now), utcTime(new Date(now.getTime() + 30 * DAY)), seq(...entries));
  const signature = sign('sha256', tbs, createPrivateKey(ca.keyPem));
  return seq(tbs, algorithm(OID.sha256WithRsa, nul()), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

/** A PKCS#12 file holding `cert`, its key and the chain, protected by `password` (AES-256 / SHA-256, like OpenSSL 3). */
export function makePkcs12(cert: TestCert, chain: TestCert[], password: string): Buffer {
  const key = forge.pki.privateKeyFromPem(cert.keyPem);
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert.forgeCert, ...chain.map((c) => c.forgeCert)], password, { algorithm: 'aes256', generateLocalKeyId: true, friendlyName: 'test' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** An OpenPGP v4 key pair for `email` (Curve25519, what gpg 2.2 reads), optionally passphrase-protected. */
export async function makePgpKey(email: string, opts: { passphrase?: string; keyExpirationTime?: number; date?: Date } = {}): Promise<{ publicArmored: string; privateArmored: string; revocationCertificate: string }> {
  const { publicKey, privateKey, revocationCertificate } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: email.split('@')[0], email }],
    passphrase: opts.passphrase,
    keyExpirationTime: opts.keyExpirationTime,
    date: opts.date,
    format: 'armored',
  });
  return { publicArmored: publicKey, privateArmored: privateKey, revocationCertificate };
}

export { DAY };
