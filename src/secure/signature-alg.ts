/**
 * Verifies a signature given its AlgorithmIdentifier, through node:crypto: RSA PKCS#1 v1.5,
 * RSASSA-PSS (RFC 4055 parameters), ECDSA and Ed25519. Used for CMS SignerInfos and CRLs.
 */
import { Buffer } from 'node:buffer';
import { constants, verify, type KeyObject } from 'node:crypto';
import { contentOf, isContext, isUniversal, oidOf, TAG, type Asn1Node } from './asn1.ts';
import { DIGESTS, OID, SIGNATURES } from './oids.ts';

/** The outcome of one signature check: `ok`, or why not (unknown algorithm, mismatch). */
export type SignatureCheck = { ok: true; hash: string } | { ok: false; reason: string };

/**
 * Checks `signature` over `data` with `key`. `algorithm` is the AlgorithmIdentifier node;
 * `digestHash` is the hash a bare `rsaEncryption` signature uses (the SignerInfo's digest algorithm).
 */
export function verifyWithAlgorithm(algorithm: Asn1Node, digestHash: string | null, data: Buffer, signature: Buffer, key: KeyObject): SignatureCheck {
  const algOid = oidOf(algorithm.children[0]);
  const scheme = SIGNATURES[algOid];
  if (scheme === undefined) return { ok: false, reason: `unsupported signature algorithm ${algOid}` };
  try {
    switch (scheme.kind) {
      case 'rsa-pkcs1': {
        const hash = scheme.hash ?? digestHash;
        if (hash === null) return { ok: false, reason: 'RSA signature without a digest algorithm' };
        if (key.asymmetricKeyType !== 'rsa') return { ok: false, reason: 'RSA signature but the certificate key is not RSA' };
        const good = verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
        return good ? { ok: true, hash } : { ok: false, reason: 'signature does not verify' };
      }
      case 'rsa-pss': {
        const params = pssParams(algorithm.children[1]);
        if (!params.ok) return params;
        const good = verify(params.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, signature);
        return good ? { ok: true, hash: params.hash } : { ok: false, reason: 'signature does not verify' };
      }
      case 'ecdsa': {
        if (key.asymmetricKeyType !== 'ec') return { ok: false, reason: 'ECDSA signature but the certificate key is not EC' };
        const good = verify(scheme.hash!, data, { key, dsaEncoding: 'der' }, signature);
        return good ? { ok: true, hash: scheme.hash! } : { ok: false, reason: 'signature does not verify' };
      }
      case 'ed25519': {
        if (key.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'Ed25519 signature but the certificate key is not Ed25519' };
        const good = verify(null, data, key, signature);
        return good ? { ok: true, hash: 'sha512' } : { ok: false, reason: 'signature does not verify' };
      }
    }
  } catch (err) {
    return { ok: false, reason: `signature check failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** RSASSA-PSS-params (RFC 4055 §3.1); node:crypto uses one hash for the message and MGF1, so they must agree. */
function pssParams(node: Asn1Node | undefined): { ok: true; hash: string; saltLength: number } | { ok: false; reason: string } {
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let saltLength = 20;
  if (node !== undefined && isUniversal(node, TAG.SEQUENCE)) {
    for (const field of node.children) {
      const inner = field.children[0];
      if (isContext(field, 0)) hash = DIGESTS[oidOf(inner.children[0])] ?? '';
      else if (isContext(field, 1)) {
        if (oidOf(inner.children[0]) !== OID.mgf1) return { ok: false, reason: 'RSASSA-PSS with a mask generation function other than MGF1' };
        mgfHash = DIGESTS[oidOf(inner.children[1]?.children[0])] ?? '';
      } else if (isContext(field, 2)) saltLength = Number(BigInt(`0x${contentOf(inner).toString('hex') || '0'}`));
    }
  }
  if (hash === '' || mgfHash === '') return { ok: false, reason: 'RSASSA-PSS with an unknown hash' };
  if (hash !== mgfHash) return { ok: false, reason: 'RSASSA-PSS with different message and MGF1 hashes' };
  return { ok: true, hash, saltLength };
}
