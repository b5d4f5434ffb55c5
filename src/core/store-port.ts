/**
 * The store port: what the core asks of durable storage. The drizzle implementation in
 * src/store works on PGlite and on a PostgreSQL server alike; every method that writes more
 * than one row does so in one transaction.
 */
import type { AuditCheckpoint, AuditEvent, AuditRecord } from './audit-event.ts';

/** A message accepted for an intent; the raw bytes are already encrypted (src/crypto/envelope.ts). */
export interface NewMessage {
  id: string;
  tenant: string;
  intent: string;
  recipient: string;
  addressDetail: string | null;
  envelopeFrom: string | null;
  headerFrom: string | null;
  senderVerified: boolean;
  messageIdHeader: string | null;
  size: number;
  /** Hex SHA-256 of the raw message as received (before the Authentication-Results header was added). */
  sha256: string;
  clientIp: string | null;
  helo: string | null;
  tls: boolean;
  receivedAt: Date;
  /** Summary of SPF/DKIM/DMARC/ARC results. */
  authentication: Record<string, unknown>;
  /** AES-256-GCM ciphertext of the stored message (with our Authentication-Results header). */
  ciphertext: Uint8Array;
  /** The per-message data key, wrapped by the master key. */
  wrappedKey: Uint8Array;
  keyId: string;
  policyFile: string;
  policyVersion: string;
}

/** The job that will run the intent's steps (the action chain picks it up). */
export interface NewJob {
  id: string;
  messageId: string;
  tenant: string;
  intent: string;
  /** The steps as loaded, with the policy file and version they came from. */
  plan: Record<string, unknown>;
}

/** A stored message's metadata and sealed content. */
export interface StoredMessage extends NewMessage {
  status: string;
  legalHold: boolean;
  erasedAt: Date | null;
}

/** A stored job. */
export interface StoredJob extends NewJob {
  status: string;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Durable storage for messages, jobs, rate counters and the audit chain. */
export interface Store {
  /** Stores the message, its job and the acceptance audit record in one transaction; resolves only after commit. */
  acceptMessage(message: NewMessage, job: NewJob, audit: AuditEvent): Promise<AuditRecord>;
  /** Appends one record to the tenant's chain (serialised per tenant, across processes). */
  appendAudit(event: AuditEvent): Promise<AuditRecord>;
  /** Adds one hit to a fixed-window counter and returns the count including it. */
  hitRateLimit(key: string, windowStart: Date, expiresAt: Date): Promise<number>;
  /** Reads a counter without changing it (simulate). */
  peekRateLimit(key: string, windowStart: Date): Promise<number>;
  /** Signs the tenant's chain head if records were appended since the last checkpoint. */
  checkpoint(tenant: string): Promise<AuditCheckpoint | null>;
  /** Tenants that have an audit chain. */
  auditTenants(): Promise<string[]>;
  /** Records of a tenant's chain in sequence order, from `afterSeq` (exclusive). */
  readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /** All checkpoints of a tenant in order. */
  readCheckpoints(tenant: string): Promise<AuditCheckpoint[]>;
  /** The stored head (last seq and hash) of a tenant's chain, or null. */
  chainHead(tenant: string): Promise<{ seq: number; hash: string } | null>;
  getMessage(id: string): Promise<StoredMessage | null>;
  getJobForMessage(messageId: string): Promise<StoredJob | null>;
  /** True when the database answers (health check). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
