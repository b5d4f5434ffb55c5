/**
 * The small ports through which the core does all of its I/O. Runtime adapters (Node's
 * smtp-server listener, PostgreSQL/PGlite, UDP DNS, later a Cloudflare Worker) implement
 * these; tests use declarative implementations (a DNS zone, a fixed clock).
 */

/** Current time; tests pin it. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/** DNS record types the authentication stage asks for. */
export type DnsType = 'TXT' | 'A' | 'AAAA' | 'MX' | 'PTR' | 'CNAME' | 'NS' | 'SPF';

/** One MX record. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/** Records in the shape of Node's `dns.promises.resolve` (TXT as chunks, MX as objects). */
export type DnsRecords = string[][] | string[] | MxRecord[];

/**
 * A DNS answer as a verdict: `ok` with records and their TTL, `nxdomain` / `nodata` (both
 * permanent "no record"), or `temperror` (timeout, SERVFAIL) which must never be read as "none".
 */
export type DnsAnswer =
  | { status: 'ok'; records: DnsRecords; ttl: number }
  | { status: 'nxdomain' | 'nodata'; ttl: number }
  | { status: 'temperror'; reason: string };

/** The resolver port: one question, one answer; never throws for DNS conditions. */
export interface Resolver {
  resolve(name: string, type: DnsType): Promise<DnsAnswer>;
}

/** Structured log lines; the SMTP adapter binds connection and transaction ids. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** A logger that drops everything (tests, simulate). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A file of the policy folder, as the policy loader sees it (path relative to the folder). */
export interface PolicyFile {
  path: string;
  text: string;
}

/** Source of policy files: the Node adapter reads a folder; a Worker bundles them. */
export interface PolicySource {
  list(): Promise<PolicyFile[]>;
  /** Human-readable location for messages (the folder path). */
  readonly location: string;
}

/** Signs audit checkpoints (Ed25519); the key never leaves the adapter. */
export interface Signer {
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Verifies checkpoint signatures for a key id. */
export interface SignatureVerifier {
  verify(keyId: string, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}
