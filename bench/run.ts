/**
 * `npm run bench`: the end-to-end benchmark (issue 3). DKIM-signed 20 KB messages over 50
 * concurrent SMTP connections through the whole router — authentication against a real DNS
 * server, policy, the encrypted store, the queue, and a signed webhook to a local receiver that
 * verifies every signature. It measures:
 *
 *   A. saturation: all messages as fast as 50 connections go → accepted and delivered msg/s;
 *   B. a paced load at BENCH_RATE msg/s (default 400) → accept and end-to-end latency at that rate;
 *   C. the same saturating load against a bare smtp-server sink → the ceiling, and our ratio to it.
 *
 * The router runs as its own process (`intentmail serve`), as does the sink; the load generator,
 * DNS server and webhook receiver share this process. PostgreSQL when DATABASE_URL is set (a
 * fresh database is created and dropped), else embedded PGlite in a temp dir. Peak RSS is the
 * router process's VmHWM. Knobs: BENCH_MESSAGES (default 3000), BENCH_RATE, BENCH_PACED_SECONDS
 * (default 10), BENCH_CONNECTIONS (default 50), BENCH_WORKERS (INTENTMAIL_WORKER_CONCURRENCY),
 * BENCH_PROFILE=DIR (a V8 CPU profile of the router process, written when it stops), BENCH_SPLIT=1
 * (with DATABASE_URL: ingress-only `serve` plus a separate `intentmail worker`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { buildMessage, generateDkimKey, signMessage } from '../test/helpers/dkim.ts';
import { writePolicyFolder } from '../test/helpers/router.ts';
import { verifyWebhook } from '../src/steps/signature.ts';
import { percentile, runLoad, type Shot } from './load.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 3000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const RATE = Number(process.env.BENCH_RATE ?? 400);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const WORKERS = process.env.BENCH_WORKERS;
/** A directory for a V8 CPU profile of the router process (where the time goes). */
const PROFILE = process.env.BENCH_PROFILE;
/** BENCH_SPLIT=1: `serve` ingress-only plus one `intentmail worker` process (PostgreSQL only), the scale-out layout. */
const SPLIT = process.env.BENCH_SPLIT === '1' && Boolean(process.env.DATABASE_URL);
const MESSAGE_BYTES = 20 * 1024;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A fresh database: a new one on the PostgreSQL server, or a temp dir for PGlite. */
async function freshDatabase(): Promise<{ url?: string; dataDir: string; cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'intentmail-bench-'));
  const server = process.env.DATABASE_URL;
  if (!server) return { dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  const name = `intentmail_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    cleanup: async () => {
      const dropper = postgres(server, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A text body of about `bytes` bytes in 76-character lines. */
function body(bytes: number, seed: number): string {
  const words = 'invoice order shipment pallet customs delivery schedule warehouse forklift container supplier ledger'.split(' ');
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = Array.from({ length: 9 }, (_, j) => words[(seed + i * 7 + j * 3) % words.length]).join(' ');
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join('\n');
}

/** Signed messages, each about 20 KB, with Message-IDs the receiver maps back. */
async function makeShots(count: number, tag: string, key: { privateKey: string }): Promise<Shot[]> {
  const shots: Shot[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await signMessage(
      buildMessage({ from: 'alice@acme.example', to: 'bench.hook@in.acme.example', subject: `Bench ${tag} ${i} #load`, text: body(MESSAGE_BYTES - 900, i), messageId: `<${tag}-${i}@acme.example>` }),
      { domain: 'acme.example', selector: 'mail', privateKey: key.privateKey },
    );
    shots.push({ raw, from: 'alice@acme.example', to: 'bench.hook@in.acme.example' });
  }
  return shots;
}

