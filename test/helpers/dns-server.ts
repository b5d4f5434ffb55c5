/**
 * A real DNS server on 127.0.0.1 (UDP, and TCP on the same port for answers that do not fit a
 * datagram) serving a declarative Zone. Tests and the E2E SMTP runs point udpResolver or
 * INTENTMAIL_DNS_SERVERS at it. TIMEOUT entries are never answered, like a dead server.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';
import { compileZone, DEFAULT_ZONE_TTL_S } from '../../src/auth/static-zone.ts';
import type { Zone } from '../../src/auth/static-zone.ts';
import type { DnsType, MxRecord } from '../../src/core/ports.ts';

/** A running test DNS server. */
export interface DnsTestServer {
  port: number;
  host: string;
  /** Questions received so far (UDP and TCP). */
  readonly queries: number;
  close(): Promise<void>;
}

/** Classic DNS UDP size when the client sends no EDNS OPT record (RFC 1035 §4.2.1). */
const CLASSIC_UDP_SIZE = 512;
/** A character-string holds at most 255 octets (RFC 1035 §3.3); longer TXT data is split. */
const MAX_CHARACTER_STRING = 255;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** Starts the server on an ephemeral port; UDP and TCP share the port number. */
export async function startDnsServer(zone: Zone): Promise<DnsTestServer> {
  const compiled = compileZone(zone);
  let queries = 0;

  const answer = (query: DecodedPacket): Buffer | null => {
    queries++;
    const question = query.questions?.[0];
    const base = { type: 'response' as const, id: query.id ?? 0, questions: query.questions ?? [] };
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
    if (!question) return dnsPacket.encode({ ...base, flags: flags | RCODE.FORMERR });
    const found = compiled.lookup(question.name, String(question.type) as DnsType);
    if (found.status === 'timeout') return null;
    const answers: Answer[] = found.chain.map((hop) => ({ name: hop.name, type: 'CNAME', ttl: hop.ttl, class: 'IN', data: hop.target }));
    const packet: Packet = { ...base, flags, answers, authorities: [] };
    switch (found.status) {
      case 'ok':
        for (const record of found.records) answers.push(toRr(found.owner, String(question.type) as DnsType, record, found.ttl));
        break;
      case 'nodata':
        packet.authorities = [soa(found.owner, found.ttl)];
        break;
      case 'absent':
        packet.flags = flags | RCODE.NXDOMAIN;
        packet.authorities = [soa(found.owner, DEFAULT_ZONE_TTL_S)];
        break;
      case 'loop':
        packet.flags = flags | RCODE.SERVFAIL;
        break;
    }
    return dnsPacket.encode(packet);
  };

  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const port = udp.address().port;
    const tcp = net.createServer((socket) => serveTcp(socket, answer));
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) {
      // The TCP side of this port is taken: try another port.
      udp.close();
      if (attempt >= 10) throw new Error('startDnsServer: no port free for both UDP and TCP');
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      let query: DecodedPacket;
      try {
        query = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const reply = answer(query);
      if (!reply) return;
      const opt = (query.additionals ?? []).find((rr) => rr.type === 'OPT') as { udpPayloadSize?: number } | undefined;
      const limit = Math.max(CLASSIC_UDP_SIZE, opt?.udpPayloadSize ?? CLASSIC_UDP_SIZE);
      // Too big for the client's datagram size: send the header with TC set so it retries over TCP.
      const out = reply.length > limit ? truncated(reply) : reply;
      udp.send(out, rinfo.port, rinfo.address);
    });
    const sockets = new Set<net.Socket>();
    tcp.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return {
      port,
      host: '127.0.0.1',
      get queries() {
        return queries;
      },
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
      },
    };
  }
}

function serveTcp(socket: net.Socket, answer: (query: DecodedPacket) => Buffer | null): void {
  let pending = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      const message = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      let query: DecodedPacket;
      try {
        query = dnsPacket.decode(message);
      } catch {
        socket.destroy();
        return;
      }
      const reply = answer(query);
      if (!reply) continue;
      const framed = Buffer.alloc(2 + reply.length);
      framed.writeUInt16BE(reply.length, 0);
      reply.copy(framed, 2);
      socket.write(framed);
    }
  });
}

/** The reply's header and question with TC set and no records (RFC 2181 §9). */
function truncated(reply: Buffer): Buffer {
  const full = dnsPacket.decode(reply);
  const rcode = reply.readUInt16BE(2) & 0xf;
  return dnsPacket.encode({ type: 'response', id: full.id, flags: (full.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE | rcode, questions: full.questions ?? [] });
}

function toRr(name: string, type: DnsType, record: string | string[] | MxRecord, ttl: number): Answer {
  switch (type) {
    case 'TXT':
      return { name, type: 'TXT', ttl, class: 'IN', data: splitChunks(record as string[]) };
    case 'SPF':
      // dns-packet has no SPF encoder: write the character-strings as raw rdata.
      return { name, type: 'SPF' as RecordType as 'NULL', ttl, class: 'IN', data: Buffer.concat(splitChunks(record as string[]).map((c) => Buffer.concat([Buffer.from([c.length]), c]))) };
    case 'MX': {
      const mx = record as MxRecord;
      return { name, type: 'MX', ttl, class: 'IN', data: { preference: mx.priority, exchange: mx.exchange } };
    }
    default:
      return { name, type: type as 'A', ttl, class: 'IN', data: record as string };
  }
}

function splitChunks(chunks: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    const bytes = Buffer.from(chunk, 'utf8');
    if (bytes.length === 0) out.push(bytes);
    for (let i = 0; i < bytes.length; i += MAX_CHARACTER_STRING) out.push(bytes.subarray(i, i + MAX_CHARACTER_STRING));
  }
  return out;
}

function soa(owner: string, ttl: number): Answer {
  const apex = owner.split('.').slice(-2).join('.') || owner;
  return {
    name: apex,
    type: 'SOA',
    ttl,
    class: 'IN',
    data: { mname: `ns.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: ttl },
  };
}
