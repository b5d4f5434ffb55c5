/**
 * The key store's pure helpers: import outcomes, audit records of key events, the public view
 * of an entry, certificate details, and the key transport a recipient supports.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import type { AuditEvent } from '../core/audit-event.ts';
import { LIMITS } from '../core/limits.ts';
import { parseAsn1Prefix } from '../secure/asn1.ts';
import type { KeyTransport } from '../secure/cms.ts';
import { OID } from '../secure/oids.ts';
import { parseCertificate, type Certificate } from '../secure/x509.ts';
import type { KeyEntry, KeyKind, StoredKey } from './types.ts';
import type { ImportOutcome } from './store.ts';

/** Where a learned key came from (for the store entry and the audit record). */
export interface LearnContext {
  /** `smime-signature`, `autocrypt`, or `attachment NAME`. */
  source: string;
  /** The authenticated sender the key is for. */
  sender: string;
  intent: string | null;
}

/** The audit record of a key event (import, learn, refuse, remove) in the tenant's chain. */
export function auditEvent(
  tenant: string,
  type: string,
  parameters: Record<string, unknown>,
  status: string,
  reason: string,
  resourceId: string | null,
  actor: string | null,
  permitted: boolean,
  intent: string | null,
  now: Date,
): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant,
    actor: { email: actor, verified: actor !== null, ip: null, helo: null },
    action: { type, target: Array.isArray(parameters.addresses) ? (parameters.addresses as string[]).join(', ') || null : null, intent, parameters },
    authentication: null,
    authorization: { permitted, role: null, policy: null, reason },
    result: { status, resourceId },
  };
}

/** The outcome of an accepted import (created or updated). */
export function ok(file: string, kind: KeyKind, id: string, created: boolean, fingerprint: string, subject: string, addresses: string[], reason: string): ImportOutcome {
  return { file, kind, status: created ? 'imported' : 'updated', id, fingerprint, subject, addresses, reason };
}

/** The outcome of a refused import, with the reason. */
export function refused(file: string, kind: KeyKind, cert: Certificate | null, reason: string): ImportOutcome {
  return { file, kind, status: 'refused', id: null, fingerprint: cert?.fingerprint ?? null, subject: cert?.subject ?? null, addresses: cert?.emails ?? [], reason };
}

/** What may leave the store about an entry: no secret material. */
export function publicView(s: StoredKey): KeyEntry {
  return {
    id: s.id,
    tenant: s.tenant,
    kind: s.kind,
    fingerprint: s.fingerprint,
    addresses: s.addresses,
    subject: s.subject,
    issuer: s.issuer,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
    source: s.source,
    details: s.details,
    hasSecret: s.secret !== null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** The details kept beside an X.509 entry (key type and size, usages, serial). */
export function certDetails(cert: Certificate): Record<string, unknown> {
  return { keyType: cert.keyType, rsaBits: cert.rsaBits, keyUsage: cert.keyUsage, extKeyUsage: cert.extKeyUsage, serial: cert.serial.toString('hex') };
}

/** The certificates stored for an X.509 entry: DER certificates back to back, leaf first. */
export function certsOf(data: Uint8Array): Certificate[] {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Certificate[] = [];
  let offset = 0;
  while (offset < bytes.length && out.length < LIMITS.MAX_CERT_CHAIN_LENGTH + 1) {
    const node = parseAsn1Prefix(bytes, offset);
    out.push(parseCertificate(bytes.subarray(offset, node.end)));
    offset = node.end;
  }
  return out;
}

/** Whether a private key belongs to a certificate's public key. */
export function sameKey(priv: KeyObject, pub: KeyObject): boolean {
  const a = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  return Buffer.compare(a, pub.export({ type: 'spki', format: 'der' })) === 0;
}

/** RSAES-OAEP when the recipient said it can (smimeCapabilities seen in its signatures), PKCS#1 v1.5 otherwise. */
export function transportFor(details: Record<string, unknown>): KeyTransport {
  const caps = Array.isArray(details.capabilities) ? (details.capabilities as string[]) : [];
  return caps.includes(OID.rsaesOaep) ? 'rsa-oaep' : 'rsa-pkcs1';
}

