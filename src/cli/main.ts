/**
 * `intentmail` command line (../shared/spec/interface.md, "Commands"). Each command lives in
 * src/cli/commands/; this file only dispatches and turns errors into exit codes.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IntentmailError } from '../core/errors.ts';
import { serveCommand } from './commands/serve.ts';
import { simulateCommand } from './commands/simulate.ts';
import { policyCommand } from './commands/policy.ts';
import { auditCommand } from './commands/audit.ts';
import { migrateCommand } from './commands/migrate.ts';
import { workerCommand } from './commands/worker.ts';
import { jobsCommand } from './commands/jobs.ts';
import { keysCommand } from './commands/keys.ts';

const USAGE = `usage: intentmail <command> [options]

  serve [--flags]                     SMTP ingress, HTTP listener and workers (also: npm start)
  worker [--flags]                    workers only: run the action chains (many per PostgreSQL)
  jobs status MESSAGE_ID [--json]     a message's chain: each step, attempts, results, errors
  jobs dead [--tenant T] [--json]     dead-lettered steps
  jobs redrive MESSAGE_ID [--step PATH]   run a dead-lettered step again (audited)
  simulate FILE.eml --to ADDR [--from ADDR] [--ip IP] [--helo NAME] [--tls] [--json] [--keys]
                                      dry run: authentication, intent, access decision, steps
  policy validate [DIR] [--strict]    load and check every policy; exit 1 with file:line:field
  policy schema [--out DIR]           JSON Schemas of tenant.yaml and intent files (for editors)
  audit verify [--tenant T] [--json]  check the audit chains and signed checkpoints
  migrate                             apply database migrations
  keys import --tenant T FILE... [--password P]
                                      import certificates, PKCS#12, PEM keys, CRLs, OpenPGP keys
  keys list --tenant T [--json]       the tenant's key store
  keys remove --tenant T ID           remove one entry
  keys phone --tenant T ADDRESS +NUMBER   SMS number for PDF container passwords

Configuration comes from the environment (see README); every variable is also a --flag on serve.`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
  worker: workerCommand,
  jobs: jobsCommand,
  simulate: simulateCommand,
  policy: policyCommand,
  audit: auditCommand,
  migrate: migrateCommand,
  keys: keysCommand,
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`intentmail: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(args);
  } catch (err) {
    if (err instanceof IntentmailError) {
      process.stderr.write(`intentmail ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`intentmail ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