/** Spawns a process and resolves once `ready` matches a line of its output. */
function spawnUntil(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = seen.split('\n').find((l) => ready.test(l));
      if (m) resolve({ child, line: m });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${seen.slice(-2000)}`)));
  });
}

/** A free TCP port on 127.0.0.1 (bound and released). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Resolves once the router answers with an SMTP greeting on `port`. */
async function waitForSmtp(port: number, child: ChildProcess, errors: () => string): Promise<void> {
  const end = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the router exited (${child.exitCode}): ${errors()}`);
    const greeted = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('data', (d) => {
        s.end('QUIT\r\n');
        resolve(d.toString().startsWith('220'));
      });
      s.once('error', () => resolve(false));
    });
    if (greeted) return;
    if (Date.now() > end) throw new Error(`no SMTP greeting on ${port}: ${errors()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc/PID/stat), or null. */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of every PostgreSQL server process on this machine (0 when none is local). */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(pid)) ?? 0;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Peak resident set of a process, in MiB (Linux /proc VmHWM). */
function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const key = generateDkimKey('rsa');
  const dkimRecord = `v=DKIM1; k=rsa; p=${key.publicKey.replace(/-----[^-]+-----|\s/g, '')}`;
  const dns = await startDnsServer({
    'acme.example': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
    'mail._domainkey.acme.example': { TXT: dkimRecord },
    '_dmarc.acme.example': { TXT: 'v=DMARC1; p=reject' },
  });
  const db = await freshDatabase();

  // The webhook receiver: verifies each signature and notes when each message arrived.
  const arrived = new Map<string, number>();
  let badSignatures = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const text = Buffer.concat(chunks).toString('utf8');
      const ok = verifyWebhook({
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body: text,
        secrets: [SECRET],
        now: new Date(),
      }).ok;
      if (!ok) badSignatures++;
      const messageId = (JSON.parse(text) as { data: { message: { messageId: string } } }).data.message.messageId;
      if (!arrived.has(messageId)) arrived.set(messageId, at);
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"T-${arrived.size}"}`);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

  const policy = writePolicyFolder({
    'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
    'acme/bench.hook.yaml': 'intent: bench.hook\nsenders: ["@acme.example"]\nsteps:\n  - webhook: { url: "${env.BENCH_HOOK}", secret: "${env.BENCH_SECRET}" }\n',
  });

  log(`signing ${MESSAGES * 2 + 50 + RATE * PACED_SECONDS} messages of ~20 KB…`);
  const warm = await makeShots(50, 'warm', key);
  const saturate = await makeShots(MESSAGES, 'sat', key);
  const paced = await makeShots(RATE * PACED_SECONDS, 'paced', key);
  const ceiling = await makeShots(MESSAGES, 'sink', key);

  const smtpPort = await freePort();
  const env: Record<string, string> = {
    INTENTMAIL_INTENTS: policy,
    INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    INTENTMAIL_DATA_DIR: db.dataDir,
    INTENTMAIL_SMTP_PORT: String(smtpPort),
    INTENTMAIL_HTTP_PORT: '0',
    INTENTMAIL_HOSTNAME: 'mx.bench.example',
    INTENTMAIL_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    INTENTMAIL_MAX_CONNECTIONS: String(CONNECTIONS * 2),
    INTENTMAIL_MASTER_KEY: randomBytes(32).toString('base64'),
    INTENTMAIL_AUDIT_KEY: randomBytes(32).toString('base64'),
    BENCH_HOOK: hookUrl,
    BENCH_SECRET: SECRET,
    ...(db.url ? { DATABASE_URL: db.url } : {}),
    ...(WORKERS ? { INTENTMAIL_WORKER_CONCURRENCY: WORKERS } : {}),
  };
  const profile = (name: string) => (PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const child = spawn(process.execPath, [...profile('serve'), CLI, 'serve'], { env: { ...process.env, ...env, ...(SPLIT ? { INTENTMAIL_WORKER_CONCURRENCY: '0' } : {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (c: Buffer) => (errors = (errors + c.toString()).slice(-4000)));
  const router = { child };
  await waitForSmtp(smtpPort, child, () => errors);
  const worker = SPLIT ? spawn(process.execPath, [...profile('worker'), CLI, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] }) : null;

  const waitDelivered = async (shots: Shot[], tag: string, ms = 300_000): Promise<void> => {
    const end = Date.now() + ms;
    const ids = shots.map((_, i) => `<${tag}-${i}@acme.example>`);
    while (ids.some((id) => !arrived.has(id))) {
      if (Date.now() > end) throw new Error(`${tag}: ${ids.filter((id) => !arrived.has(id)).length} messages not delivered within ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const latencies = (shots: Shot[], tag: string) => {
    const accept = shots.map((s) => s.replied! - s.endOfData!);
    const e2e = shots.map((s, i) => arrived.get(`<${tag}-${i}@acme.example>`)! - s.endOfData!);
    return { accept, e2e };
  };
  const refused = (shots: Shot[]) => shots.filter((s) => !s.reply?.startsWith('250')).length;

  log('warm-up…');
  await runLoad({ port: smtpPort, connections: 10, shots: warm });
  await waitDelivered(warm, 'warm');

  log(`A: ${MESSAGES} messages over ${CONNECTIONS} connections, as fast as they go…`);
  const routerCpu = () => (cpuSeconds(router.child.pid!) ?? 0) + (worker ? (cpuSeconds(worker.pid!) ?? 0) : 0);
  const dbStats = async () => {
    if (!db.url) return null;
    const c = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await c`SELECT pg_stat_clear_snapshot()`;
      const [r] = await c`SELECT xact_commit::bigint AS commits, (tup_inserted + tup_updated + tup_deleted)::bigint AS writes FROM pg_stat_database WHERE datname = current_database()`;
      return { commits: Number(r.commits), writes: Number(r.writes) };
    } finally {
      await c.end();
    }
  };
  const stats0 = await dbStats();
  const cpu0 = { router: routerCpu(), pg: postgresCpuSeconds(), self: process.cpuUsage() };
  const a0 = performance.now();
  await runLoad({ port: smtpPort, connections: CONNECTIONS, shots: saturate, start: a0 });
  const aAccepted = performance.now();
  await waitDelivered(saturate, 'sat');
  const self = process.cpuUsage(cpu0.self);
  const cpu = {
    router: (routerCpu() - cpu0.router) * 1000 / MESSAGES,
    pg: (postgresCpuSeconds() - cpu0.pg) * 1000 / MESSAGES,
    load: (self.user + self.system) / 1000 / MESSAGES,
  };
  // The statistics reach pg_stat_database when sessions go idle: give them a moment.
  await new Promise((r) => setTimeout(r, 1500));
  const stats1 = await dbStats();
  const perMessage = stats0 && stats1 ? { commits: (stats1.commits - stats0.commits) / MESSAGES, writes: (stats1.writes - stats0.writes) / MESSAGES } : null;
  const aDelivered = Math.max(...saturate.map((_, i) => arrived.get(`<sat-${i}@acme.example>`)!));
  const a = latencies(saturate, 'sat');

  log(`B: ${paced.length} messages paced at ${RATE}/s…`);
  const b0 = performance.now();
  await runLoad({ port: smtpPort, connections: CONNECTIONS, shots: paced, ratePerSecond: RATE, start: b0 });
  await waitDelivered(paced, 'paced');
  const bDelivered = Math.max(...paced.map((_, i) => arrived.get(`<paced-${i}@acme.example>`)!));
  const b = latencies(paced, 'paced');
  const rss = peakRssMiB(router.child.pid!);
  const workerRss = worker ? peakRssMiB(worker.pid!) : null;
  const stopped = [router.child, ...(worker ? [worker] : [])].map((c) => new Promise((r) => c.once('exit', r)));
  router.child.kill('SIGTERM');
  worker?.kill('SIGTERM');
  await Promise.all(stopped);

  log('C: the same saturating load against a bare smtp-server sink…');
  const sink = await spawnUntil([new URL('./sink.ts', import.meta.url).pathname], {}, /^listening \d+/m);
  const sinkPort = Number(/listening (\d+)/.exec(sink.line)![1]);
  const c0 = performance.now();
  await runLoad({ port: sinkPort, connections: CONNECTIONS, shots: ceiling, start: c0 });
  const cDone = performance.now();
  sink.child.kill('SIGTERM');

  const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(0);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const aAcceptRate = MESSAGES / ((aAccepted - a0) / 1000);
  const ceilingRate = MESSAGES / ((cDone - c0) / 1000);
  const lines = [
    `intentmail benchmark — ${cpus().length} cores, Node ${process.version}, ${db.url ? 'PostgreSQL' : 'PGlite (embedded)'}, ${SPLIT ? '`serve` (ingress) + one `worker` process' : 'one `serve` process'}, ${CONNECTIONS} connections, ~20 KB DKIM-signed messages, webhook with default payload`,
    '',
    `A. saturation (${MESSAGES} messages)`,
    `   accepted            ${rate(MESSAGES, aAccepted - a0)} msg/s   (${refused(saturate)} refused)`,
    `   delivered           ${rate(MESSAGES, aDelivered - a0)} msg/s   (webhook received, signature verified)`,
    `   accept latency      p50 ${ms(percentile(a.accept, 50))}   p99 ${ms(percentile(a.accept, 99))}`,
    `   end-to-end latency  p50 ${ms(percentile(a.e2e, 50))}   p99 ${ms(percentile(a.e2e, 99))}`,
    `   CPU per message     router${SPLIT ? ' (both processes)' : ''} ${ms(cpu.router)}   PostgreSQL ${db.url ? ms(cpu.pg) : 'n/a (embedded)'}   load generator + DNS + receiver ${ms(cpu.load)}`,
    ...(perMessage ? [`   database per message ${perMessage.commits.toFixed(1)} commits, ${perMessage.writes.toFixed(1)} row writes (all queries, pg-boss included)`] : []),
    `B. paced at ${RATE} msg/s (${paced.length} messages)`,
    `   delivered           ${rate(paced.length, bDelivered - b0)} msg/s   (${refused(paced)} refused)`,
    `   accept latency      p50 ${ms(percentile(b.accept, 50))}   p99 ${ms(percentile(b.accept, 99))}`,
    `   end-to-end latency  p50 ${ms(percentile(b.e2e, 50))}   p99 ${ms(percentile(b.e2e, 99))}`,
    `C. ceiling: bare smtp-server sink, same load as A`,
    `   accepted            ${ceilingRate.toFixed(0)} msg/s   → intentmail at ${((aAcceptRate / ceilingRate) * 100).toFixed(0)} % of the ceiling`,
    '',
    `peak RSS of the router process: ${rss === null ? 'n/a' : `${rss.toFixed(0)} MiB`}${worker ? `, of the worker: ${workerRss === null ? 'n/a' : `${workerRss.toFixed(0)} MiB`}` : ''}; bad webhook signatures: ${badSignatures}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  receiver.close();
  await dns.close();
  await db.cleanup();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
