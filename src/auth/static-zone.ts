/**
 * A declarative DNS zone: the records SPF, DKIM, DMARC and ARC look up, written as data. Tests
 * use it instead of the Internet, and operators use it (INTENTMAIL_DNS_ZONE) as a static overlay
 * consulted before real DNS, e.g. for the offline README walkthrough with acme.example.
 *
 * ```yaml
 * acme.example:
 *   TXT: "v=spf1 ip4:192.0.2.0/24 -all"
 *   MX: "10 mx.acme.example"
 * _dmarc.acme.example:
 *   TXT: "v=DMARC1; p=reject"
 *   ttl: 60
 * slow.example:
 *   TIMEOUT: true
 * ```
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { DnsAnswer, DnsRecords, DnsType, MxRecord, Resolver } from '../core/ports.ts';

/**
 * TXT (and SPF-type) data: a string is one record; an array of strings is one record given as
 * its character-strings (chunks, RFC 1035 §3.3.14); an array of arrays is several records.
 */
export type TxtSpec = string | string[] | string[][];

/** An MX record as an object or as `"10 mx.example"` (preference, exchange). */
export type MxSpec = MxRecord | string;

/**
 * The records of one name. `TIMEOUT: true` makes every question for a type this entry has no
 * records of answer `temperror` (a server that never replies), the way the pyspf suite's
 * TIMEOUT marker behaves; alone it times out every question for the name.
 */
export interface ZoneEntry {
  TXT?: TxtSpec;
  SPF?: TxtSpec;
  A?: string | string[];
  AAAA?: string | string[];
  MX?: MxSpec | MxSpec[];
  PTR?: string | string[];
  CNAME?: string;
  NS?: string | string[];
  /** Seconds; DEFAULT_ZONE_TTL_S when absent. */
  ttl?: number;
  TIMEOUT?: true;
}

/** Owner name → records. Names are case-insensitive and a trailing dot is ignored. */
export type Zone = Record<string, ZoneEntry>;

/** TTL of zone records that do not set one: long enough to exercise caches, short enough to edit. */
export const DEFAULT_ZONE_TTL_S = 300;

const RECORD_TYPES = ['TXT', 'SPF', 'A', 'AAAA', 'MX', 'PTR', 'CNAME', 'NS'] as const satisfies readonly DnsType[];

/** One hop of a CNAME chain as the zone holds it. */
export interface ZoneCname {
  name: string;
  target: string;
  ttl: number;
}

/**
 * What the zone itself says about a question, CNAME chain included (the DNS test server
 * writes the chain into its answer). `absent` means the last name of the chain is not in the
 * zone at all, so a fallback resolver may be asked for it.
 */
export type ZoneLookup =
  | { status: 'ok'; chain: ZoneCname[]; owner: string; records: DnsRecords; ttl: number }
  | { status: 'nodata'; chain: ZoneCname[]; owner: string; ttl: number }
  | { status: 'timeout'; chain: ZoneCname[]; owner: string }
  | { status: 'absent'; chain: ZoneCname[]; owner: string }
  | { status: 'loop'; chain: ZoneCname[]; owner: string };

interface CompiledEntry {
  ttl: number;
  timeout: boolean;
  records: Map<DnsType, DnsRecords>;
  cname: string | null;
}

/** A zone with its names normalised and records in resolver shape, ready for look-ups. */
export interface CompiledZone {
  lookup(name: string, type: DnsType): ZoneLookup;
}

