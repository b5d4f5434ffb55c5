/**
 * `intentmail audit verify`: recomputes every tenant's hash chain and checks every signed
 * checkpoint; exit 1 naming the first bad record.
 */
import { parseArgs } from 'node:util';
import { buildApp } from '../../app/compose.ts';
import { verifyAudit } from '../../audit/verify.ts';
import { configFromArgs } from '../context.ts';

/** Dispatches the `audit` sub-commands. */
export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify') {
    process.stderr.write('usage: intentmail audit verify [--tenant T] [--json]\n');
    return 2;
  }
  const { config, env, rest: flags, logger } = configFromArgs(rest);
  const { values } = parseArgs({ args: flags, options: { tenant: { type: 'string' }, json: { type: 'boolean' } } });
  const app = await buildApp(config, { logger, env });
  try {
    const report = await verifyAudit(await app.store(), app.keys().verifier, { tenant: values.tenant });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      for (const t of report.tenants) {
        process.stdout.write(`${t.tenant}: ${t.records} record(s), ${t.checkpoints} checkpoint(s), signed through #${t.lastCheckpointSeq}, ${t.unsignedTail} not yet checkpointed\n`);
      }
      if (report.firstBad) process.stdout.write(`FAILED: tenant ${report.firstBad.tenant}, record #${report.firstBad.seq}: ${report.firstBad.reason}\n`);
      else process.stdout.write(`ok: audit chains and checkpoints verify (signing key ${app.keys().signer.keyId})\n`);
    }
    return report.ok ? 0 : 1;
  } finally {
    await app.close();
  }
}
