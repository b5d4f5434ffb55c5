/**
 * A stub DNS client (RFC 1035) over node:dgram with TCP fallback, speaking to the recursive
 * servers of INTENTMAIL_DNS_SERVERS or the system's. Node's own dns module is not used for
 * look-ups because it does not expose TTLs for TXT records, and the cache needs them.
 *
 * Defences against off-path spoofing (RFC 5452): a fresh socket (random source port) and a
 * random 16-bit id per try; a reply counts only if it comes from the server asked, carries the
 * id, and repeats the question. Everything else is ignored and the wait goes on.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { getServers } from 'node:dns';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, RecordType } from 'dns-packet';
import { IntentmailError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import { systemClock } from '../../core/ports.ts';
import type { Clock, DnsAnswer, DnsRecords, DnsType, MxRecord, Resolver } from '../../core/ports.ts';

/** EDNS(0) UDP payload size we advertise (RFC 6891 §6.2.5; 1232 avoids IP fragmentation, DNS Flag Day 2020). */
const EDNS_UDP_PAYLOAD = 1232;

/** RR type number of the historic SPF record (RFC 4408 §3.1.1), which dns-packet leaves as raw rdata. */
const SPF_RR_TYPE = 'SPF';

/** A DNS server address. */
export interface DnsServer {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Options for udpResolver. */
export interface UdpResolverOptions {
  /** `host[:port]`, `[v6]:port` or a bare IPv6 address; names are refused (resolving them needs DNS). */
  servers: string[];
  /** Budget for one question including retries and CNAME follow-ups; default LIMITS.DNS_QUERY_MS. */
  timeoutMs?: number;
  /** Decides when the budget is spent between tries (each try also has its own timer). */
  clock?: Clock;
}

/** Parses `host[:port]` as getServers() and INTENTMAIL_DNS_SERVERS write it; throws config_invalid. */
export function parseDnsServer(spec: string): DnsServer {
  const text = spec.trim();
  let host = text;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (text.split(':').length === 2) {
    const [h, p] = text.split(':');
    host = h;
    port = Number(p);
  }
  const family = net.isIP(host);
  if (family === 0) {
    throw new IntentmailError('config_invalid', `DNS server "${spec}" is not an IP address with an optional port`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new IntentmailError('config_invalid', `DNS server "${spec}" has an invalid port`);
  }
  return { host, port, family: family as 4 | 6 };
}

/** The system's configured recursive servers (node:dns getServers(), i.e. /etc/resolv.conf). */
export function systemDnsServers(): string[] {
  return getServers().filter((server) => server.trim() !== '');
}

/**
 * A Resolver asking real DNS servers. Never throws for DNS conditions: timeouts, SERVFAIL and
 * REFUSED from every server become `temperror` (never "no record"), NXDOMAIN and empty answers
 * carry the negative TTL from the SOA (RFC 2308 §5).
 */
export function udpResolver(opts: UdpResolverOptions): Resolver {
  const servers = opts.servers.map(parseDnsServer);
  if (servers.length === 0) {
    throw new IntentmailError('config_invalid', 'udpResolver needs at least one DNS server');
  }
  const budget = opts.timeoutMs ?? LIMITS.DNS_QUERY_MS;
  const clock = opts.clock ?? systemClock;
  // Each try gets an equal share of the budget (capped), so every server is asked in every round.
  const attemptMs = Math.min(LIMITS.DNS_ATTEMPT_MS, budget / (servers.length * LIMITS.DNS_UDP_ROUNDS));

  return {
    async resolve(name: string, type: DnsType): Promise<DnsAnswer> {
      const deadline = clock.now().getTime() + budget;
      let qname = stripDot(name);
      if (!isQueryableName(qname)) {
        // A name that cannot be encoded (a label over 63 octets, RFC 1035 §2.3.4) cannot exist.
        return { status: 'nxdomain', ttl: 0 };
      }
      let minTtl = Number.POSITIVE_INFINITY;
      for (let hop = 0; hop <= LIMITS.DNS_MAX_CNAME_CHAIN; hop++) {
        const reply = await ask(servers, qname, type, deadline, attemptMs, clock);
        if (reply.kind === 'temperror') return { status: 'temperror', reason: reply.reason };
        const outcome = interpret(reply.packet, qname, type);
        if (outcome.kind === 'follow') {
          // The server's answer ends in a CNAME whose target it did not resolve: ask for the target.
          minTtl = Math.min(minTtl, outcome.ttl);
          qname = outcome.target;
          continue;
        }
        const answer = outcome.answer;
        if (answer.status === 'temperror' || minTtl === Number.POSITIVE_INFINITY) return answer;
        return { ...answer, ttl: Math.min(answer.ttl, minTtl) };
      }
      return { status: 'temperror', reason: `CNAME chain longer than ${LIMITS.DNS_MAX_CNAME_CHAIN} for ${name}` };
    },
  };
}

type Reply = { kind: 'reply'; packet: DecodedPacket } | { kind: 'temperror'; reason: string };

/** Tries each server in turn (LIMITS.DNS_UDP_ROUNDS passes) until one gives a usable reply or the budget is spent. */
async function ask(servers: DnsServer[], qname: string, type: DnsType, deadline: number, attemptMs: number, clock: Clock): Promise<Reply> {
  let lastProblem = 'no DNS server answered';
  for (let round = 0; round < LIMITS.DNS_UDP_ROUNDS; round++) {
    for (const server of servers) {
      const left = deadline - clock.now().getTime();
      if (left <= 0) return { kind: 'temperror', reason: `timeout after ${lastProblem}` };
      const id = randomInt(0, 0x10000);
      const query = buildQuery(id, qname, type);
      const where = `${server.host}:${server.port}`;
      let result = await udpExchange(server, query, id, qname, type, Math.min(attemptMs, left));
      if (result.kind === 'reply' && result.packet.flag_tc) {
        // Truncated: the full answer is only available over TCP (RFC 7766 §5, RFC 1035 §4.2.1).
        const tcpLeft = deadline - clock.now().getTime();
        result = tcpLeft > 0 ? await tcpExchange(server, query, id, qname, type, tcpLeft) : { kind: 'problem', reason: 'timeout' };
      }
      if (result.kind === 'problem') {
        lastProblem = `${where}: ${result.reason}`;
        continue;
      }
      const rcode = rcodeOf(result.packet);
      if (rcode === 'SERVFAIL' || rcode === 'REFUSED') {
        // Another server may well answer (RFC 1035 §7.2: try the next one).
        lastProblem = `${where}: ${rcode}`;
        continue;
      }
      return { kind: 'reply', packet: result.packet };
    }
  }
  return { kind: 'temperror', reason: /timeout/.test(lastProblem) ? `timeout (${lastProblem})` : lastProblem };
}

type Exchange = { kind: 'reply'; packet: DecodedPacket } | { kind: 'problem'; reason: string };

function buildQuery(id: number, qname: string, type: DnsType): Buffer {
  const packet: Packet = {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as RecordType, name: qname, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
  return dnsPacket.encode(packet);
}

/** True when the bytes are a response to exactly this query: id and question match (RFC 5452 §9.1). */
function matches(packet: DecodedPacket, id: number, qname: string, type: DnsType): boolean {
  if (packet.type !== 'response' || packet.id !== id) return false;
  const question = packet.questions?.[0];
  return (packet.questions?.length ?? 0) === 1 && question !== undefined && String(question.type) === type && sameName(question.name, qname);
}

function decodeOrNull(buf: Buffer): DecodedPacket | null {
  try {
    return dnsPacket.decode(buf);
  } catch {
    return null;
  }
}

function udpExchange(server: DnsServer, query: Buffer, id: number, qname: string, type: DnsType, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (result: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'problem', reason: 'timeout' }), timeoutMs);
    socket.on('error', (err) => finish({ kind: 'problem', reason: `socket error ${err.message}` }));
    socket.on('message', (msg, rinfo) => {
      // Replies from anyone but the server asked, or for another question, are spoofing
      // attempts or stale: ignore them and keep waiting for the real one.
      if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.host)) return;
      const packet = decodeOrNull(msg);
      if (packet && matches(packet, id, qname, type)) finish({ kind: 'reply', packet });
    });
    socket.send(query, server.port, server.host, (err) => {
      if (err) finish({ kind: 'problem', reason: `send failed ${err.message}` });
    });
  });
}