/** Lower-case, without the trailing root dot: the form names are compared in (RFC 4343). */
export function normalizeDnsName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Compiles a zone once; throws IntentmailError('config_invalid') for malformed record data. */
export function compileZone(zone: Zone): CompiledZone {
  const entries = new Map<string, CompiledEntry>();
  for (const [rawName, entry] of Object.entries(zone)) {
    const name = normalizeDnsName(rawName);
    if (entries.has(name)) {
      throw new IntentmailError('config_invalid', `DNS zone: name ${name} is listed twice`);
    }
    entries.set(name, compileEntry(name, entry));
  }

  return {
    lookup(name: string, type: DnsType): ZoneLookup {
      const chain: ZoneCname[] = [];
      let owner = normalizeDnsName(name);
      for (;;) {
        const entry = entries.get(owner);
        if (!entry) return { status: 'absent', chain, owner };
        const records = entry.records.get(type);
        if (records) return { status: 'ok', chain, owner, records, ttl: entry.ttl };
        // A CNAME stands for the whole name, so any other type is answered at its target
        // (RFC 1034 §3.6.2); the chain is bounded so that a loop in the zone still ends.
        if (entry.cname !== null && type !== 'CNAME') {
          if (chain.length >= LIMITS.DNS_MAX_CNAME_CHAIN) return { status: 'loop', chain, owner };
          chain.push({ name: owner, target: entry.cname, ttl: entry.ttl });
          owner = entry.cname;
          continue;
        }
        if (entry.timeout) return { status: 'timeout', chain, owner };
        return { status: 'nodata', chain, owner, ttl: entry.ttl };
      }
    },
  };
}

/**
 * A resolver answering from a zone. A name absent from the zone is `nxdomain`, or goes to
 * `fallback` when one is given (the static overlay in front of real DNS); a name present
 * without the asked type is `nodata`.
 */
export function zoneResolver(zone: Zone, fallback?: Resolver): Resolver {
  const compiled = compileZone(zone);
  return {
    async resolve(name: string, type: DnsType): Promise<DnsAnswer> {
      const found = compiled.lookup(name, type);
      const chainTtl = found.chain.reduce((min, hop) => Math.min(min, hop.ttl), Number.POSITIVE_INFINITY);
      switch (found.status) {
        case 'ok':
          return { status: 'ok', records: found.records, ttl: Math.min(found.ttl, chainTtl) };
        case 'nodata':
          return { status: 'nodata', ttl: Math.min(found.ttl, chainTtl) };
        case 'timeout':
          return { status: 'temperror', reason: `timeout (static zone marks ${found.owner} TIMEOUT)` };
        case 'loop':
          return { status: 'temperror', reason: `CNAME chain longer than ${LIMITS.DNS_MAX_CNAME_CHAIN} at ${found.owner}` };
        case 'absent': {
          if (!fallback) return { status: 'nxdomain', ttl: found.chain.length > 0 ? chainTtl : 0 };
          const answer = await fallback.resolve(found.owner, type);
          if (found.chain.length === 0 || answer.status === 'temperror') return answer;
          return { ...answer, ttl: Math.min(answer.ttl, chainTtl) };
        }
      }
    },
  };
}

function compileEntry(name: string, entry: ZoneEntry): CompiledEntry {
  const where = `DNS zone: ${name}`;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new IntentmailError('config_invalid', `${where}: expected a map of record types`);
  }
  const records = new Map<DnsType, DnsRecords>();
  for (const type of RECORD_TYPES) {
    const value = entry[type];
    if (value === undefined || type === 'CNAME') continue;
    records.set(type, compileRecords(where, type, value));
  }
  let cname: string | null = null;
  if (entry.CNAME !== undefined) {
    if (typeof entry.CNAME !== 'string' || entry.CNAME.trim() === '') {
      throw new IntentmailError('config_invalid', `${where}: CNAME must be one host name`);
    }
    if (records.size > 0) {
      // RFC 1034 §3.6.2: a name with a CNAME has no other data.
      throw new IntentmailError('config_invalid', `${where}: a CNAME name cannot hold other records`);
    }
    cname = normalizeDnsName(entry.CNAME);
    records.set('CNAME', [cname]);
  }
  const ttl = entry.ttl ?? DEFAULT_ZONE_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) {
    throw new IntentmailError('config_invalid', `${where}: ttl must be a whole number of seconds (RFC 2181 §8)`);
  }
  if (entry.TIMEOUT !== undefined && entry.TIMEOUT !== true) {
    throw new IntentmailError('config_invalid', `${where}: TIMEOUT can only be true`);
  }
  return { ttl, timeout: entry.TIMEOUT === true, records, cname };
}

