/**
 * The action chain through the real router: DKIM-signed mail over SMTP, the outbox relay, the
 * pg-boss queue and workers, a webhook receiver that verifies every signature, and an SMTP sink
 * as the relay. Runs on PGlite, and on PostgreSQL with DATABASE_URL (npm run test:db).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startDnsServer } from '../helpers/dns-server.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { makeZone } from '../e2e/fixtures.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { silentLogger } from '../../src/core/ports.ts';
import { CHAIN_DEAD_QUEUE, startQueue } from '../../src/queue/boss.ts';
import { storeDriver } from '../../src/store/drizzle-store.ts';
import { resultRows } from '../../src/store/driver.ts';
import { startReceiver, type Answer, type Receiver } from '../steps/receiver.ts';
import { startSmtpSink, type SmtpSink } from '../steps/smtp-sink.ts';
import { SECRET } from '../steps/fixtures.ts';
import { keys, send, settle } from './world.ts';

const intent = (name: string, steps: string) => `intent: ${name}\nsenders: ["@acme.example"]\nsteps:\n${steps}`;
const hook = (path: string, extra = '') => `  - webhook: { url: "\${env.HOOK}/${path}", secret: "\${env.HOOK_SECRET}"${extra} }\n`;

const POLICY: Record<string, string> = {
  'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
  'acme/hook.retry.yaml': intent('hook.retry', `${hook('retry')}  - reply: { text: "Created {{steps.webhook.result.id}}" }\n`),
  'acme/hook.gone.yaml': intent('hook.gone', hook('gone')),
  'acme/hook.hang.yaml': intent('hook.hang', hook('hang', ', timeout: 1s')),
  'acme/hook.exhaust.yaml': intent('hook.exhaust', hook('exhaust')),
  'acme/hook.branch.yaml': intent(
    'hook.branch',
    `${hook('branch')}  - if: { steps.webhook.result.priority: high }
    then:
      - forward: { to: oncall@acme.example }
    else:
      - reply: { text: "Queued {{steps.webhook.result.id}}" }
`,
  ),
  'acme/hook.reject.yaml': intent('hook.reject', `  - reject: { reason: "not today" }\n${hook('never')}`),
  'acme/hook.plain.yaml': intent('hook.plain', hook('plain')),
  'acme/hook.later.yaml': intent('hook.later', hook('later')),
};

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let db: Awaited<ReturnType<typeof testStoreOptions>>;
let recv: Receiver;
let sink: SmtpSink;
let router: TestRouter;
/** Paths whose receiver answers 200 from now on. */
const healed = new Set<string>();

function answer(d: { path: string; id: string }, seen: number): Answer {
  const ok: Answer = { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `T-${d.id.slice(4, 10)}`, priority: 'high' }) };
  const path = d.path.replace(/^\/hook\//, '');
  if (healed.has(path)) return ok;
  switch (path) {
    case 'retry':
      return seen === 0 ? { status: 500, body: 'temporarily broken' } : ok;
    case 'gone':
      return { status: 410 };
    case 'hang':
      return seen === 0 ? 'hang' : ok;
    case 'exhaust':
      return { status: 503, headers: { 'retry-after': '0' } };
    case 'later':
      return { status: 503, headers: { 'retry-after': '3600' } };
    default:
      return ok;
  }
}

async function auditOf(messageId: string) {
  const store = await router.app.store();
  const all = await store.readAudit('acme', 0, 10_000);
  return all.map((r) => r.event).filter((e) => e.action.parameters.messageId === messageId);
}