function tcpExchange(server: DnsServer, query: Buffer, id: number, qname: string, type: DnsType, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (result: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'problem', reason: 'timeout (TCP)' }), timeoutMs);
    socket.on('error', (err) => finish({ kind: 'problem', reason: `TCP error ${err.message}` }));
    socket.on('connect', () => {
      // RFC 1035 §4.2.2: the message is preceded by a two-octet length field.
      const framed = Buffer.alloc(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > LIMITS.DNS_TCP_MAX_BYTES + 2) {
        finish({ kind: 'problem', reason: 'TCP answer larger than a DNS message can be' });
        return;
      }
      chunks.push(chunk);
      const buf = Buffer.concat(chunks);
      if (buf.length < 2) return;
      const length = buf.readUInt16BE(0);
      if (buf.length < 2 + length) return;
      const packet = decodeOrNull(buf.subarray(2, 2 + length));
      finish(packet && matches(packet, id, qname, type) ? { kind: 'reply', packet } : { kind: 'problem', reason: 'TCP answer does not match the question' });
    });
    socket.on('end', () => finish({ kind: 'problem', reason: 'TCP connection closed before an answer' }));
  });
}

/** A resource record with data (every answer but the EDNS OPT pseudo-record). */
type DataAnswer = Exclude<Answer, OptAnswer>;

