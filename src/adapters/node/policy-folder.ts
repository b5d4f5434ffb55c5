/**
 * The Node policy source: reads `*.yaml`/`*.yml` below a folder (default `./intents`). Dotfiles
 * and dot-folders (`.git`, Kubernetes `..data`) and `node_modules` are skipped; symlinked files
 * are read, symlinked folders are not followed (no loops). A file over the policy size limit is
 * read only up to one byte past it, so the loader can still name and refuse it.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IntentmailError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { PolicyFile, PolicySource } from '../../core/ports.ts';

const YAML_FILE = /\.ya?ml$/i;

/** Reads at most `LIMITS.MAX_POLICY_FILE_BYTES + 1` bytes of a file as UTF-8 (a BOM is kept, so blob ids match git). */
async function readCapped(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(LIMITS.MAX_POLICY_FILE_BYTES + 1);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Collects policy file paths (relative, `/`-separated) below `dir`. */
async function collect(root: string, rel: string, out: string[]): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) await collect(root, path, out);
    else if (YAML_FILE.test(e.name) && (e.isFile() || (e.isSymbolicLink() && (await stat(join(root, path))).isFile()))) out.push(path);
    if (out.length > LIMITS.MAX_POLICY_FILES) return;
  }
}

/** A policy source reading the folder `dir` recursively; `location` is the folder as given. */
export function folderPolicySource(dir: string): PolicySource {
  const root = resolve(dir);
  return {
    location: dir,
    async list(): Promise<PolicyFile[]> {
      const paths: string[] = [];
      try {
        await collect(root, '', paths);
      } catch (err) {
        throw new IntentmailError('config_invalid', `policy folder ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
      }
      paths.sort();
      const files: PolicyFile[] = [];
      for (const path of paths.slice(0, LIMITS.MAX_POLICY_FILES + 1)) files.push({ path, text: await readCapped(join(root, path)) });
      return files;
    },
  };
}
