/**
 * The benchmark's SMTP load: N concurrent connections, each sending its share of pre-signed
 * messages one transaction after another (EHLO once, then MAIL/RCPT/DATA per message). The
 * accept latency of a message runs from the moment the final "." of DATA is written to the
 * moment the reply arrives. Optionally paced: message i may start no earlier than i / rate s.
 */
import { connect, type Socket } from 'node:net';

/** One message to send and what happened to it. */
export interface Shot {
  raw: Buffer;
  from: string;
  to: string;
  /** performance.now() when the end of DATA was written. */
  endOfData?: number;
  /** performance.now() when the final reply arrived. */
  replied?: number;
  reply?: string;
}

/** Reads SMTP replies off a socket, one complete (multi-line) reply per `next()`. */
class Replies {
  #buffer = '';
  #lines: string[] = [];
  #ready: string[] = [];
  #waiting: ((r: string) => void)[] = [];
  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\r\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 2);
        this.#lines.push(line);
        if (/^\d{3}( |$)/.test(line)) {
          const reply = this.#lines.join('\n');
          this.#lines = [];
          const w = this.#waiting.shift();
          if (w) w(reply);
          else this.#ready.push(reply);
        }
      }
    });
    socket.on('close', () => {
      for (const w of this.#waiting.splice(0)) w('000 connection closed');
    });
  }
  next(): Promise<string> {
    const r = this.#ready.shift();
    return r !== undefined ? Promise.resolve(r) : new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** Dot-stuffs a message (RFC 5321 §4.5.2) and appends the end-of-data line. */
export function dataBytes(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(`${text}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1');
}

/** Sends every shot over `connections` parallel sessions to host:port; resolves when all are answered. */
export async function runLoad(opts: { port: number; host?: string; connections: number; shots: Shot[]; ratePerSecond?: number; start?: number }): Promise<void> {
  const start = opts.start ?? performance.now();
  let next = 0;
  const session = async (): Promise<void> => {
    const socket = connect({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {});
    const replies = new Replies(socket);
    const cmd = async (line: string): Promise<string> => {
      socket.write(`${line}\r\n`);
      return replies.next();
    };
    await replies.next();
    await cmd('EHLO load.bench.example');
    for (;;) {
      const i = next++;
      if (i >= opts.shots.length) break;
      const shot = opts.shots[i];
      if (opts.ratePerSecond) {
        const due = start + (i * 1000) / opts.ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const mail = await cmd(`MAIL FROM:<${shot.from}>`);
      const rcpt = mail.startsWith('250') ? await cmd(`RCPT TO:<${shot.to}>`) : mail;
      const data = rcpt.startsWith('250') ? await cmd('DATA') : rcpt;
      if (!data.startsWith('354')) {
        shot.reply = data;
        shot.replied = performance.now();
        continue;
      }
      socket.write(dataBytes(shot.raw));
      shot.endOfData = performance.now();
      shot.reply = await replies.next();
      shot.replied = performance.now();
    }
    socket.end('QUIT\r\n');
  };
  await Promise.all(Array.from({ length: opts.connections }, session));
}

/** The p-th percentile (0–100) of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