type Interpretation = { kind: 'answer'; answer: DnsAnswer } | { kind: 'follow'; target: string; ttl: number };

/** Turns a matching reply into an answer, following the CNAME chain it contains (RFC 1034 §4.3.2). */
function interpret(packet: DecodedPacket, qname: string, type: DnsType): Interpretation {
  const rcode = rcodeOf(packet);
  if (rcode === 'NXDOMAIN') return { kind: 'answer', answer: { status: 'nxdomain', ttl: negativeTtl(packet) } };
  if (rcode !== 'NOERROR') return { kind: 'answer', answer: { status: 'temperror', reason: `DNS server answered ${rcode}` } };

  const answers = (packet.answers ?? []).filter((rr): rr is DataAnswer => rr.type !== 'OPT' && (rr.class === undefined || rr.class === 'IN'));
  let owner = qname;
  let minTtl = Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  for (let hop = 0; hop <= LIMITS.DNS_MAX_CNAME_CHAIN; hop++) {
    const records = answers.filter((rr) => String(rr.type) === type && sameName(rr.name, owner));
    if (records.length > 0) {
      for (const rr of records) minTtl = Math.min(minTtl, ttlOf(rr));
      return { kind: 'answer', answer: { status: 'ok', records: toRecords(type, records), ttl: minTtl } };
    }
    const cname = type === 'CNAME' ? undefined : answers.find((rr) => rr.type === 'CNAME' && sameName(rr.name, owner));
    if (!cname) break;
    minTtl = Math.min(minTtl, ttlOf(cname));
    seen.add(owner.toLowerCase());
    owner = stripDot(String(cname.data));
    if (seen.has(owner.toLowerCase())) return { kind: 'answer', answer: { status: 'temperror', reason: `CNAME loop at ${owner}` } };
  }
  if (!sameName(owner, qname)) {
    // The chain leaves this answer without the records: the target must be asked for itself.
    return { kind: 'follow', target: owner, ttl: minTtl };
  }
  return { kind: 'answer', answer: { status: 'nodata', ttl: negativeTtl(packet) } };
}

function toRecords(type: DnsType, records: DataAnswer[]): DnsRecords {
  switch (type) {
    case 'TXT':
    case 'SPF':
      return records.map((rr) => txtChunks(rr));
    case 'MX':
      return records.map((rr): MxRecord => {
        const data = rr.data as { preference?: number; exchange?: string };
        return { priority: data.preference ?? 0, exchange: stripDot(String(data.exchange ?? '')) };
      });
    default:
      return records.map((rr) => stripDot(String(rr.data)));
  }
}

/** TXT data as its character-strings; SPF (type 99) arrives as raw rdata and is split here. */
function txtChunks(rr: DataAnswer): string[] {
  const data: unknown = rr.data;
  if (String(rr.type) === SPF_RR_TYPE && Buffer.isBuffer(data)) {
    const chunks: string[] = [];
    for (let offset = 0; offset < data.length; ) {
      const length = data[offset];
      chunks.push(data.subarray(offset + 1, offset + 1 + length).toString('utf8'));
      offset += 1 + length;
    }
    return chunks;
  }
  const list = Array.isArray(data) ? data : [data];
  return list.map((chunk) => (Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)));
}

/** RFC 2308 §5: the negative TTL is the minimum of the SOA's own TTL and its MINIMUM field. */
function negativeTtl(packet: DecodedPacket): number {
  const soa = (packet.authorities ?? []).find((rr) => rr.type === 'SOA');
  if (!soa) return 0;
  const minimum = (soa.data as { minimum?: number }).minimum ?? 0;
  return Math.min(ttlOf(soa), minimum);
}

function ttlOf(rr: Answer): number {
  return 'ttl' in rr && typeof rr.ttl === 'number' ? rr.ttl : 0;
}

function rcodeOf(packet: DecodedPacket): string {
  return (packet as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function sameName(a: string, b: string): boolean {
  return stripDot(a).toLowerCase() === stripDot(b).toLowerCase();
}

/** IPv4 replies to a udp6 socket arrive as ::ffff:a.b.c.d; compare the canonical forms. */
function sameAddress(a: string, b: string): boolean {
  const canon = (ip: string) => ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
  return canon(a) === canon(b);
}

/** RFC 1035 §2.3.4: labels of 1–63 octets, 253 characters in all; the root alone is not asked for. */
function isQueryableName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) > 253) return false;
  return name.split('.').every((label) => label.length > 0 && Buffer.byteLength(label) <= 63);
}
