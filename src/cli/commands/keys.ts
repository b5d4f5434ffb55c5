/**
 * `intentmail keys import|list|remove|phone`: a tenant's key store (../shared/spec/interface.md).
 * Import checks every certificate and key (validity, usage, chain, revocation) and names the
 * reason for each one it refuses; exit 1 when anything was refused.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../../app/compose.ts';
import { IntentmailError } from '../../core/errors.ts';
import { openKeyStore } from '../../keys/open.ts';
import type { KeyEntry } from '../../keys/types.ts';
import { configFromArgs } from '../context.ts';

const USAGE = `usage: intentmail keys import --tenant T FILE... [--password P]
       intentmail keys list --tenant T [--json]
       intentmail keys remove --tenant T ID
       intentmail keys phone --tenant T ADDRESS +NUMBER     (SMS number for PDF passwords)`;

/** Dispatches the `keys` sub-commands. */
export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!['import', 'list', 'remove', 'phone'].includes(sub ?? '')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { config, env, rest: flags, logger } = configFromArgs(rest);
  const { values, positionals } = parseArgs({
    args: flags,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, password: { type: 'string' }, json: { type: 'boolean' } },
  });
  const tenant = values.tenant;
  if (!tenant) {
    process.stderr.write(`intentmail keys ${sub}: --tenant is required\n${USAGE}\n`);
    return 2;
  }
  const app = await buildApp(config, { logger, env });
  if (!app.policy.tenants.has(tenant)) throw new IntentmailError('not_found', `tenant "${tenant}" is not in the policy folder ${app.policy.location}`);
  const { masterKey, signer } = app.keys();
  const opened = await openKeyStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, signer, masterKey, logger });
  try {
    switch (sub) {
      case 'import': {
        if (positionals.length === 0) {
          process.stderr.write(`intentmail keys import: name at least one FILE\n${USAGE}\n`);
          return 2;
        }
        const files = positionals.map((path) => ({ name: basename(path), data: readFileSync(path) }));
        const outcomes = await opened.keys.importFiles(tenant, files, { password: values.password, actor: null });
        for (const o of outcomes) {
          if (o.status === 'refused') process.stdout.write(`refused   ${o.file}${o.subject ? ` "${o.subject}"` : ''}: ${o.reason}\n`);
          else process.stdout.write(`${o.status.padEnd(9)} ${o.kind} ${o.id} ${o.addresses.join(',') || '-'} "${o.subject}": ${o.reason}\n`);
        }
        return outcomes.some((o) => o.status === 'refused') ? 1 : 0;
      }
      case 'list': {
        const entries = await opened.keys.list(tenant);
        if (values.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else if (entries.length === 0) process.stdout.write(`no keys for tenant ${tenant}\n`);
        else for (const e of entries) process.stdout.write(`${listLine(e)}\n`);
        return 0;
      }
      case 'remove': {
        const id = positionals[0];
        if (!id) {
          process.stderr.write(`intentmail keys remove: name the ID\n${USAGE}\n`);
          return 2;
        }
        if (!(await opened.keys.remove(tenant, id))) throw new IntentmailError('not_found', `tenant ${tenant} has no key ${id}`);
        process.stdout.write(`removed ${id}\n`);
        return 0;
      }
      default: {
        const [address, phone] = positionals;
        if (!address || !phone) {
          process.stderr.write(`intentmail keys phone: name the ADDRESS and the +NUMBER\n${USAGE}\n`);
          return 2;
        }
        await opened.keys.setPhone(tenant, address, phone);
        process.stdout.write(`PDF passwords for ${address.toLowerCase()} go by SMS to ${phone}\n`);
        return 0;
      }
    }
  } finally {
    await opened.close();
    await app.close();
  }
}

function listLine(e: KeyEntry): string {
  const until = e.notAfter ? e.notAfter.toISOString().slice(0, 10) : 'no expiry';
  const flags = [e.source, e.hasSecret ? 'private key' : null, e.details.revoked === true ? 'REVOKED' : null].filter((f) => f !== null).join(', ');
  return `${e.id}  ${e.kind.padEnd(14)}  ${(e.addresses.join(',') || '-').padEnd(28)}  until ${until}  ${e.fingerprint.slice(0, 16)}  (${flags})  ${e.subject}`;
}
