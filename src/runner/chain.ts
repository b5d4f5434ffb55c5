/**
 * The step runner: one pass advances a message's chain as far as it can go now.
 *
 * Steps run in policy order; an `if` is decided when the chain reaches it, on the message facts
 * and the stored results of the steps before it (`{{steps.NAME.result…}}`), so a branch can
 * depend on what a webhook answered. Each step is claimed before it runs (a row per job and
 * path, `step_runs`), so two workers never run the same step; a step already done is never run
 * again — its stored result is reused — so a retry or a re-delivered queue job repeats only the
 * step that failed. Each outcome is stored first and then appended to the audit chain (an
 * outcome stored but not yet audited is repaired on the next pass, without duplicates). A
 * temporary failure schedules the next pass on the retry schedule in the same transaction that
 * records it; a permanent failure or a used-up schedule dead-letters the step for an operator;
 * `stop`, `reject` and `quarantine` end the chain.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Clock, Logger } from '../core/ports.ts';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { Store } from '../core/store-port.ts';
import { sealMessage } from '../crypto/envelope.ts';
import type { MessageFacts } from '../message/facts.ts';
import { evaluateCondition } from '../policy/conditions.ts';
import { templateContext } from '../policy/template.ts';
import type { PolicySet, Step } from '../policy/types.ts';
import { nextRetryDelay, type RetrySchedule } from '../queue/schedule.ts';
import type { ChainJobData, Queue } from '../queue/boss.ts';
import { resultRows, type Db } from '../store/driver.ts';
import { handlerFor, type StepHandlers } from '../steps/registry.ts';
import { renderStepParams } from '../steps/render.ts';
import type { ArchivePort, OutboundDecorations, StepInvocation, StepMessage, StepOutcome, StepPorts } from '../steps/types.ts';
import { webhookId, webhookTimeoutMs } from '../steps/webhook.ts';
import { stepAuditEvent, stepTarget } from './audit.ts';
import { intentOf, openChainMessage } from './message.ts';
import {
  auditRecorded,
  claimStep,
  FINAL_JOB_STATUSES,
  finishPass,
  loadChainRow,
  loadStepRuns,
  recordOutcome,
  type StepRecord,
  type StepRunRow,
} from './repo.ts';

/** What the runner is built from. */
export interface RunnerDeps {
  db: Db;
  store: Pick<Store, 'appendAudit'>;
  queue: Pick<Queue, 'enqueueInTx'>;
  policy: () => PolicySet;
  masterKey: Uint8Array;
  handlers: StepHandlers;
  /** The handlers' ports (the runner adds the archive port). */
  ports: Omit<StepPorts, 'archive'>;
  env: Record<string, string | undefined>;
  retrySchedule: RetrySchedule;
  clock: Clock;
  logger: Logger;
  /** Added to a step's timeout to form its claim (default LIMITS.STEP_LEASE_MARGIN_MS). */
  leaseMarginMs?: number;
}

/** Which queue job (and which of its attempts) runs a pass: the claim token. */
export interface PassAttempt {
  queueJobId: string;
  retryCount: number;
}

/** How a pass ended: the job's status now, or `busy` when another worker holds the chain. */
export interface PassResult {
  status: string;
  ran: number;
}

/** Step statuses whose stored result later steps read. */
const CONTINUE = new Set(['done', 'skipped']);
/** Step statuses that end the chain, and the job status each gives. */
const ENDING: Record<string, string> = { stopped: 'stopped', rejected: 'rejected', quarantined: 'quarantined', dead: 'dead' };

/** Time a step may run before its claim lapses, without the margin. */
export function stepTimeoutMs(action: string, params: Record<string, unknown>): number {
  if (action === 'webhook' || action === 'incident') return webhookTimeoutMs(params);
  return LIMITS.MAIL_STEP_TIMEOUT_MS;
}

