/**
 * The real command line in child processes (`intentmail worker`, `intentmail serve`) for the
 * scale-out and crash tests: their JSON log lines are collected, and they can be stopped or
 * killed with SIGKILL in the middle of a chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A running CLI process. */
export interface CliProcess {
  child: ChildProcess;
  /** Parsed JSON log lines (stderr). */
  logs: Record<string, unknown>[];
  /** Everything written to stdout so far. */
  stdout(): string;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<void>;
  /** Resolves with the exit code (or the signal) once the process ended. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `intentmail ARGS` with `env` added to this process's environment. */
export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (out += chunk));
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    logs,
    stdout: () => out,
    async waitForLog(pred, ms = 60_000) {
      const end = Date.now() + ms;
      while (!logs.some(pred)) {
        if (Date.now() > end) throw new Error(`log line not seen within ${ms} ms; last lines: ${JSON.stringify(logs.slice(-5))}`);
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}); last lines: ${JSON.stringify(logs.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
