/**
 * `intentmail jobs`: the action chain for operators — a message's progress, the dead-lettered
 * steps, and re-drive (the dead step runs again; the chain goes on from there). A re-drive is
 * audited. It works against the database directly, so a running router or worker picks the
 * re-driven job up from the outbox (with the embedded database, stop `serve` first: only one
 * process can open it).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildApp } from '../../app/compose.ts';
import { createJobControl, type DeadStep, type MessageProgress } from '../../queue/control.ts';
import { storeDriver } from '../../store/drizzle-store.ts';
import { configFromArgs } from '../context.ts';

const USAGE = `usage: intentmail jobs status MESSAGE_ID [--json]
       intentmail jobs dead [--tenant T] [--json]
       intentmail jobs redrive MESSAGE_ID [--step PATH]`;

/** One line per step. */
function progressText(p: MessageProgress): string {
  const lines = [`message ${p.messageId} (${p.tenant}/${p.intent}): ${p.status}`];
  for (const s of p.steps) {
    const extra = [s.resourceId ? `resource ${s.resourceId}` : null, s.webhookId ? `webhook-id ${s.webhookId}` : null, s.nextAttemptAt ? `next attempt ${s.nextAttemptAt.toISOString()}` : null, s.lastError]
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${s.path.padEnd(12)} ${s.name.padEnd(20)} ${s.status.padEnd(11)} attempts ${s.attempts}${extra ? `  ${extra}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function deadText(list: DeadStep[]): string {
  if (list.length === 0) return 'no dead-lettered steps\n';
  return `${list.map((d) => `${d.messageId}  ${d.tenant}/${d.intent}  step ${d.stepPath || '-'}${d.name ? ` (${d.name})` : ''}  after ${d.attempts} attempt(s), ${d.failedAt.toISOString()}: ${d.reason}`).join('\n')}\n`;
}

/** Dispatches the `jobs` sub-commands. */
export async function jobsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'status' && sub !== 'dead' && sub !== 'redrive') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { config, env, rest: flags, logger } = configFromArgs(rest);
  const { values, positionals } = parseArgs({ args: flags, allowPositionals: true, options: { tenant: { type: 'string' }, step: { type: 'string' }, json: { type: 'boolean' } } });
  if ((sub === 'status' || sub === 'redrive') && positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const app = await buildApp(config, { logger, env });
  try {
    const store = await app.store();
    const control = createJobControl(storeDriver(store).db);
    if (sub === 'status') {
      const p = await control.messageStatus(positionals[0]);
      if (!p) {
        process.stderr.write(`intentmail jobs: no message ${positionals[0]}\n`);
        return 1;
      }
      process.stdout.write(values.json ? `${JSON.stringify(p, null, 2)}\n` : progressText(p));
      return 0;
    }
    if (sub === 'dead') {
      const list = await control.listDead(values.tenant);
      process.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : deadText(list));
      return 0;
    }
    const before = await control.messageStatus(positionals[0]);
    const ok = await control.redrive(positionals[0], values.step);
    if (!ok || !before) {
      process.stderr.write(`intentmail jobs: nothing dead-lettered to re-drive for ${positionals[0]}${values.step ? ` at step ${values.step}` : ''}\n`);
      return 1;
    }
    await store.appendAudit({
      eventId: randomUUID(),
      timestamp: app.clock.now().toISOString(),
      tenant: before.tenant,
      actor: { email: null, verified: false, ip: null, helo: null },
      action: { type: 'job.redrive', target: before.messageId, intent: before.intent, parameters: { jobId: before.jobId, stepPath: values.step ?? null, via: 'cli' } },
      authentication: null,
      authorization: { permitted: true, role: 'operator', policy: null, reason: 'intentmail jobs redrive (local operator)' },
      result: { status: 'requeued', resourceId: before.jobId },
    });
    process.stdout.write(`re-driven: ${positionals[0]} is back in the queue's outbox; a running worker picks it up\n`);
    return 0;
  } finally {
    await app.close();
  }
}
