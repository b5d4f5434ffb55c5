/**
 * Key files a tenant's policy names (`tenant.yaml`), imported at start-up: paths relative to
 * the tenant's folder, passwords only from the environment. Importing is idempotent (entries are
 * keyed by fingerprint), so every start re-checks the files and updates what changed.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { IntentmailError } from '../core/errors.ts';
import type { ImportOutcome, KeyStore } from './store.ts';

/** One key file entry of a tenant: its path and, for PKCS#12 or protected keys, the password's environment variable. */
export interface TenantKeyFile {
  path: string;
  passwordEnv?: string;
}

/**
 * Imports the tenant's key files from `tenantDir`. A path may not leave the tenant's folder; a
 * missing file or password variable throws naming it (start-up stops, like for a policy problem).
 */
export async function importTenantKeyFiles(keys: KeyStore, tenant: string, tenantDir: string, files: TenantKeyFile[], env: Record<string, string | undefined>): Promise<ImportOutcome[]> {
  const outcomes: ImportOutcome[] = [];
  for (const f of files) {
    const full = normalize(join(tenantDir, f.path));
    const rel = relative(tenantDir, full);
    if (isAbsolute(f.path) || rel.startsWith('..')) throw new IntentmailError('config_invalid', `${tenant}: key file ${f.path} is outside the tenant's folder`);
    let data: Buffer;
    try {
      data = await readFile(full);
    } catch (cause) {
      throw new IntentmailError('config_invalid', `${tenant}: cannot read key file ${f.path}`, { cause });
    }
    const password = f.passwordEnv === undefined ? undefined : env[f.passwordEnv];
    if (f.passwordEnv !== undefined && password === undefined) throw new IntentmailError('config_invalid', `${tenant}: key file ${f.path} needs \${env.${f.passwordEnv}}, which is not set`);
    outcomes.push(...(await keys.importFiles(tenant, [{ name: f.path, data }], { password, actor: null })));
  }
  return outcomes;
}
