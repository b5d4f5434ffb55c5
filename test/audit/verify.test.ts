/**
 * verifyAudit over an in-memory chain (a declarative implementation of the read side of the
 * Store port). The database-backed tampering tests live in test/store/audit-tamper.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH, chainRecord, checkpointHash, checkpointSigningInput } from '../../src/audit/chain.ts';
import { ed25519Signer, ed25519Verifier, generateSigningSeed } from '../../src/audit/keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import type { AuditCheckpoint, AuditRecord } from '../../src/core/audit-event.ts';
import type { Signer } from '../../src/core/ports.ts';
import { sampleEvent } from '../store/fixtures.ts';

interface Chain {
  records: AuditRecord[];
  checkpoints: AuditCheckpoint[];
  head: { seq: number; hash: string } | null;
}

async function buildChain(tenant: string, count: number, every: number, signer: Signer): Promise<Chain> {
  const records: AuditRecord[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  let prev: { seq: number; hash: string } | null = null;
  for (let i = 1; i <= count; i++) {
    const event = sampleEvent(tenant, i);
    const rec = chainRecord(prev, event);
    records.push({ tenant, ...rec, event });
    prev = rec;
    if (i % every === 0) {
      const unsigned = { tenant, seq: i, headHash: rec.hash, prevCheckpointHash: checkpoints.at(-1)?.hash ?? GENESIS_HASH, timestamp: '2025-01-01T00:00:00.000Z', keyId: signer.keyId };
      const signature = Buffer.from(await signer.sign(checkpointSigningInput(unsigned))).toString('base64');
      const cp = { ...unsigned, signature, hash: '' };
      checkpoints.push({ ...cp, hash: checkpointHash(cp) });
    }
  }
  return { records, checkpoints, head: prev === null ? null : { seq: prev.seq, hash: prev.hash } };
}

/** Serves chains the way the store does; counts page reads to show the verifier streams. */
function reader(chains: Record<string, Chain>) {
  const stats = { pages: 0, largestPage: 0 };
  return {
    stats,
    auditTenants: async () => Object.keys(chains).sort(),
    readAudit: async (tenant: string, afterSeq: number, limit: number) => {
      stats.pages += 1;
      const page = (chains[tenant]?.records ?? []).filter((r) => r.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit);
      stats.largestPage = Math.max(stats.largestPage, page.length);
      return page;
    },
    readCheckpoints: async (tenant: string) => chains[tenant]?.checkpoints ?? [],
    chainHead: async (tenant: string) => chains[tenant]?.head ?? null,
  };
}

describe('verifyAudit (in-memory chain)', () => {
  const signer = ed25519Signer(generateSigningSeed());
  const verifier = ed25519Verifier({ [signer.keyId]: signer.publicKey });

  test('a valid chain spanning several pages verifies, read in pages of 1000', async () => {
    const chain = await buildChain('acme', 2500, 64, signer);
    const store = reader({ acme: chain });
    const report = await verifyAudit(store, verifier);
    assert.deepEqual(report, {
      ok: true,
      tenants: [{ tenant: 'acme', records: 2500, checkpoints: 39, lastCheckpointSeq: 2496, unsignedTail: 4 }],
      firstBad: null,
    });
    assert.equal(store.stats.pages, 3);
    assert.equal(store.stats.largestPage, 1000);
  });

  test('a record missing at a page boundary is named', async () => {
    const chain = await buildChain('acme', 2100, 64, signer);
    chain.records = chain.records.filter((r) => r.seq !== 1001);
    const report = await verifyAudit(reader({ acme: chain }), verifier);
    assert.equal(report.ok, false);
    assert.deepEqual(report.firstBad, { tenant: 'acme', seq: 1001, reason: 'record missing: expected seq 1001, the next stored record is seq 1002' });
  });

  test('the first failing tenant in name order is reported, with its lowest bad seq', async () => {
    const beta = await buildChain('beta', 20, 8, signer);
    const alpha = await buildChain('alpha', 20, 8, signer);
    const gamma = await buildChain('gamma', 5, 8, signer);
    beta.records[14] = { ...beta.records[14], body: beta.records[14].body.replace('user15', 'mallory') };
    beta.records[6] = { ...beta.records[6], hash: 'f'.repeat(64) };
    const report = await verifyAudit(reader({ gamma, beta, alpha }), verifier);
    assert.equal(report.ok, false);
    assert.deepEqual(report.firstBad, { tenant: 'beta', seq: 7, reason: 'stored hash does not match the recomputed hash (record altered)' });
    assert.deepEqual(report.tenants.map((t) => [t.tenant, t.records]), [['alpha', 20], ['beta', 20], ['gamma', 5]]);
    const only = await verifyAudit(reader({ gamma, beta, alpha }), verifier, { tenant: 'alpha' });
    assert.equal(only.ok, true);
    assert.deepEqual(only.tenants.map((t) => t.tenant), ['alpha']);
  });

  test('a non-canonical or foreign-tenant body is refused even when its hash was recomputed', async () => {
    const chain = await buildChain('acme', 3, 64, signer);
    const spaced = JSON.stringify(JSON.parse(chain.records[0].body), null, 1);
    chain.records[0] = { ...chain.records[0], body: spaced };
    let report = await verifyAudit(reader({ acme: chain }), verifier);
    assert.deepEqual(report.firstBad, { tenant: 'acme', seq: 1, reason: 'body is not in canonical JSON form (RFC 8785)' });

    const moved = await buildChain('acme', 3, 64, signer);
    const foreign = chainRecord(null, sampleEvent('other', 1));
    moved.records[0] = { ...moved.records[0], body: foreign.body };
    report = await verifyAudit(reader({ acme: moved }), verifier);
    assert.deepEqual(report.firstBad, { tenant: 'acme', seq: 1, reason: 'body names tenant "other", not acme' });
  });

  test('a checkpoint signed by an unknown key is refused', async () => {
    const chain = await buildChain('acme', 16, 8, signer);
    const report = await verifyAudit(reader({ acme: chain }), ed25519Verifier({}));
    assert.equal(report.firstBad?.seq, 8);
    assert.match(report.firstBad?.reason ?? '', /checkpoint at seq 8: signature does not verify with a known key/);
  });

  test('an empty or unknown tenant verifies with zero records', async () => {
    const report = await verifyAudit(reader({}), verifier, { tenant: 'nobody' });
    assert.deepEqual(report, { ok: true, tenants: [{ tenant: 'nobody', records: 0, checkpoints: 0, lastCheckpointSeq: 0, unsignedTail: 0 }], firstBad: null });
  });

  test('a head row behind the records is named at the first record past it', async () => {
    const chain = await buildChain('acme', 10, 64, signer);
    chain.head = { seq: 8, hash: chain.records[7].hash };
    const report = await verifyAudit(reader({ acme: chain }), verifier);
    assert.deepEqual(report.firstBad, { tenant: 'acme', seq: 9, reason: 'records past the chain head (head at seq 8, last record seq 10)' });
  });
});
