/**
 * Development keys: when INTENTMAIL_MASTER_KEY or INTENTMAIL_AUDIT_KEY is not set, a random
 * key is generated once into the data directory (mode 0600) so a fresh clone runs, with a
 * warning that production must set the variable (a key beside the data it protects protects little).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/ports.ts';

/** Returns the 32-byte key from `configured` (base64) or from `<dataDir>/<file>`, creating it if absent. */
export function loadOrCreateKey(dataDir: string, file: string, variable: string, configured: string | undefined, logger: Logger): Uint8Array {
  if (configured !== undefined) return new Uint8Array(Buffer.from(configured, 'base64'));
  const path = join(dataDir, file);
  if (existsSync(path)) return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'));
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  logger.warn(`${variable} is not set: generated a development key into ${path}; set ${variable} in production`, { variable });
  return new Uint8Array(key);
}