describe('action chain (router, queue, workers)', () => {
  before(async () => {
    dns = await startDnsServer(makeZone(keys));
    db = await testStoreOptions();
    recv = await startReceiver({ secrets: [SECRET], answer });
    sink = await startSmtpSink();
    router = await startRouter({
      INTENTMAIL_INTENTS: writePolicyFolder(POLICY),
      INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      INTENTMAIL_DATA_DIR: db.dataDir,
      INTENTMAIL_RELAY_URL: sink.url,
      INTENTMAIL_RETRY_SCHEDULE: '200ms,200ms',
      HOOK: recv.url,
      HOOK_SECRET: SECRET,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    });
  });
  after(async () => {
    await router?.stop();
    await recv?.close();
    await sink?.close();
    await dns?.close();
    await db?.cleanup();
  });

  test('500 then 200: the webhook is retried alone, with the same id; the reply follows once, threaded', async () => {
    const id = await send(router.smtpPort, 'hook.retry@in.acme.example', 'retry me');
    const p = await settle(router, id);
    assert.equal(p.status, 'done');
    const [webhook, reply] = p.steps;
    assert.deepEqual([webhook.action, webhook.status, webhook.attempts], ['webhook', 'done', 2]);
    assert.deepEqual([reply.action, reply.status, reply.attempts], ['reply', 'done', 1]);
    const mine = recv.deliveries.filter((d) => d.id === webhook.webhookId);
    assert.equal(mine.length, 2, 'two attempts reached the receiver');
    assert.ok(mine.every((d) => d.verified), 'both signed and verifiable');
    const mail = sink.mails.find((m) => m.raw.includes(`Created T-${webhook.webhookId!.slice(4, 10)}`));
    assert.ok(mail, 'the reply carries the result of the retried webhook');
    assert.match(mail.raw, /^In-Reply-To: <[^>]+@acme\.example>/m);
    const audit = await auditOf(id);
    assert.deepEqual(
      audit.map((e) => [e.action.type, e.result.status]),
      [
        ['step.webhook', 'retry'],
        ['step.webhook', 'done'],
        ['step.reply', 'done'],
      ],
    );
    assert.equal(audit[1].result.resourceId, `T-${webhook.webhookId!.slice(4, 10)}`);
    assert.match(audit[0].result.reply ?? '', /HTTP 500/);
    assert.equal(audit[0].action.target, `${recv.url}/retry`);
  });

  test('410 Gone: dead-lettered at once, listed, and re-driven once the endpoint is back', async () => {
    const id = await send(router.smtpPort, 'hook.gone@in.acme.example', 'gone');
    const p = await settle(router, id);
    assert.equal(p.status, 'dead');
    assert.equal(p.steps[0].attempts, 1, 'no retry after 410');
    const dead = await router.running.chain.control.listDead('acme');
    const mine = dead.find((d) => d.messageId === id);
    assert.ok(mine);
    assert.equal(mine.stepPath, '0');
    assert.match(mine.reason, /410 Gone/);
    assert.equal(await router.running.chain.control.redrive(id, '9'), false, 'no dead step at that path');
    healed.add('gone');
    assert.equal(await router.running.chain.control.redrive(id), true);
    const again = await settle(router, id, new Set(['done']));
    assert.equal(again.steps[0].status, 'done');
    assert.equal(new Set(recv.deliveries.filter((d) => d.path.endsWith('/gone')).map((d) => d.id)).size, 1, 'the same webhook-id after the re-drive');
    assert.equal(await router.running.chain.control.redrive(id), false, 'nothing left to re-drive');
  });

  test('a receiver that hangs: the attempt times out and the retry succeeds', async () => {
    const id = await send(router.smtpPort, 'hook.hang@in.acme.example', 'hang');
    const p = await settle(router, id);
    assert.equal(p.status, 'done');
    assert.equal(p.steps[0].attempts, 2);
    const audit = await auditOf(id);
    assert.match(audit[0].result.reply ?? '', /no answer within 1 s/);
  });

  test('the schedule runs out: dead after 1 + 2 attempts; a re-drive starts a fresh schedule', async () => {
    const id = await send(router.smtpPort, 'hook.exhaust@in.acme.example', 'exhaust');
    const p = await settle(router, id);
    assert.equal(p.status, 'dead');
    assert.equal(p.steps[0].attempts, 3);
    assert.match(p.steps[0].lastError ?? '', /gave up after 3 attempts: .*HTTP 503/);
    healed.add('exhaust');
    assert.ok(await router.running.chain.control.redrive(id, '0'));
    const done = await settle(router, id, new Set(['done']));
    assert.equal(done.steps[0].attempts, 1, 'attempts count again from the re-drive');
    assert.equal(new Set(recv.deliveries.filter((d) => d.path.endsWith('/exhaust')).map((d) => d.id)).size, 1);
  });

  test('if/then/else decided at run time on an earlier step result', async () => {
    const id = await send(router.smtpPort, 'hook.branch@in.acme.example', 'branch');
    const p = await settle(router, id);
    assert.equal(p.status, 'done');
    assert.deepEqual(
      p.steps.map((s) => `${s.path}:${s.action}`),
      ['0:webhook', '1.then.0:forward'],
    );
    await sink.waitFor((m) => m.some((x) => x.to.includes('oncall@acme.example')));
  });

  test('reject ends the chain: later steps never run', async () => {
    const before = recv.deliveries.length;
    const id = await send(router.smtpPort, 'hook.reject@in.acme.example', 'reject');
    const p = await settle(router, id);
    assert.equal(p.status, 'rejected');
    assert.deepEqual(p.steps.map((s) => s.action), ['reject']);
    assert.equal(recv.deliveries.filter((d) => d.path.endsWith('/never')).length, 0);
    assert.equal(recv.deliveries.length >= before, true);
    const audit = await auditOf(id);
    assert.deepEqual([audit[0].action.type, audit[0].result.status, audit[0].result.reply], ['step.reject', 'rejected', 'not today']);
  });

  test('Retry-After puts the next attempt an hour out; a chain the queue gives up on is marked dead, audited and listed', async () => {
    const id = await send(router.smtpPort, 'hook.later@in.acme.example', 'later');
    const p = await settle(router, id, new Set(['waiting']));
    const next = p.steps[0].nextAttemptAt!.getTime() - Date.now();
    assert.ok(next > 3_500_000 && next <= 3_600_000, `next attempt in ${next} ms`);
    // What the queue does after QUEUE_RETRY_LIMIT failed passes: the job lands in the dead-letter queue.
    const queue = await startQueue(storeDriver(await router.app.store()), silentLogger);
    try {
      await queue.boss.send(CHAIN_DEAD_QUEUE, { jobId: p.jobId, messageId: id });
    } finally {
      await queue.stop();
    }
    assert.equal((await settle(router, id, new Set(['dead']))).status, 'dead');
    const listed = (await router.running.chain.control.listDead('acme')).find((d) => d.messageId === id);
    assert.ok(listed);
    assert.equal(listed.stepPath, '');
    assert.match(listed.reason, /gave up on this chain/);
    await new Promise((r) => setTimeout(r, 200));
    const audit = (await (await router.app.store()).readAudit('acme', 0, 100_000)).map((r) => r.event).filter((e) => e.action.type === 'chain.dead');
    assert.equal(audit.length, 1);
    assert.equal(audit[0].action.target, id);
  });

  test('every attempt of every step has exactly one audit record, committed with its outcome', async () => {
    const driver = storeDriver(await router.app.store());
    const runs = resultRows(await driver.db.execute(sql`SELECT message_id, attempts, status, audit_event_id FROM step_runs`));
    const events = (await (await router.app.store()).readAudit('acme', 0, 100_000)).map((r) => r.event).filter((e) => e.action.type.startsWith('step.'));
    const attempts = runs.reduce((n, r) => n + Number(r.attempts), 0);
    // Re-driven steps started counting again: their earlier attempts are on the chain too.
    assert.ok(events.length >= attempts, `${events.length} step records for ${attempts} attempts since the last re-drives`);
    const ids = new Set(events.map((e) => e.eventId));
    assert.equal(ids.size, events.length, 'no record twice');
    for (const r of runs) assert.ok(ids.has(String(r.audit_event_id)), `the latest outcome of a step is on the chain (${String(r.status)})`);
    const perMessage = new Map<string, number>();
    for (const e of events) perMessage.set(String(e.action.parameters.messageId), (perMessage.get(String(e.action.parameters.messageId)) ?? 0) + 1);
    for (const r of runs.filter((x) => x.status === 'done')) assert.ok((perMessage.get(String(r.message_id)) ?? 0) >= 1);
  });

  test('the audit chain with all these step records verifies', async () => {
    const store = await router.app.store();
    await store.checkpoint('acme');
    const report = await verifyAudit(store, router.app.keys().verifier, { tenant: 'acme' });
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  });
});
