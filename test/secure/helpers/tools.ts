/**
 * The independent tools our output is checked with (openssl, gpg, qpdf, poppler's pdfdetach and
 * pdftotext): whether each is installed, running one with files in a temp directory, and a
 * throw-away GNUPGHOME. Tests that need a missing tool skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when `name` is on PATH. */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** `{ skip: reason }` when any of the tools is missing, for node:test options. */
export function needs(...tools: string[]): { skip: string | false } {
  const missing = tools.filter((t) => !hasTool(t));
  return { skip: missing.length > 0 ? `${missing.join(', ')} not installed` : false };
}

/** The result of one tool run. */
export interface ToolRun {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool; `input` goes to stdin. */
export function run(cmd: string, args: string[], opts: { input?: Uint8Array | string; env?: Record<string, string>; cwd?: string } = {}): ToolRun {
  const r = spawnSync(cmd, args, { input: opts.input, env: { ...process.env, ...opts.env }, cwd: opts.cwd, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** A temp directory for one test's files; `file` writes one and returns its path. */
export class Workdir {
  readonly path = mkdtempSync(join(tmpdir(), 'intentmail-secure-'));

  file(name: string, content: Uint8Array | string): string {
    const p = join(this.path, name);
    writeFileSync(p, content);
    return p;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** gpg with its own home (no agent prompts, no user keyrings touched). */
export class Gpg {
  readonly home: Workdir;

  constructor() {
    this.home = new Workdir();
  }

  run(args: string[], input?: Uint8Array | string): ToolRun {
    return run('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--trust-model', 'always', ...args], { input, env: { GNUPGHOME: this.home.path } });
  }

  import(armored: string): void {
    const r = this.run(['--import'], armored);
    if (r.status !== 0) throw new Error(`gpg --import failed: ${r.stderr}`);
  }

  close(): void {
    run('gpgconf', ['--kill', 'all'], { env: { GNUPGHOME: this.home.path } });
    this.home.remove();
  }
}
