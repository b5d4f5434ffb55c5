/**
 * The step runner: one pass advances a message's chain as far as it can go now.
 *
 * Steps run in policy order; an `if` is decided when the chain reaches it, on the message facts
 * and the stored results of the steps before it (`{{steps.NAME.result…}}`), so a branch can
 * depend on what a webhook answered. Each step is claimed before it runs (a row per job and
 * path, `step_runs`), so two workers never run the same step; a step already done is never run
 * again — its stored result is reused — so a retry or a re-delivered queue job repeats only the
 * step that failed. Each outcome commits in one transaction with its audit record, the job's new
 * status and, for a temporary failure, the queue job of the next attempt (on the retry
 * schedule); a permanent failure or a used-up schedule dead-letters the step for an operator;
 * `stop`, `reject` and `quarantine` end the chain. Claims, loads and outcome writes of chains
 * running side by side are group-committed (src/runner/batch.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { AuditEvent } from '../core/audit-event.ts';
import type { Clock, Logger } from '../core/ports.ts';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { sealMessage } from '../crypto/envelope.ts';
import type { MessageFacts } from '../message/facts.ts';
import type { ParsedMessage } from '../message/parse.ts';
import type { Verdict } from '../core/verdict.ts';
import { evaluateCondition } from '../policy/conditions.ts';
import { templateContext } from '../policy/template.ts';
import type { PolicySet, Step } from '../policy/types.ts';
import { nextRetryDelay, type RetrySchedule } from '../queue/schedule.ts';
import type { ChainJobData, Queue, Tx } from '../queue/boss.ts';
import { resultRows, type Db } from '../store/driver.ts';
import { handlerFor, type StepHandlers } from '../steps/registry.ts';
import { renderStepParams } from '../steps/render.ts';
import type { ArchivePort, OutboundDecorations, StepInvocation, StepMessage, StepOutcome, StepPorts } from '../steps/types.ts';
import { webhookId, webhookTimeoutMs } from '../steps/webhook.ts';
import { stepAuditEvent, stepTarget } from './audit.ts';
import { Batcher } from './batch.ts';
import { intentOf, openChainMessage } from './message.ts';
import {
  claimSteps,
  FINAL_JOB_STATUSES,
  fromNow,
  loadChains,
  loadStepRun,
  setJobStatus,
  writeOutcomes,
  type ChainRow,
  type Claim,
  type ClaimInput,
  type OutcomeWrite,
  type StepRecord,
  type StepRunRow,
} from './repo.ts';

/** What the runner is built from. */
export interface RunnerDeps {
  db: Db;
  /** Appends audit records inside the runner's transaction (DrizzleStore.appendAuditInTx). */
  appendAudit: (tx: Tx, tenant: string, events: AuditEvent[]) => Promise<unknown>;
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
  /** Parses a stored message (default src/message/parse.ts on this thread; compose uses the parser threads). */
  parse?: (raw: Uint8Array) => Promise<Verdict<ParsedMessage>>;
  /** The key store's answer for `key.smime` / `key.pgp` for the sender; absent: both `missing`. */
  keyPresence?: (tenant: string, address: string | null) => Promise<MessageFacts['keys']>;
  /** Learns the sender's keys from the message (secure delivery), once, before the chain's first step. */
  learn?: (message: StepMessage) => Promise<unknown>;
}

/** Which queue job (and which of its attempts) runs a pass: the claim token. */
export interface PassAttempt {
  queueJobId: string;
  retryCount: number;
}

/** How a pass ended: the job's status now (`busy` when another worker holds the chain), and how many steps it ran. */
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

type ActionStep = Extract<Step, { kind: 'action' }>;

/** Per-pass state. */
interface Pass {
  row: ChainRow;
  steps: Step[];
  runs: Map<string, StepRunRow>;
  message: StepMessage;
  facts: MessageFacts;
  decorations: OutboundDecorations;
  attempt: PassAttempt;
  ran: number;
}

