/**
 * The per-tenant key store's vocabulary: what kinds of material it holds, how an entry looks,
 * and the repository port the drizzle adapter implements. Every repository method takes the
 * tenant: there is no way to ask for another tenant's keys by id or address.
 */
import type { SealedMessage } from '../crypto/envelope.ts';

/**
 * - `smime_identity`: the tenant's own certificate with its private key (signs outbound mail);
 * - `smime_cert`: a correspondent's certificate (encrypts to them; verifies their signatures);
 * - `x509_ca`: a trust anchor the tenant's certificates chain to;
 * - `x509_crl`: a revocation list of one of those CAs;
 * - `pgp_identity`: the tenant's own OpenPGP secret key;
 * - `pgp_public`: a correspondent's OpenPGP public key.
 */
export type KeyKind = 'smime_identity' | 'smime_cert' | 'x509_ca' | 'x509_crl' | 'pgp_identity' | 'pgp_public';

/** Every kind, for queries over all of a tenant's entries. */
export const KEY_KINDS: readonly KeyKind[] = ['smime_identity', 'smime_cert', 'x509_ca', 'x509_crl', 'pgp_identity', 'pgp_public'];

/** `import`: an operator put it there (CLI, tenant.yaml); `learned`: a verified inbound message brought it. */
export type KeySource = 'import' | 'learned';

/** One stored entry, public parts only (what `keys list` shows). */
export interface KeyEntry {
  id: string;
  tenant: string;
  kind: KeyKind;
  fingerprint: string;
  addresses: string[];
  subject: string;
  issuer: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  source: KeySource;
  details: Record<string, unknown>;
  hasSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** An entry with its material: public data in clear, the private key sealed under the master key. */
export interface StoredKey extends KeyEntry {
  publicData: Uint8Array;
  secret: SealedMessage | null;
}

/** Durable storage of key entries and SMS contacts, always scoped to one tenant. */
export interface KeyRepository {
  /** Inserts, or updates the entry with the same tenant, kind and fingerprint; returns its id and whether it was new. */
  upsert(key: StoredKey): Promise<{ id: string; created: boolean }>;
  /** The tenant's entries of the given kinds (all kinds when omitted), newest first. */
  list(tenant: string, kinds?: readonly KeyKind[]): Promise<StoredKey[]>;
  /** The tenant's entries of a kind that name `address` (lower-case), newest first. */
  findByAddress(tenant: string, kinds: readonly KeyKind[], address: string): Promise<StoredKey[]>;
  /** One entry of the tenant by id or by fingerprint; null when the tenant has none such. */
  get(tenant: string, idOrFingerprint: string): Promise<StoredKey | null>;
  /** Deletes one entry of the tenant; false when the tenant has no such entry. */
  remove(tenant: string, id: string): Promise<boolean>;
  /** Sets the phone number (E.164) PDF passwords for `address` go to by SMS. */
  setPhone(tenant: string, address: string, phone: string, now: Date): Promise<void>;
  /** The phone number for `address`, or null. */
  phone(tenant: string, address: string): Promise<string | null>;
}
