/**
 * A small, strict SMTP client for tests: it speaks real SMTP over TCP (optionally from another
 * loopback address, to play a "foreign server") and records every reply, so tests can assert
 * the exact code and enhanced status of each command.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface Reply {
  code: number;
  lines: string[];
  /** The whole reply as one string: `550 5.7.1 text`. */
  text: string;
}

/** One SMTP session over a real socket. */
export class SmtpClient {
  private socket: Socket | TLSSocket;
  private buffer = '';
  private waiters: ((r: Reply) => void)[] = [];
  private replies: Reply[] = [];
  private pending: string[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects and reads the greeting. */
  static async connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<{ client: SmtpClient; greeting: Reply }> {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new SmtpClient(socket);
    return { client, greeting: await client.read() };
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let idx;
      while ((idx = this.buffer.indexOf('\r\n')) >= 0) {
        const line = this.buffer.slice(0, idx);
        this.buffer = this.buffer.slice(idx + 2);
        this.pending.push(line);
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
          const reply: Reply = { code: Number(line.slice(0, 3)), lines: this.pending.map((l) => l.slice(4)), text: this.pending.join('\n') };
          this.pending = [];
          const waiter = this.waiters.shift();
          if (waiter) waiter(reply);
          else this.replies.push(reply);
        }
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w({ code: 0, lines: ['connection closed'], text: '000 connection closed' });
    });
    socket.on('error', () => {});
  }

  /** Reads the next reply. */
  read(): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve({ code: 0, lines: ['connection closed'], text: '000 connection closed' });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends a command line and reads its reply. */
  async cmd(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** Sends DATA, the dot-stuffed message and the final dot; returns [reply to DATA, reply to the message]. */
  async data(raw: Buffer | string): Promise<[Reply, Reply | null]> {
    const go = await this.cmd('DATA');
    if (go.code !== 354) return [go, null];
    let text = Buffer.isBuffer(raw) ? raw.toString('latin1') : raw;
    if (!text.endsWith('\r\n')) text += '\r\n';
    // RFC 5321 §4.5.2: a line starting with "." gets another one.
    text = text.replace(/(^|\r\n)\./g, '$1..');
    this.socket.write(Buffer.from(text, 'latin1'));
    this.socket.write('.\r\n');
    return [go, await this.read()];
  }

  /** Sends raw bytes as they are (for smuggling and bare-LF tests). */
  writeRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Upgrades the connection with STARTTLS (RFC 3207). */
  async startTls(opts: { ca?: Buffer; servername?: string } = {}): Promise<Reply> {
    const reply = await this.cmd('STARTTLS');
    if (reply.code !== 220) return reply;
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, ca: opts.ca, servername: opts.servername, rejectUnauthorized: Boolean(opts.ca) });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  async quit(): Promise<void> {
    if (!this.closed) {
      await this.cmd('QUIT').catch(() => undefined);
      this.socket.end();
    }
  }
}

/** The replies of one complete transaction. */
export interface Transaction {
  greeting: Reply;
  ehlo: Reply;
  mail: Reply;
  rcpt: Reply[];
  data: Reply | null;
  message: Reply | null;
}

/** Runs EHLO, MAIL, RCPT… and DATA (if any recipient was accepted), then QUIT. */
export async function sendMail(port: number, opts: { from: string; to: string[]; raw: Buffer | string; localAddress?: string; helo?: string; size?: number }): Promise<Transaction> {
  const { client, greeting } = await SmtpClient.connect(port, { localAddress: opts.localAddress });
  try {
    const ehlo = await client.cmd(`EHLO ${opts.helo ?? 'client.test'}`);
    const mail = await client.cmd(`MAIL FROM:<${opts.from}>${opts.size !== undefined ? ` SIZE=${opts.size}` : ''}`);
    const rcpt: Reply[] = [];
    if (mail.code === 250) for (const to of opts.to) rcpt.push(await client.cmd(`RCPT TO:<${to}>`));
    let data: Reply | null = null;
    let message: Reply | null = null;
    if (rcpt.some((r) => r.code === 250)) [data, message] = await client.data(opts.raw);
    return { greeting, ehlo, mail, rcpt, data, message };
  } finally {
    await client.quit();
  }
}
