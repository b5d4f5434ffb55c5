/**
 * Object identifiers used by CMS (RFC 5652, 5083, 8551) and X.509 (RFC 5280), and the mapping
 * from signature and digest algorithm identifiers to what node:crypto calls them.
 */

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  smimeCapabilities: '1.2.840.113549.1.9.15',
  emailAddress: '1.2.840.113549.1.9.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha1WithRsa: '1.2.840.113549.1.1.5',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  anyExtendedKeyUsage: '2.5.29.37.0',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  crlReason: '2.5.29.21',
} as const;

/** Digest algorithm OID → node:crypto hash name. SHA-1 is read (old signatures) but never produced. */
export const DIGESTS: Record<string, string> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

/** How a signature algorithm OID verifies: the hash (null when it comes from elsewhere) and the key type. */
export interface SignatureScheme {
  hash: string | null;
  kind: 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'ed25519';
}

/** Signature algorithm OID → scheme. `rsaEncryption` in a SignerInfo means PKCS#1 v1.5 with the digest algorithm's hash (RFC 3370 §3.2). */
export const SIGNATURES: Record<string, SignatureScheme> = {
  [OID.rsaEncryption]: { hash: null, kind: 'rsa-pkcs1' },
  [OID.sha1WithRsa]: { hash: 'sha1', kind: 'rsa-pkcs1' },
  [OID.sha256WithRsa]: { hash: 'sha256', kind: 'rsa-pkcs1' },
  [OID.sha384WithRsa]: { hash: 'sha384', kind: 'rsa-pkcs1' },
  [OID.sha512WithRsa]: { hash: 'sha512', kind: 'rsa-pkcs1' },
  [OID.rsassaPss]: { hash: null, kind: 'rsa-pss' },
  [OID.ecdsaSha256]: { hash: 'sha256', kind: 'ecdsa' },
  [OID.ecdsaSha384]: { hash: 'sha384', kind: 'ecdsa' },
  [OID.ecdsaSha512]: { hash: 'sha512', kind: 'ecdsa' },
  [OID.ed25519]: { hash: null, kind: 'ed25519' },
};
