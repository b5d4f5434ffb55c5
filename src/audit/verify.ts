/**
 * Verifies tenants' audit chains and signed checkpoints as stored, streaming records in pages.
 * It trusts nothing in the store: every hash is recomputed, every link and signature checked,
 * and the report names the first bad record with the reason.
 */
import { Buffer } from 'node:buffer';
import type { AuditCheckpoint, AuditRecord } from '../core/audit-event.ts';
import { LIMITS } from '../core/limits.ts';
import type { SignatureVerifier } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import { canonicalJson } from './canonical.ts';
import { GENESIS_HASH, checkpointHash, checkpointSigningInput, recordHash } from './chain.ts';

/** What one tenant's chain holds. `unsignedTail` counts records after the last signed checkpoint. */
export interface AuditTenantReport {
  tenant: string;
  records: number;
  checkpoints: number;
  lastCheckpointSeq: number;
  unsignedTail: number;
}

/** The outcome of a verification; `firstBad` is the lowest bad seq of the first failing tenant (by name). */
export interface AuditVerifyReport {
  ok: boolean;
  tenants: AuditTenantReport[];
  firstBad: { tenant: string; seq: number; reason: string } | null;
}

type AuditReader = Pick<Store, 'auditTenants' | 'readAudit' | 'readCheckpoints' | 'chainHead'>;

/** Checks every chain (or only `opts.tenant`): seq contiguity, links, hashes, canonical bodies, checkpoints, heads. */
export async function verifyAudit(store: AuditReader, verifier: SignatureVerifier, opts: { tenant?: string } = {}): Promise<AuditVerifyReport> {
  const names = opts.tenant === undefined ? await store.auditTenants() : [opts.tenant];
  const sorted = [...new Set(names)].sort();
  const tenants: AuditTenantReport[] = [];
  let firstBad: AuditVerifyReport['firstBad'] = null;
  for (const tenant of sorted) {
    const { report, bad } = await verifyTenant(store, verifier, tenant);
    tenants.push(report);
    if (bad !== null && firstBad === null) firstBad = { tenant, ...bad };
  }
  return { ok: firstBad === null, tenants, firstBad };
}

interface Problem {
  seq: number;
  reason: string;
}

/** Keeps the problem with the lowest seq (the first found wins a tie). */
class FirstProblem {
  value: Problem | null = null;
  consider(seq: number, reason: string): void {
    if (this.value === null || seq < this.value.seq) this.value = { seq, reason };
  }
}

async function verifyTenant(store: AuditReader, verifier: SignatureVerifier, tenant: string): Promise<{ report: AuditTenantReport; bad: Problem | null }> {
  const checkpoints = await store.readCheckpoints(tenant);
  const problem = new FirstProblem();
  const checkpointProblems = await checkCheckpointChain(tenant, checkpoints, verifier);
  const bySeq = new Map(checkpoints.map((cp) => [cp.seq, cp]));

  let records = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  for (;;) {
    const page = await store.readAudit(tenant, lastSeq, LIMITS.AUDIT_VERIFY_PAGE);
    for (const rec of page) {
      records += 1;
      if (problem.value === null) {
        const recordProblem = checkRecord(tenant, rec, lastSeq, lastHash);
        if (recordProblem !== null) problem.consider(recordProblem.seq, recordProblem.reason);
        else checkCheckpointAt(rec, bySeq.get(rec.seq), checkpointProblems.get(rec.seq), problem);
      }
      lastSeq = rec.seq;
      lastHash = rec.hash;
    }
    if (page.length < LIMITS.AUDIT_VERIFY_PAGE) break;
  }

  const beyond = checkpoints.find((cp) => cp.seq > lastSeq);
  if (beyond !== undefined) {
    problem.consider(lastSeq + 1, `chain truncated: checkpoint at seq ${beyond.seq} signs a head past the last stored record (seq ${lastSeq})`);
  }
  checkHead(await store.chainHead(tenant), records, lastSeq, lastHash, problem);

  const lastCheckpointSeq = checkpoints.length === 0 ? 0 : checkpoints[checkpoints.length - 1].seq;
  const report = { tenant, records, checkpoints: checkpoints.length, lastCheckpointSeq, unsignedTail: Math.max(0, lastSeq - lastCheckpointSeq) };
  return { report, bad: problem.value };
}

