/**
 * The per-tenant audit hash chain and its signed checkpoints (pure; the store does the I/O).
 *
 * Record hash — lower-case hex SHA-256 over the UTF-8 bytes of
 *   canonicalJson({ seq, prevHash, tenant, body })
 * i.e. the JCS text `{"body":"<escaped body>","prevHash":"<64 hex>","seq":<n>,"tenant":"<t>"}`,
 * where `body` = canonicalJson(event) and `prevHash` is the previous record's hash (GENESIS_HASH
 * for seq 1). Binding seq and tenant means a record cannot be moved to another position or
 * another tenant's chain without changing its hash.
 *
 * Checkpoint signature — Ed25519 over `CHECKPOINT_SIGNING_PREFIX` followed by
 *   canonicalJson({ tenant, seq, headHash, prevCheckpointHash, timestamp, keyId })
 * Checkpoint hash — hex SHA-256 over `CHECKPOINT_HASH_PREFIX` followed by the same object
 * plus `signature`; the next checkpoint's `prevCheckpointHash` commits to it (GENESIS_HASH first).
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { AuditCheckpoint, AuditEvent } from '../core/audit-event.ts';
import { canonicalJson } from './canonical.ts';

/** The `prevHash` of a chain's first record and the `prevCheckpointHash` of its first checkpoint. */
export const GENESIS_HASH = '0'.repeat(64);

/** Domain separation: a checkpoint signature can never be replayed as a signature over anything else. */
export const CHECKPOINT_SIGNING_PREFIX = 'intentmail-audit-checkpoint-v1\n';

/** Domain separation for the checkpoint hash (distinct from the signing input). */
export const CHECKPOINT_HASH_PREFIX = 'intentmail-audit-checkpoint-hash-v1\n';

/** A record ready to store: its position, link, hash and the canonical body the hash covers. */
export interface ChainedRecord {
  seq: number;
  prevHash: string;
  hash: string;
  body: string;
}

/** Chains `event` after `prev` (null for a tenant's first record): seq + 1, link, and hash as documented above. */
export function chainRecord(prev: { seq: number; hash: string } | null, event: AuditEvent): ChainedRecord {
  const seq = prev === null ? 1 : prev.seq + 1;
  const prevHash = prev === null ? GENESIS_HASH : prev.hash;
  const body = canonicalJson(event);
  return { seq, prevHash, hash: recordHash(seq, prevHash, event.tenant, body), body };
}

/** The hash of a stored record, recomputed from its parts (the verifier's side of chainRecord). */
export function recordHash(seq: number, prevHash: string, tenant: string, body: string): string {
  return sha256Hex(canonicalJson({ seq, prevHash, tenant, body }));
}

/** The exact bytes a checkpoint signature covers: the v1 domain prefix, then the canonical checkpoint fields. */
export function checkpointSigningInput(cp: Omit<AuditCheckpoint, 'signature' | 'hash'>): Uint8Array {
  const fields = {
    tenant: cp.tenant,
    seq: cp.seq,
    headHash: cp.headHash,
    prevCheckpointHash: cp.prevCheckpointHash,
    timestamp: cp.timestamp,
    keyId: cp.keyId,
  };
  return new Uint8Array(Buffer.from(CHECKPOINT_SIGNING_PREFIX + canonicalJson(fields), 'utf8'));
}

/** The hash the next checkpoint links to; it covers the signature, so a re-signed checkpoint breaks the link. */
export function checkpointHash(cp: AuditCheckpoint): string {
  const fields = {
    tenant: cp.tenant,
    seq: cp.seq,
    headHash: cp.headHash,
    prevCheckpointHash: cp.prevCheckpointHash,
    timestamp: cp.timestamp,
    keyId: cp.keyId,
    signature: cp.signature,
  };
  return sha256Hex(CHECKPOINT_HASH_PREFIX + canonicalJson(fields));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
