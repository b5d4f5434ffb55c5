/**
 * Inbound signature verification for the `verify_signature` step and the `signature`
 * condition: S/MIME (CMS checked with node:crypto, certificate valid now, usable for signing,
 * chained to the tenant's anchors or a public root, not revoked, and naming the authenticated
 * sender) and PGP/MIME (against the sender's keys in the tenant's store, or, for a sender that
 * passed DMARC and has none yet, the key in the message's own Autocrypt header: trust on first
 * use). The result is `valid`, `invalid` or `none`, with the reason.
 */
import { Buffer } from 'node:buffer';
import * as openpgp from 'openpgp';
import { LIMITS } from '../core/limits.ts';
import type { KeyStore } from '../keys/store.ts';
import { PGP_CONFIG, findPgpSignature } from './pgp.ts';
import { findSmimeSignature } from './smime.ts';
import { buildChain, certificateProblems, type Certificate } from './x509.ts';

/** The condition value and audit summary of one verification. */
export interface SignatureResult {
  signature: 'valid' | 'invalid' | 'none';
  /** Which kind of signature the message carries, if any. */
  kind: 'smime' | 'pgp' | null;
  reason: string;
  signer: { subject: string; fingerprint: string | null; addresses: string[] } | null;
}

/** A verification with what key learning needs (the S/MIME signer's certificate, chain and capabilities). */
export interface InboundVerification extends SignatureResult {
  smime: { cert: Certificate; chain: Certificate[]; capabilities: string[] } | null;
}

/** What verification reads about the message. */
export interface InboundSignatureInput {
  tenant: string;
  raw: Uint8Array;
  /** The header From address (lower-case), or null. */
  sender: string | null;
  /** Whether the sender's domain authenticated the message (DMARC or a trusted ARC pass). */
  senderVerified: boolean;
  /** Top-level header fields by lower-case name (for Autocrypt). */
  headers: Record<string, string[]>;
}

/** Verifies the top-level S/MIME or PGP/MIME signature of an inbound message. Never throws for message content. */
export async function verifyInboundSignature(input: InboundSignatureInput, keys: KeyStore, now: Date): Promise<InboundVerification> {
  const smime = findSmimeSignature(input.raw);
  if (smime.kind === 'encrypted') return none('the message is S/MIME-encrypted; a signature inside cannot be checked');
  if (smime.kind === 'signed') {
    const v = smime.verification;
    const signer = v.signer ? { subject: v.signer.subject, fingerprint: v.signer.fingerprint, addresses: v.signer.emails } : null;
    const bad = (reason: string): InboundVerification => ({ signature: 'invalid', kind: 'smime', reason, signer, smime: null });
    if (v.status !== 'valid' || !v.signer) return bad(v.reason);
    const problems = certificateProblems(v.signer, 'sign', now);
    if (problems.length > 0) return bad(problems[0]);
    if (input.sender === null || !v.signer.emails.includes(input.sender)) {
      return bad(`the certificate is for ${v.signer.emails.join(', ') || 'no address'}, not for the sender ${input.sender ?? '(none)'}`);
    }
    const { anchors, crls } = await keys.chainMaterial(input.tenant);
    const chain = buildChain(v.signer, { pool: v.certificates, anchors, crls, now, publicRoots: true, allowPinned: false });
    if (!chain.ok) {
      // A certificate an operator imported for this correspondent is trusted as such (pinned).
      const pinned = await keys.repository.get(input.tenant, v.signer.fingerprint);
      if (pinned === null || pinned.kind !== 'smime_cert' || pinned.source !== 'import') return bad(chain.reason);
    }
    return {
      signature: 'valid',
      kind: 'smime',
      reason: `${v.reason}; certificate for ${input.sender}${chain.ok ? ` chains to "${chain.path[chain.path.length - 1].subject}"` : ' imported by an operator'}`,
      signer,
      smime: { cert: v.signer, chain: chain.ok ? chain.path.slice(1) : [], capabilities: v.capabilities },
    };
  }
  let pgpKeys: openpgp.Key[] = [];
  let tofu = false;
  if (input.sender !== null) {
    pgpKeys = await keys.pgpKeysFor(input.tenant, input.sender);
    if (pgpKeys.length === 0 && input.senderVerified) {
      const autocrypt = await autocryptKey(input.headers, input.sender);
      if (autocrypt) {
        pgpKeys = [autocrypt];
        tofu = true;
      }
    }
  }
  const pgp = await findPgpSignature(input.raw, pgpKeys, now);
  if (pgp.kind === 'encrypted') return none('the message is PGP/MIME-encrypted; a signature inside cannot be checked');
  if (pgp.kind === 'none') return none('the message is not signed (no S/MIME or PGP/MIME signature)');
  const key = pgp.fingerprint ? pgpKeys.find((k) => k.getFingerprint().toUpperCase() === pgp.fingerprint) : undefined;
  const signer = pgp.fingerprint ? { subject: key?.getUserIDs()[0] ?? pgp.fingerprint, fingerprint: pgp.fingerprint, addresses: input.sender ? [input.sender] : [] } : null;
  return {
    signature: pgp.status,
    kind: 'pgp',
    reason: tofu && pgp.status === 'valid' ? `${pgp.reason}, the key from the message's Autocrypt header (trust on first use for ${input.sender})` : pgp.reason,
    signer,
    smime: null,
  };
}

function none(reason: string): InboundVerification {
  return { signature: 'none', kind: null, reason, signer: null, smime: null };
}

/** An Autocrypt header's attributes (Autocrypt Level 1 §2.1), or null when it is not a usable one. */
export function parseAutocrypt(value: string): { addr: string; keydata: Buffer } | null {
  const attrs = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    attrs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  // §2.1: an unknown attribute not starting with "_" makes the whole header invalid.
  for (const name of attrs.keys()) if (!['addr', 'keydata', 'prefer-encrypt'].includes(name) && !name.startsWith('_')) return null;
  const addr = attrs.get('addr');
  const keydata = attrs.get('keydata')?.replace(/\s+/g, '');
  if (!addr || !keydata || !/^[A-Za-z0-9+/]+={0,2}$/.test(keydata)) return null;
  if (keydata.length > (LIMITS.MAX_AUTOCRYPT_KEYDATA_BYTES * 4) / 3) return null;
  return { addr: addr.toLowerCase(), keydata: Buffer.from(keydata, 'base64') };
}

/** The public key of the message's Autocrypt header for `sender` (the header's addr must be the sender). */
export async function autocryptKey(headers: Record<string, string[]>, sender: string): Promise<openpgp.PublicKey | null> {
  const values = Object.hasOwn(headers, 'autocrypt') ? headers.autocrypt : [];
  // §2.1: more than one Autocrypt header for the same address means none is used.
  const parsed = values.map(parseAutocrypt).filter((a) => a !== null && a.addr === sender.toLowerCase());
  if (parsed.length !== 1) return null;
  try {
    const key = await openpgp.readKey({ binaryKey: new Uint8Array(parsed[0]!.keydata), config: PGP_CONFIG });
    return key.isPrivate() ? null : (key as openpgp.PublicKey);
  } catch {
    return null;
  }
}
