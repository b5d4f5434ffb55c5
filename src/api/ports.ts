/**
 * What the admin API needs from the rest of the router, as ports: the run-time data store
 * (implemented on drizzle in src/store/admin-store.ts), the action-chain queue's control
 * surface (src/queue), and the pieces of the inbound core it reuses. The Hono app in
 * src/api/app.ts sees only these, so the same app can later be served by a Worker.
 */
import type { Context } from 'hono';
import type { AuditEvent } from '../core/audit-event.ts';
import type { Clock, Logger, PolicySource, SignatureVerifier } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import type { RuntimeGrants } from '../access/access.ts';
import type { PipelineDeps } from '../pipeline/inbound.ts';
import type { PolicySet } from '../policy/types.ts';

/** Every scope a token can hold; the bootstrap token holds them all. */
export const SCOPES = [
  'tenants:read',
  'allowlist:read',
  'allowlist:write',
  'deny:read',
  'deny:write',
  'roles:read',
  'roles:write',
  'intents:read',
  'intents:simulate',
  'messages:read',
  'messages:content',
  'messages:write',
  'messages:erase',
  'audit:read',
  'tokens:read',
  'tokens:write',
  'inbound',
] as const;

/** One scope. */
export type Scope = (typeof SCOPES)[number];

/** An API token as stored (never with its secret; `secretHash` only where verification needs it). */
export interface TokenRecord {
  id: string;
  name: string;
  /** null: the token may act on every tenant. */
  tenant: string | null;
  scopes: Scope[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A run-time allow or deny entry. */
export interface AccessEntry {
  id: string;
  tenant: string;
  kind: 'allow' | 'deny';
  /** An intent name or `*` for every intent of the tenant. */
  intent: string;
  /** Address, `@domain`, `group:NAME`, `role:NAME` (deny also `*`). */
  sender: string;
  note: string | null;
  expiresAt: Date | null;
  createdBy: string;
  createdAt: Date;
}

/** A run-time role binding: member → role names of tenant.yaml. */
export interface RoleBinding {
  id: string;
  tenant: string;
  /** Address, `@domain` or `group:NAME` (the forms of tenant.yaml `members`). */
  member: string;
  roles: string[];
  note: string | null;
  expiresAt: Date | null;
  createdBy: string;
  createdAt: Date;
}

/** Filters of an audit query; all optional but the tenant. Records come in seq order after `afterSeq`. */
export interface AuditQuery {
  tenant: string;
  since?: Date;
  until?: Date;
  /** The actor: the sender's address for mail decisions, `token:<id>` for API changes (case-insensitive). */
  actor?: string;
  intent?: string;
  /** result.status: `accepted`, `refused`, `ok`, … */
  result?: string;
  /** action.type, e.g. `inbound.accepted`, `api.allowlist.create`. */
  type?: string;
  afterSeq: number;
  limit: number;
}

/** One stored audit record with its chain position and time. */
export interface AuditRow {
  tenant: string;
  seq: number;
  prevHash: string;
  hash: string;
  createdAt: Date;
  /** The canonical JSON of the event (what the hash covers). */
  body: string;
}

/** Message metadata as the admin API shows it (never the content). */
export interface MessageInfo {
  id: string;
  tenant: string;
  intent: string;
  recipient: string;
  headerFrom: string | null;
  envelopeFrom: string | null;
  senderVerified: boolean;
  size: number;
  sha256: string;
  receivedAt: Date;
  status: string;
  legalHold: boolean;
  erasedAt: Date | null;
  policyFile: string;
  policyVersion: string;
}

/** Filters of a message listing, newest first; `before` is the receivedAt/id cursor of the last page. */
export interface MessageQuery {
  tenant: string;
  intent?: string;
  sender?: string;
  status?: string;
  since?: Date;
  until?: Date;
  before?: { receivedAt: Date; id: string };
  limit: number;
}

/** Outcome of a by-id change: the row before and after, or why nothing changed. */
export type ChangeOutcome<T> = { status: 'changed'; before: T; after: T } | { status: 'missing' } | { status: 'refused'; before: T; reason: 'legal_hold' | 'erased' };

/**
 * Run-time data behind the admin API. Every change commits together with its audit record
 * (`audit` builds the event from the row as it was inside the transaction), so a change is
 * never without its record and a record never describes a change that did not happen.
 */
export interface AdminStore {
  createToken(token: TokenRecord, secretHash: string, audit: AuditEvent): Promise<void>;
  /** The token and its secret hash, for verification. */
  findToken(id: string): Promise<{ token: TokenRecord; secretHash: string } | null>;
  /** Tokens of one tenant (`tenant` string), the all-tenant ones (null), or every token (undefined). */
  listTokens(tenant: string | null | undefined): Promise<TokenRecord[]>;
  revokeToken(id: string, at: Date, audit: (before: TokenRecord) => AuditEvent): Promise<ChangeOutcome<TokenRecord>>;

  addEntry(entry: AccessEntry, audit: AuditEvent): Promise<void>;
  getEntry(id: string): Promise<AccessEntry | null>;
  /** Entries of a tenant and kind, optionally of one intent (`*` selects the all-intent entries), oldest first. */
  listEntries(tenant: string, kind: 'allow' | 'deny', intent?: string): Promise<AccessEntry[]>;
  deleteEntry(id: string, audit: (before: AccessEntry) => AuditEvent): Promise<ChangeOutcome<AccessEntry>>;

  addBinding(binding: RoleBinding, audit: AuditEvent): Promise<void>;
  getBinding(id: string): Promise<RoleBinding | null>;
  listBindings(tenant: string): Promise<RoleBinding[]>;
  deleteBinding(id: string, audit: (before: RoleBinding) => AuditEvent): Promise<ChangeOutcome<RoleBinding>>;
  /** Counts a tenant's run-time rows of one kind (the per-tenant bound). */
  countGrants(tenant: string, kind: 'allow' | 'deny' | 'role'): Promise<number>;

  /** The grants in force now for one intent: unexpired allow and deny entries for it or `*`, and role bindings. */
  runtimeGrants(tenant: string, intent: string): Promise<RuntimeGrants>;

  getMessageInfo(id: string): Promise<MessageInfo | null>;
  listMessages(query: MessageQuery): Promise<MessageInfo[]>;
  setLegalHold(id: string, hold: boolean, audit: (before: MessageInfo, after: MessageInfo) => AuditEvent): Promise<ChangeOutcome<MessageInfo>>;
  /**
   * Crypto-erasure: nulls the wrapped data key, sets erased_at and status `erased`. Refused
   * (and audited as refused) while the message is on legal hold; `erased` when it already is.
   */
  eraseMessage(id: string, at: Date, audit: (before: MessageInfo, after: MessageInfo | null) => AuditEvent): Promise<ChangeOutcome<MessageInfo>>;

  queryAudit(query: AuditQuery): Promise<AuditRow[]>;
}

/** One step's progress in a message's action chain. */
export interface StepProgress {
  /** Position in the step tree, e.g. `0.then.1`. */
  path: string;
  name: string;
  action: string;
  status: string;
  attempts: number;
  lastError?: string | null;
  updatedAt?: Date | string | null;
}

/** The action chain's state for one message. */
export interface MessageProgress {
  jobId: string;
  status: string;
  steps: StepProgress[];
}

/** A step that failed permanently and waits for an operator. */
export interface DeadStep {
  messageId: string;
  jobId: string;
  tenant: string;
  intent: string;
  stepPath: string;
  action?: string | null;
  reason: string;
  failedAt?: Date | string | null;
}

/** The queue's control surface (src/queue/control.ts implements it). */
export interface JobControl {
  messageStatus(messageId: string): Promise<MessageProgress | null>;
  listDead(tenant?: string): Promise<DeadStep[]>;
  /** Re-queues the dead-lettered step (the first one, or `stepPath`); false when nothing was dead-lettered. */
  redrive(messageId: string, stepPath?: string): Promise<boolean>;
}

/** The Swagger UI files for /docs, read by the runtime adapter (Node: node_modules/swagger-ui-dist). */
export interface DocsAssets {
  /** The bytes and media type of an asset by file name, or null when there is no such asset. */
  get(name: string): Promise<{ body: Uint8Array; type: string } | null>;
}

/** Token-bucket parameters of the per-token rate limit. */
export interface RateLimitOptions {
  burst: number;
  perSecond: number;
}

/** Everything the admin API is built from. */
export interface ApiDeps {
  policy: () => PolicySet;
  /** The policy folder, read again for validating a proposed file in its tenant's context. */
  policySource: PolicySource;
  /** Environment for `${env.NAME}` checks when validating (unset references are warnings). */
  env: Record<string, string | undefined>;
  store: Store;
  admin: AdminStore;
  /** The live pipeline (POST /v1/inbound), with the run-time grants lookup. */
  pipeline: PipelineDeps;
  verifier: SignatureVerifier;
  masterKey: Uint8Array;
  /** The queue's control surface; null until the action-chain queue is wired in. */
  jobs: JobControl | null;
  /** INTENTMAIL_ADMIN_TOKEN: accepted as an all-scope, all-tenant token; undefined disables it. */
  adminToken: string | undefined;
  clock: Clock;
  logger: Logger;
  /** The listener-wide message size cap: bounds raw bodies of /v1/inbound and simulate. */
  maxMessageBytes: number;
  rateLimit?: RateLimitOptions;
  docs?: DocsAssets;
  /** The client's IP address for the audit record (runtime specific). */
  clientIp?: (c: Context) => string | null;
}