/** A UUID derived from text: the same retry of the same step is queued at most once, however often it is scheduled. */
function derivedUuid(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Keeps a result small enough to store and template from. */
function cappedResult(result: unknown): unknown {
  if (result === undefined) return null;
  const text = JSON.stringify(result);
  if (text === undefined) return null;
  return text.length <= LIMITS.MAX_STEP_RESULT_BYTES ? JSON.parse(text) : { truncated: true, note: `result larger than ${LIMITS.MAX_STEP_RESULT_BYTES} bytes was not kept` };
}

/** Per-pass state. */
interface Pass {
  row: NonNullable<Awaited<ReturnType<typeof loadChainRow>>>;
  runs: Map<string, StepRunRow>;
  message: StepMessage;
  facts: MessageFacts;
  decorations: OutboundDecorations;
  attempt: PassAttempt;
  audited: string[];
  ran: number;
}

type Walk = { end: false } | { end: true; status: string };

/** The runner. */
export class ChainRunner {
  readonly #d: RunnerDeps;
  readonly #ports: StepPorts;

  constructor(deps: RunnerDeps) {
    this.#d = deps;
    this.#ports = { ...deps.ports, archive: this.#archivePort() };
  }

  /** Advances the chain of `data.jobId`; throws only on storage failures (the queue retries the pass). */
  async run(data: ChainJobData, attempt: PassAttempt): Promise<PassResult> {
    const { db, logger } = this.#d;
    const row = await loadChainRow(db, data.jobId);
    if (!row) {
      logger.warn('chain job not found (deleted?)', { jobId: data.jobId });
      return { status: 'missing', ran: 0 };
    }
    if (FINAL_JOB_STATUSES.has(row.jobStatus)) return { status: row.jobStatus, ran: 0 };
    const runs = new Map((await loadStepRuns(db, row.jobId)).map((r) => [r.path, r]));
    const audited = await this.#repairAudits(row.tenant, runs);
    const tenant = this.#d.policy().tenants.get(row.tenant);
    if (!tenant) return this.#end(row.jobId, 'dead', audited, `tenant ${row.tenant} is no longer in the policy`);
    const opened = await openChainMessage(row, tenant, this.#d.masterKey);
    if ('problem' in opened) return this.#end(row.jobId, opened.erased ? 'erased' : 'dead', audited, opened.problem);
    const decorations: OutboundDecorations = { subjectTags: [], headers: [] };
    const message: StepMessage = {
      id: row.messageId,
      tenant,
      intent: intentOf(tenant, row),
      raw: opened.raw,
      parsed: opened.parsed,
      facts: opened.facts,
      envelope: { mailFrom: row.envelopeFrom, recipient: row.recipient, clientIp: row.clientIp, helo: row.helo, tls: row.tls },
      auth: opened.auth,
      receivedAt: row.receivedAt,
      decorations,
    };
    const steps = row.plan.steps as Step[] | undefined;
    if (!Array.isArray(steps)) return this.#end(row.jobId, 'dead', audited, 'the job has no step plan');
    const pass: Pass = { row, runs, message, facts: opened.facts, decorations, attempt, audited, ran: 0 };
    const walked = await this.#walk(steps, '', pass);
    if (!walked.end) return this.#end(row.jobId, 'done', audited, null, pass.ran);
    // `waiting` was set with the scheduled retry and `busy` belongs to another worker: only clear audit marks.
    if (walked.status === 'waiting' || walked.status === 'busy') {
      await finishPass(db, row.jobId, null, audited);
      return { status: walked.status, ran: pass.ran };
    }
    return this.#end(row.jobId, walked.status, audited, null, pass.ran);
  }

  /** Sets a final job status (with a log line when the chain could not start). */
  async #end(jobId: string, status: string, audited: string[], problem: string | null, ran = 0): Promise<PassResult> {
    if (problem) this.#d.logger.warn('chain ended before its steps', { jobId, status, problem });
    await finishPass(this.#d.db, jobId, status, audited);
    return { status, ran };
  }

  /** Walks a step list in order; an `if` is decided now, on the facts and the results so far. */
  async #walk(steps: Step[], prefix: string, pass: Pass): Promise<Walk> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const path = prefix === '' ? String(i) : `${prefix}.${i}`;
      if (step.kind === 'if') {
        const taken = evaluateCondition(step.when, pass.facts).result ? 'then' : 'else';
        const inner = await this.#walk(taken === 'then' ? step.then : step.else, `${path}.${taken}`, pass);
        if (inner.end) return inner;
        continue;
      }
      const walked = await this.#action(step, path, pass);
      if (walked.end) return walked;
    }
    return { end: false };
  }

  /** Makes a done step's result visible to later steps (and a tag's marks to later forwards). */
  #remember(pass: Pass, step: Extract<Step, { kind: 'action' }>, result: unknown): void {
    pass.facts.steps[step.name] = { result };
    if (step.action === 'tag' && result !== null && typeof result === 'object') {
      const r = result as { subject?: unknown; header?: { name?: unknown; value?: unknown } };
      if (typeof r.subject === 'string' && r.subject !== '') pass.decorations.subjectTags.push(r.subject);
      if (r.header && typeof r.header.name === 'string' && typeof r.header.value === 'string') pass.decorations.headers.push({ name: r.header.name, value: r.header.value });
    }
  }

  /** One action: reuse its stored outcome, or claim it, run it, store and audit the outcome. */
  async #action(step: Extract<Step, { kind: 'action' }>, path: string, pass: Pass): Promise<Walk> {
    const { db } = this.#d;
    for (let look = 0; look < 2; look++) {
      const stored = pass.runs.get(path);
      if (stored && CONTINUE.has(stored.status)) {
        this.#remember(pass, step, stored.result);
        return { end: false };
      }
      if (stored && ENDING[stored.status]) return { end: true, status: ENDING[stored.status] };
      const token = `${pass.attempt.queueJobId}:${pass.attempt.retryCount}`;
      const timeoutMs = stepTimeoutMs(step.action, step.params);
      const leaseMs = timeoutMs + (this.#d.leaseMarginMs ?? LIMITS.STEP_LEASE_MARGIN_MS);
      const whId = step.action === 'webhook' || step.action === 'incident' ? webhookId(`${pass.row.jobId}:${path}`) : null;
      const claim = await claimStep(db, {
        jobId: pass.row.jobId,
        messageId: pass.row.messageId,
        tenant: pass.row.tenant,
        path,
        name: step.name,
        action: step.action,
        token,
        leaseMs,
        webhookId: whId,
      });
      if (claim) return this.#execute(step, path, pass, { token, timeoutMs, leaseMs, webhookId: whId, attempts: claim.attempts, redrives: claim.redrives });
      // Not claimable: done meanwhile, not due yet, or held. Look once more at its row.
      const fresh = (await loadStepRuns(db, pass.row.jobId)).find((r) => r.path === path);
      if (!fresh) throw new IntentmailError('storage_unavailable', `step ${path} could be neither claimed nor read`);
      pass.runs.set(path, fresh);
      if (CONTINUE.has(fresh.status) || ENDING[fresh.status]) continue;
      if (fresh.status === 'retry') return { end: true, status: 'waiting' };
      if (fresh.status === 'running' && fresh.claimToken?.startsWith(`${pass.attempt.queueJobId}:`)) {
        // An earlier attempt of this very queue job holds it: the queue declared that attempt dead
        // (its heartbeat stopped), but its claim has not lapsed yet. Fail this attempt so the
        // queue tries again after its back-off, by when the claim will have lapsed.
        throw new IntentmailError('storage_unavailable', `step ${path} is still claimed by an earlier attempt until ${fresh.claimedUntil?.toISOString() ?? '?'}`);
      }
      return { end: true, status: 'busy' };
    }
    return { end: true, status: 'busy' };
  }

  async #execute(
    step: Extract<Step, { kind: 'action' }>,
    path: string,
    pass: Pass,
    c: { token: string; timeoutMs: number; leaseMs: number; webhookId: string | null; attempts: number; redrives: number },
  ): Promise<Walk> {
    const { db, logger, clock } = this.#d;
    pass.ran += 1;
    const ctx = templateContext(pass.facts, {
      message: { id: pass.message.id, receivedAt: pass.message.receivedAt.toISOString(), messageId: pass.message.parsed.messageId, size: pass.facts.size },
      intent: pass.message.intent.name,
      tenant: pass.message.tenant.name,
    });
    const rendered = renderStepParams(step.params, ctx, this.#d.env);
    const invocation: StepInvocation = {
      path,
      name: step.name,
      action: step.action,
      params: rendered.params,
      attempt: c.attempts,
      jobId: pass.row.jobId,
      idempotencyKey: `${pass.row.jobId}:${path}`,
    };
    const outcome: StepOutcome =
      rendered.missing.length > 0
        ? { status: 'failed', reason: `environment variable${rendered.missing.length > 1 ? 's' : ''} not set: ${rendered.missing.join(', ')}` }
        : await this.#guarded(step.action, pass.message, invocation, c.timeoutMs + (c.leaseMs - c.timeoutMs) / 2);
    const record = this.#recordFor(step.action, outcome, c.attempts);
    const target = stepTarget(step.action, rendered.params, pass.message);
    record.event = stepAuditEvent({
      eventId: randomUUID(),
      now: clock.now(),
      message: pass.message,
      jobId: pass.row.jobId,
      policy: (pass.row.plan.policy as { file: string; version: string } | undefined) ?? null,
      path,
      name: step.name,
      action: step.action,
      attempt: c.attempts,
      target,
      status: record.status,
      resourceId: record.resourceId,
      text: record.lastError ?? (outcome.status === 'done' ? (outcome.summary ?? 'done') : outcome.reason),
      webhookId: c.webhookId,
      nextAttemptInMs: record.retryInMs,
    });
    let kept: boolean;
    if (record.status === 'retry') {
      kept = await db.transaction(async (tx) => {
        if (!(await recordOutcome(tx, pass.row.jobId, path, c.token, record))) return false;
        await this.#d.queue.enqueueInTx(tx, [
          {
            id: derivedUuid(`${pass.row.jobId}:${path}:${c.redrives}:${c.attempts}`),
            jobId: pass.row.jobId,
            messageId: pass.row.messageId,
            startAfterSeconds: record.retryInMs! / 1000,
          },
        ]);
        await tx.execute(sql`UPDATE jobs SET status = 'waiting', updated_at = now() WHERE id = ${pass.row.jobId}`);
        return true;
      });
    } else {
      kept = await recordOutcome(db, pass.row.jobId, path, c.token, record);
    }
    if (!kept) {
      logger.warn('step outcome not recorded: the claim lapsed and another worker took the step over', { jobId: pass.row.jobId, path });
      return { end: true, status: 'busy' };
    }
    await this.#d.store.appendAudit(record.event);
    pass.audited.push(record.event.eventId);
    logger.info('step', { messageId: pass.message.id, path, action: step.action, status: record.status, attempt: c.attempts, target, ...(record.lastError ? { reason: record.lastError } : {}) });
    if (CONTINUE.has(record.status)) {
      this.#remember(pass, step, record.result);
      return { end: false };
    }
    if (record.status === 'retry') return { end: true, status: 'waiting' };
    return { end: true, status: ENDING[record.status] };
  }

  /** Runs the handler, turning a throw or an overrun into a temporary failure. */
  async #guarded(action: string, message: StepMessage, step: StepInvocation, limitMs: number): Promise<StepOutcome> {
    const handler = handlerFor(this.#d.handlers, action);
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<StepOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'retry', reason: `the step did not finish within ${Math.round(limitMs / 1000)} s` }), limitMs);
    });
    try {
      return await Promise.race([
        handler(message, step, this.#ports).catch((err: unknown): StepOutcome => ({ status: 'retry', reason: `step error: ${err instanceof Error ? err.message : String(err)}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) })),
        overrun,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Maps a handler outcome to the stored step status (the schedule decides between retry and dead). */
  #recordFor(action: string, outcome: StepOutcome, attempts: number): StepRecord {
    const base = { resourceId: null, lastError: null, event: undefined as unknown as StepRecord['event'] };
    switch (outcome.status) {
      case 'done':
        return { ...base, status: 'done', result: cappedResult(outcome.result), resourceId: outcome.resourceId ?? null };
      case 'skipped':
        return { ...base, status: 'skipped', result: { skipped: outcome.reason }, lastError: null };
      case 'stop':
        return { ...base, status: action === 'reject' ? 'rejected' : action === 'quarantine' ? 'quarantined' : 'stopped', result: { reason: outcome.reason }, lastError: null };
      case 'failed':
        return { ...base, status: 'dead', result: null, lastError: outcome.reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
      case 'retry': {
        const delay = nextRetryDelay(this.#d.retrySchedule, attempts, { retryAfterMs: outcome.retryAfterMs });
        if (delay === null) return { ...base, status: 'dead', result: null, lastError: `gave up after ${attempts} attempts: ${outcome.reason}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
        return { ...base, status: 'retry', result: null, lastError: outcome.reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS), retryInMs: delay };
      }
    }
  }

  /**
   * Appends the audit records of outcomes that were stored but whose append did not happen (a
   * crash between the two). An event already on the chain (the crash came after the append) is
   * not appended again: it is found by its event id among the tenant's records since the outcome.
   */
  async #repairAudits(tenant: string, runs: Map<string, StepRunRow>): Promise<string[]> {
    const repaired: string[] = [];
    for (const r of runs.values()) {
      if (!r.auditPending || !r.auditEvent || !r.auditEventId) continue;
      const since = new Date(r.updatedAt.getTime() - LIMITS.AUDIT_REPAIR_WINDOW_MS);
      if (!(await auditRecorded(this.#d.db, tenant, r.auditEventId, since))) await this.#d.store.appendAudit(r.auditEvent as never);
      repaired.push(r.auditEventId);
    }
    return repaired;
  }

  /** The `archive` port: the original sealed again under a fresh data key, once per job and step. */
  #archivePort(): ArchivePort {
    return async (message, step, retentionMs) => {
      const sealed = sealMessage(message.raw, this.#d.masterKey);
      const sha256 = createHash('sha256').update(message.raw).digest('hex');
      const retain = retentionMs === null ? sql`NULL` : sql`now() + ${Math.round(retentionMs)}::bigint * interval '1 millisecond'`;
      const rows = resultRows(
        await this.#d.db.execute(sql`
          WITH ins AS (
            INSERT INTO archives (id, message_id, job_id, step_path, tenant, intent, size, sha256, ciphertext, wrapped_key, key_id, retain_until)
            VALUES (${randomUUID()}, ${message.id}, ${step.jobId}, ${step.path}, ${message.tenant.name}, ${message.intent.name}, ${message.raw.byteLength}, ${sha256},
                    ${Buffer.from(sealed.ciphertext)}, ${Buffer.from(sealed.wrappedKey)}, ${sealed.keyId}, ${retain})
            ON CONFLICT (job_id, step_path) DO NOTHING
            RETURNING id, retain_until
          )
          SELECT id, retain_until FROM ins
          UNION ALL
          SELECT id, retain_until FROM archives WHERE job_id = ${step.jobId} AND step_path = ${step.path} AND NOT EXISTS (SELECT 1 FROM ins)`),
      );
      const r = rows[0];
      const until = r.retain_until === null || r.retain_until === undefined ? null : new Date(r.retain_until as string | Date);
      return { archiveId: String(r.id), retainUntil: until };
    };
  }
}
