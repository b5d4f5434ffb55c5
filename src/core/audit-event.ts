/**
 * The audit record every decision and step appends (issue 2 §8). Plain JSON: it is hashed in
 * canonical form (RFC 8785), so only strings, finite numbers, booleans, null, arrays, objects.
 */
export interface AuditEvent {
  eventId: string;
  /** RFC 3339 UTC timestamp of the decision. */
  timestamp: string;
  tenant: string;
  actor: { email: string | null; verified: boolean; ip: string | null; helo: string | null };
  action: { type: string; target: string | null; intent: string | null; parameters: Record<string, unknown> };
  authentication: { spf: string; dkim: string; dmarc: string; arc: string } | null;
  authorization: {
    permitted: boolean;
    role: string | null;
    policy: { file: string; version: string } | null;
    reason: string;
  };
  result: { status: string; resourceId: string | null; reply?: string };
}

/** A record as stored in a tenant's hash chain. */
export interface AuditRecord {
  tenant: string;
  seq: number;
  prevHash: string;
  hash: string;
  /** The canonical JSON text the hash covers (see src/audit/chain.ts). */
  body: string;
  event: AuditEvent;
}

/** A signed checkpoint over a chain head, linked to the previous checkpoint. */
export interface AuditCheckpoint {
  tenant: string;
  seq: number;
  headHash: string;
  prevCheckpointHash: string;
  timestamp: string;
  keyId: string;
  /** Base64 Ed25519 signature over the checkpoint's canonical signing input. */
  signature: string;
  /** Hash of this checkpoint, linked by the next one. */
  hash: string;
}
