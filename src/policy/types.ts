/**
 * The loaded, validated form of the policy folder (see ../shared/spec/intents.md). The loader
 * turns YAML into these; the pipeline, access and step runner only ever see these.
 */

export type RequireMode = 'dmarc' | 'dkim' | 'spf' | 'none';
export type Level = 'read' | 'create' | 'modify' | 'approve';
export type Permission = Level | 'deny';

/** `30/hour` as a count per window. */
export interface Rate {
  count: number;
  windowMs: number;
  text: string;
}

export interface Limits {
  perSender?: Rate;
  /** Bytes. */
  maxSize?: number;
}

/** Where a definition came from: the policy file (relative to the folder) and its version (git blob id). */
export interface Origin {
  file: string;
  version: string;
}

export interface Tenant {
  name: string;
  domains: string[];
  origin: Origin;
  defaults: { require: RequireMode; limits: Limits; trustedArcSealers: string[] };
  /** Group name → entries (addresses and `@domains`). */
  groups: Record<string, string[]>;
  /** Role name → intent pattern (`task.*`) → permissions. */
  roles: Record<string, Record<string, Permission[]>>;
  /** Address or `@domain` → role names. */
  members: Record<string, string[]>;
  /** Key files (relative to the tenant's folder) imported into its key store at start-up; passwords by variable name. */
  keyFiles: { path: string; passwordEnv?: string }[];
  intents: Map<string, Intent>;
}

export interface Intent {
  name: string;
  tenant: string;
  description: string;
  level: Level;
  /** Allowlist: addresses, `@domains`, `group:NAME`, `role:NAME`, or `*` (anyone, even unverified). */
  senders: string[];
  /** Explicit deny entries in the same forms; deny beats any allow. */
  deny: string[];
  require: RequireMode;
  limits: Limits;
  steps: Step[];
  origin: Origin;
}

export type MatcherOp = 'eq' | 'in' | 'contains' | 'matches' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists';

/** A normalised matcher: sizes, durations and rates are already numbers. */
export interface Matcher {
  op: MatcherOp;
  value: unknown;
}

export type Condition =
  | { kind: 'all'; of: Condition[] }
  | { kind: 'any'; of: Condition[] }
  | { kind: 'not'; of: Condition }
  | { kind: 'leaf'; field: string; matcher: Matcher };

/** `if`/`then`/`else` or one action with its (validated, not yet templated) parameters. */
export type Step =
  | { kind: 'if'; when: Condition; then: Step[]; else: Step[]; line: number }
  | { kind: 'action'; action: string; name: string; params: Record<string, unknown>; line: number };

export interface PolicySet {
  tenants: Map<string, Tenant>;
  /** Lower-case domain → tenant. */
  byDomain: Map<string, Tenant>;
  /** Where it was loaded from. */
  location: string;
}

/** A policy problem, located precisely enough for an editor to jump to it. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `steps.1.webhook.url`. */
  field: string;
  message: string;
}