/** Where a walk of the step tree stops: the next action to run, or the end of the chain. */
type Next = { kind: 'run'; step: ActionStep; path: string } | { kind: 'end'; status: string };

/** The runner. */
export class ChainRunner {
  readonly #d: RunnerDeps;
  readonly #ports: StepPorts;
  readonly #loads: Batcher<string, { row: ChainRow; runs: StepRunRow[] } | null>;
  readonly #claims: Batcher<ClaimInput, Claim | null>;
  readonly #outcomes: Batcher<OutcomeWrite, boolean>;

  constructor(deps: RunnerDeps) {
    this.#d = deps;
    this.#ports = { ...deps.ports, archive: this.#archivePort() };
    this.#loads = new Batcher((ids) => loadChains(deps.db, ids), LIMITS.RUNNER_BATCH);
    this.#claims = new Batcher((claims) => claimSteps(deps.db, claims), LIMITS.RUNNER_BATCH);
    this.#outcomes = new Batcher((writes) => writeOutcomes(deps.db, writes, { queue: deps.queue, appendAudit: deps.appendAudit }), LIMITS.RUNNER_BATCH);
  }

  /** Advances the chain of `data.jobId`; throws only on storage failures (the queue retries the pass). */
  async run(data: ChainJobData, attempt: PassAttempt): Promise<PassResult> {
    const { db, logger } = this.#d;
    const loaded = await this.#loads.submit(data.jobId);
    if (!loaded) {
      logger.warn('chain job not found (deleted?)', { jobId: data.jobId });
      return { status: 'missing', ran: 0 };
    }
    const { row } = loaded;
    if (FINAL_JOB_STATUSES.has(row.jobStatus)) return { status: row.jobStatus, ran: 0 };
    const tenant = this.#d.policy().tenants.get(row.tenant);
    if (!tenant) return this.#endEarly(row.jobId, 'dead', `tenant ${row.tenant} is no longer in the policy`);
    const steps = row.plan.steps as Step[] | undefined;
    if (!Array.isArray(steps)) return this.#endEarly(row.jobId, 'dead', 'the job has no step plan');
    const opened = await openChainMessage(row, tenant, this.#d.masterKey, this.#d.parse);
    if ('problem' in opened) return this.#endEarly(row.jobId, opened.erased ? 'erased' : 'dead', opened.problem);
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
    const pass: Pass = { row, steps, runs: new Map(loaded.runs.map((r) => [r.path, r])), message, facts: opened.facts, decorations, attempt, ran: 0 };
    // Before the first step: learn the sender's keys from the message (a signature, Autocrypt),
    // then read the key store for `key.*` conditions, as they stand when the steps run.
    if (pass.runs.size === 0 && this.#d.learn) {
      await this.#d.learn(message).catch((err: unknown) => logger.warn('key learning failed; the chain goes on', { jobId: row.jobId, error: err instanceof Error ? err.message : String(err) }));
    }
    if (this.#d.keyPresence) opened.facts.keys = await this.#d.keyPresence(row.tenant, opened.facts.sender);
    // Each round runs one step; a chain is bounded by its policy, and a step is looked at twice at most per round.
    for (let round = 0; round <= LIMITS.MAX_CHAIN_STEPS; round++) {
      const next = this.#next(pass);
      if (next.kind === 'end') {
        if (next.status !== row.jobStatus) await setJobStatus(db, row.jobId, next.status);
        return { status: next.status, ran: pass.ran };
      }
      const r = await this.#runStep(next.step, next.path, pass);
      if (r !== null) return { status: r, ran: pass.ran };
    }
    throw new IntentmailError('internal', `chain ${row.jobId} did not settle within ${LIMITS.MAX_CHAIN_STEPS} steps`);
  }

  /** Ends a chain that could not start (tenant gone, message erased or unreadable). */
  async #endEarly(jobId: string, status: string, problem: string): Promise<PassResult> {
    this.#d.logger.warn('chain ended before its steps', { jobId, status, problem });
    await setJobStatus(this.#d.db, jobId, status);
    return { status, ran: 0 };
  }

  /**
   * Walks the tree from the start with what is stored: done steps feed their results to the
   * facts (and a tag's marks to the decorations), an `if` is decided on those facts, and the
   * walk stops at the first step that still has to run, or at the end of the chain.
   */
  #next(pass: Pass): Next {
    pass.facts.steps = {};
    pass.decorations.subjectTags.length = 0;
    pass.decorations.headers.length = 0;
    const walk = (steps: Step[], prefix: string): Next | null => {
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i];
        const path = prefix === '' ? String(i) : `${prefix}.${i}`;
        if (step.kind === 'if') {
          const taken = evaluateCondition(step.when, pass.facts).result ? 'then' : 'else';
          const inner = walk(taken === 'then' ? step.then : step.else, `${path}.${taken}`);
          if (inner) return inner;
          continue;
        }
        const stored = pass.runs.get(path);
        if (stored && CONTINUE.has(stored.status)) {
          this.#remember(pass, step, stored.result);
          continue;
        }
        if (stored && ENDING[stored.status]) return { kind: 'end', status: ENDING[stored.status] };
        return { kind: 'run', step, path };
      }
      return null;
    };
    return walk(pass.steps, '') ?? { kind: 'end', status: 'done' };
  }

  /** Makes a done step's result visible to later steps (and a tag's marks to later forwards). */
  #remember(pass: Pass, step: ActionStep, result: unknown): void {
    pass.facts.steps[step.name] = { result };
    if (step.action === 'tag' && result !== null && typeof result === 'object') {
      const r = result as { subject?: unknown; header?: { name?: unknown; value?: unknown } };
      if (typeof r.subject === 'string' && r.subject !== '') pass.decorations.subjectTags.push(r.subject);
      if (r.header && typeof r.header.name === 'string' && typeof r.header.value === 'string') pass.decorations.headers.push({ name: r.header.name, value: r.header.value });
    }
  }

  /**
   * Claims and runs one step and commits its outcome. Returns null when the chain goes on in
   * this pass, or the status the pass ends with (the job's, or `busy`/`waiting` when the step is
   * held by another worker or not due yet).
   */
  async #runStep(step: ActionStep, path: string, pass: Pass): Promise<string | null> {
    const { clock, logger } = this.#d;
    const token = `${pass.attempt.queueJobId}:${pass.attempt.retryCount}`;
    const timeoutMs = stepTimeoutMs(step.action, step.params);
    const leaseMs = timeoutMs + (this.#d.leaseMarginMs ?? LIMITS.STEP_LEASE_MARGIN_MS);
    const whId = step.action === 'webhook' || step.action === 'incident' ? webhookId(`${pass.row.jobId}:${path}`) : null;
    const claim = await this.#claims.submit({
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
    if (!claim) return this.#notClaimed(path, pass);
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
      attempt: claim.attempts,
      jobId: pass.row.jobId,
      idempotencyKey: `${pass.row.jobId}:${path}`,
    };
    const outcome: StepOutcome =
      rendered.missing.length > 0
        ? { status: 'failed', reason: `environment variable${rendered.missing.length > 1 ? 's' : ''} not set: ${rendered.missing.join(', ')}` }
        : await this.#guarded(step.action, pass.message, invocation, timeoutMs + (leaseMs - timeoutMs) / 2);
    const record = this.#recordFor(step.action, outcome, claim.attempts);
    // The job's status once this outcome is in: decided now, so it commits with the outcome.
    pass.runs.set(path, { ...(pass.runs.get(path) ?? ({} as StepRunRow)), path, status: record.status, result: record.result });
    let jobStatus: string | null;
    if (record.status === 'retry') jobStatus = 'waiting';
    else if (ENDING[record.status]) jobStatus = ENDING[record.status];
    else {
      const after = this.#next(pass);
      jobStatus = after.kind === 'end' ? after.status : null;
    }
    const target = stepTarget(step.action, rendered.params, pass.message);
    const event = stepAuditEvent({
      eventId: randomUUID(),
      now: clock.now(),
      message: pass.message,
      jobId: pass.row.jobId,
      policy: (pass.row.plan.policy as { file: string; version: string } | undefined) ?? null,
      path,
      name: step.name,
      action: step.action,
      attempt: claim.attempts,
      target,
      status: record.status,
      resourceId: record.resourceId,
      text: record.lastError ?? (outcome.status === 'done' ? (outcome.summary ?? 'done') : outcome.reason),
      webhookId: whId,
      nextAttemptInMs: record.retryInMs,
    });
    const kept = await this.#outcomes.submit({
      jobId: pass.row.jobId,
      messageId: pass.row.messageId,
      tenant: pass.row.tenant,
      path,
      token,
      record,
      event,
      retryJobId: record.status === 'retry' ? derivedUuid(`${pass.row.jobId}:${path}:${claim.redrives}:${claim.attempts}`) : null,
      jobStatus,
    });
    if (!kept) {
      logger.warn('step outcome not recorded: the claim lapsed and another worker took the step over', { jobId: pass.row.jobId, path });
      return 'busy';
    }
    logger.info('step', { messageId: pass.message.id, path, action: step.action, status: record.status, attempt: claim.attempts, target, ...(record.lastError ? { reason: record.lastError } : {}) });
    return jobStatus;
  }

  /** A step that could not be claimed: done meanwhile (go on), not due yet, held by another worker, or by an earlier attempt of this very queue job. */
  async #notClaimed(path: string, pass: Pass): Promise<string | null> {
    const fresh = await loadStepRun(this.#d.db, pass.row.jobId, path);
    if (!fresh) throw new IntentmailError('storage_unavailable', `step ${path} could be neither claimed nor read`);
    pass.runs.set(path, fresh);
    if (CONTINUE.has(fresh.status) || ENDING[fresh.status]) return null;
    if (fresh.status === 'retry') return 'waiting';
    if (fresh.status === 'running' && fresh.claimToken?.startsWith(`${pass.attempt.queueJobId}:`)) {
      // The queue declared that earlier attempt dead (its heartbeat stopped) but its claim has not
      // lapsed yet: fail this attempt, and the queue's back-off brings the next one after it has.
      throw new IntentmailError('storage_unavailable', `step ${path} is still claimed by an earlier attempt until ${fresh.claimedUntil?.toISOString() ?? '?'}`);
    }
    return 'busy';
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
    const none = { resourceId: null, lastError: null };
    switch (outcome.status) {
      case 'done':
        return { ...none, status: 'done', result: cappedResult(outcome.result), resourceId: outcome.resourceId ?? null };
      case 'skipped':
        return { ...none, status: 'skipped', result: { skipped: outcome.reason } };
      case 'stop':
        return { ...none, status: action === 'reject' ? 'rejected' : action === 'quarantine' ? 'quarantined' : 'stopped', result: { reason: outcome.reason } };
      case 'failed':
        return { ...none, status: 'dead', result: null, lastError: outcome.reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
      case 'retry': {
        const delay = nextRetryDelay(this.#d.retrySchedule, attempts, { retryAfterMs: outcome.retryAfterMs });
        if (delay === null) return { ...none, status: 'dead', result: null, lastError: `gave up after ${attempts} attempts: ${outcome.reason}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
        return { ...none, status: 'retry', result: null, lastError: outcome.reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS), retryInMs: delay };
      }
    }
  }

  /** The `archive` port: the original sealed again under a fresh data key, once per job and step. */
  #archivePort(): ArchivePort {
    return async (message, step, retentionMs) => {
      const sealed = sealMessage(message.raw, this.#d.masterKey);
      const sha256 = createHash('sha256').update(message.raw).digest('hex');
      const retain = retentionMs === null ? sql`NULL` : fromNow(retentionMs);
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