/** One record against its predecessor: position, tenant, canonical body, link, hash. */
function checkRecord(tenant: string, rec: AuditRecord, prevSeq: number, prevHash: string): Problem | null {
  const expected = prevSeq + 1;
  if (rec.seq !== expected) {
    return rec.seq > expected
      ? { seq: expected, reason: `record missing: expected seq ${expected}, the next stored record is seq ${rec.seq}` }
      : { seq: rec.seq, reason: `record out of order after seq ${prevSeq}` };
  }
  const seq = rec.seq;
  if (rec.tenant !== tenant) return { seq, reason: `record is stored for tenant ${rec.tenant}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rec.body);
  } catch {
    return { seq, reason: 'body is not valid JSON' };
  }
  let canonical: string | null;
  try {
    canonical = canonicalJson(parsed);
  } catch {
    canonical = null;
  }
  if (canonical !== rec.body) return { seq, reason: 'body is not in canonical JSON form (RFC 8785)' };
  const bodyTenant = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>).tenant : undefined;
  if (bodyTenant !== tenant) return { seq, reason: `body names tenant ${JSON.stringify(bodyTenant ?? null)}, not ${tenant}` };
  if (rec.prevHash !== prevHash) {
    return { seq, reason: prevSeq === 0 ? 'prevHash of the first record is not the genesis hash' : `prevHash does not link to the hash of seq ${prevSeq}` };
  }
  if (recordHash(seq, rec.prevHash, tenant, rec.body) !== rec.hash) return { seq, reason: 'stored hash does not match the recomputed hash (record altered)' };
  return null;
}

/** A checkpoint's own problems, found in advance, and its signed head against the record at its seq. */
function checkCheckpointAt(rec: AuditRecord, cp: AuditCheckpoint | undefined, ownProblem: string | undefined, problem: FirstProblem): void {
  if (cp === undefined) return;
  if (ownProblem !== undefined) problem.consider(rec.seq, ownProblem);
  else if (cp.headHash !== rec.hash) problem.consider(rec.seq, `checkpoint at seq ${cp.seq} signed a different head hash (chain rewritten)`);
}

/** Signature, stored hash and link of every checkpoint; returns seq → first problem. */
async function checkCheckpointChain(tenant: string, checkpoints: AuditCheckpoint[], verifier: SignatureVerifier): Promise<Map<number, string>> {
  const problems = new Map<number, string>();
  let prevHash = GENESIS_HASH;
  let prevSeq = 0;
  for (const cp of checkpoints) {
    const reason = await checkpointProblem(tenant, cp, prevSeq, prevHash, verifier);
    if (reason !== null && !problems.has(cp.seq)) problems.set(cp.seq, reason);
    prevHash = checkpointHash(cp);
    prevSeq = cp.seq;
  }
  return problems;
}

async function checkpointProblem(tenant: string, cp: AuditCheckpoint, prevSeq: number, prevHash: string, verifier: SignatureVerifier): Promise<string | null> {
  const at = `checkpoint at seq ${cp.seq}`;
  if (cp.tenant !== tenant) return `${at} is for tenant ${cp.tenant}`;
  if (cp.seq <= prevSeq) return `${at} is out of order`;
  if (cp.prevCheckpointHash !== prevHash) {
    return prevSeq === 0 ? `${at} is the first but does not link to the genesis hash` : `${at} does not link to the checkpoint at seq ${prevSeq}`;
  }
  if (checkpointHash(cp) !== cp.hash) return `${at}: stored hash does not match its contents`;
  const signature = Buffer.from(cp.signature, 'base64');
  const valid = signature.toString('base64') === cp.signature && (await verifier.verify(cp.keyId, checkpointSigningInput(cp), new Uint8Array(signature)));
  return valid ? null : `${at}: signature does not verify with a known key (key id ${cp.keyId})`;
}

/** The chain head row must describe the last stored record. */
function checkHead(head: { seq: number; hash: string } | null, records: number, lastSeq: number, lastHash: string, problem: FirstProblem): void {
  if (head === null) {
    if (records > 0) problem.consider(lastSeq, 'chain head row is missing');
    return;
  }
  if (head.seq > lastSeq) problem.consider(lastSeq + 1, `records missing: the chain head is at seq ${head.seq} but the last stored record is seq ${lastSeq}`);
  else if (head.seq < lastSeq) problem.consider(head.seq + 1, `records past the chain head (head at seq ${head.seq}, last record seq ${lastSeq})`);
  else if (head.hash !== lastHash) problem.consider(lastSeq, 'chain head hash differs from the last record hash');
}