function compileRecords(where: string, type: DnsType, value: unknown): DnsRecords {
  switch (type) {
    case 'TXT':
    case 'SPF':
      return compileTxt(`${where} ${type}`, value);
    case 'MX':
      return (Array.isArray(value) ? value : [value]).map((mx) => compileMx(`${where} MX`, mx));
    default: {
      const list = Array.isArray(value) ? value : [value];
      return list.map((item) => {
        if (typeof item !== 'string' || item.trim() === '') {
          throw new IntentmailError('config_invalid', `${where} ${type}: expected strings`);
        }
        return type === 'A' || type === 'AAAA' ? item.trim() : normalizeDnsName(item);
      });
    }
  }
}

function compileTxt(where: string, value: unknown): string[][] {
  if (typeof value === 'string') return [[value]];
  if (Array.isArray(value)) {
    if (value.every((chunk) => typeof chunk === 'string')) return [value as string[]];
    if (value.every((rec) => Array.isArray(rec) && rec.every((chunk) => typeof chunk === 'string'))) {
      return (value as string[][]).map((rec) => [...rec]);
    }
  }
  throw new IntentmailError('config_invalid', `${where}: expected a string, a list of chunks, or a list of records (lists of chunks)`);
}

function compileMx(where: string, value: unknown): MxRecord {
  if (typeof value === 'string') {
    const match = /^\s*(\d{1,5})\s+(\S+)\s*$/.exec(value);
    const priority = match ? Number(match[1]) : NaN;
    if (!match || priority > 0xffff) {
      throw new IntentmailError('config_invalid', `${where}: "${value}" is not "PREFERENCE HOST"`);
    }
    return { priority, exchange: normalizeDnsName(match[2]) };
  }
  if (value !== null && typeof value === 'object') {
    const { exchange, priority } = value as Partial<MxRecord>;
    if (typeof exchange === 'string' && Number.isInteger(priority) && priority! >= 0 && priority! <= 0xffff) {
      return { priority: priority!, exchange: normalizeDnsName(exchange) };
    }
  }
  throw new IntentmailError('config_invalid', `${where}: expected {exchange, priority} or "PREFERENCE HOST"`);
}

const stringList = z.union([z.string(), z.array(z.string())]);
const txtSpec = z.union([z.string(), z.array(z.string()), z.array(z.array(z.string()))]);
const mxSpec = z.union([z.string(), z.object({ exchange: z.string(), priority: z.number().int().min(0).max(0xffff) }).strict()]);
const entrySchema = z
  .object({
    TXT: txtSpec.optional(),
    SPF: txtSpec.optional(),
    A: z.union([z.ipv4(), z.array(z.ipv4())]).optional(),
    AAAA: z.union([z.ipv6(), z.array(z.ipv6())]).optional(),
    MX: z.union([mxSpec, z.array(mxSpec)]).optional(),
    PTR: stringList.optional(),
    CNAME: z.string().optional(),
    NS: stringList.optional(),
    ttl: z.number().int().min(0).max(0x7fffffff).optional(),
    TIMEOUT: z.literal(true).optional(),
  })
  .strict();
const zoneSchema = z.record(z.string().min(1), entrySchema);

/**
 * Parses a zone file (YAML, the shape of `Zone`). Operator input: throws
 * IntentmailError('config_invalid') naming the first bad field.
 */
export function parseZoneYaml(text: string): Zone {
  if (Buffer.byteLength(text, 'utf8') > LIMITS.MAX_ZONE_FILE_BYTES) {
    throw new IntentmailError('config_invalid', `DNS zone file is larger than ${LIMITS.MAX_ZONE_FILE_BYTES} bytes`);
  }
  let data: unknown;
  try {
    // maxAliasCount bounds alias expansion the same way policy files are bounded.
    data = parseYaml(text, { maxAliasCount: LIMITS.MAX_POLICY_YAML_ALIASES }) ?? {};
  } catch (err) {
    throw new IntentmailError('config_invalid', `DNS zone file is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = zoneSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || '(top level)';
    throw new IntentmailError('config_invalid', `DNS zone file: ${path}: ${issue?.message ?? 'invalid'}`);
  }
  const zone = parsed.data as Zone;
  // Compiling checks what the schema cannot (duplicate names after normalising, CNAME with data).
  compileZone(zone);
  return zone;
}
