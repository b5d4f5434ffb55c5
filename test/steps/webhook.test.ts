/**
 * The webhook handler against a real HTTP receiver that verifies every signature: success with
 * the receiver's JSON as the result, 500 and 429 as temporary failures (Retry-After read), 410
 * as permanent, a hanging receiver as a timeout, redirects not followed, the default payload's
 * content, and the templated payloads of receivers with a fixed format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { webhookHandler, incidentHandler, webhookId } from '../../src/steps/webhook.ts';
import { renderStepParams } from '../../src/steps/render.ts';
import { templateContext } from '../../src/policy/template.ts';
import { startReceiver, type Answer, type Receiver } from './receiver.ts';
import { invocation, policyWith, ports, SECRET, SECRET_2, stepMessage } from './fixtures.ts';

let recv: Receiver;
const script: Answer[] = [];

describe('webhook step', () => {
  before(async () => {
    recv = await startReceiver({ secrets: [SECRET], answer: () => script.shift() ?? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"ENG-123","url":"https://t.example/ENG-123"}' } });
  });
  after(() => recv.close());

  const policy = policyWith('  - webhook: { url: "https://x.example/h" }\n');

  test('2xx: done, signed, the receiver JSON is the result and its id the resource', async () => {
    const m = await stepMessage(policy);
    const step = invocation('webhook', { url: recv.url, secret: SECRET });
    const out = await webhookHandler(m, step, ports());
    assert.equal(out.status, 'done');
    assert.deepEqual((out as { result: unknown }).result, { id: 'ENG-123', url: 'https://t.example/ENG-123' });
    assert.equal((out as { resourceId: string }).resourceId, 'ENG-123');
    const d = recv.deliveries.at(-1)!;
    assert.equal(d.verified, true, 'the receiver verifies the Standard Webhooks signature');
    assert.equal(d.id, webhookId(step.idempotencyKey));
    assert.match(d.id, /^msg_[A-Za-z0-9_-]{27}$/);
    assert.equal(d.headers['content-type'], 'application/json');
  });

  test('the same webhook-id on every attempt, a fresh timestamp and signature each time', async () => {
    const m = await stepMessage(policy);
    script.push({ status: 500, body: 'boom' });
    const first = await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET }), ports({ clock: { now: () => new Date(Date.now() - 2000) } }));
    assert.equal(first.status, 'retry');
    assert.match((first as { reason: string }).reason, /HTTP 500: boom/);
    const second = await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET }, { attempt: 2 }), ports());
    assert.equal(second.status, 'done');
    const [a, b] = recv.deliveries.slice(-2);
    assert.equal(a.id, b.id);
    assert.notEqual(a.timestamp, b.timestamp);
    assert.notEqual(a.signature, b.signature);
    assert.ok(a.verified && b.verified);
  });

  test('two secrets during a rotation: two signatures, either verifies', async () => {
    const m = await stepMessage(policy);
    await webhookHandler(m, invocation('webhook', { url: recv.url, secret: `${SECRET} ${SECRET_2}` }), ports());
    const d = recv.deliveries.at(-1)!;
    assert.equal(d.signature.split(' ').length, 2);
    assert.equal(d.verified, true);
  });

  test('410 Gone is permanent; 429 with Retry-After is temporary and says how long', async () => {
    const m = await stepMessage(policy);
    script.push({ status: 410 });
    const gone = await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET }), ports());
    assert.equal(gone.status, 'failed');
    assert.match((gone as { reason: string }).reason, /410 Gone/);
    script.push({ status: 429, headers: { 'retry-after': '90' } });
    const busy = await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET }), ports());
    assert.equal(busy.status, 'retry');
    assert.equal((busy as { retryAfterMs: number }).retryAfterMs, 90_000);
  });

  test('a receiver that never answers times out (the step timeout), as a temporary failure', async () => {
    const m = await stepMessage(policy);
    script.push('hang');
    const started = Date.now();
    const out = await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET, timeout: 300 }), ports());
    assert.equal(out.status, 'retry');
    assert.match((out as { reason: string }).reason, /no answer within 0.3 s/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('redirects are not followed; a refused connection is temporary', async () => {
    const m = await stepMessage(policy);
    script.push({ status: 302, headers: { location: 'https://elsewhere.example/' } });
    const moved = await webhookHandler(m, invocation('webhook', { url: recv.url }), ports());
    assert.equal(moved.status, 'retry');
    assert.match((moved as { reason: string }).reason, /HTTP 302/);
    const closed = await webhookHandler(m, invocation('webhook', { url: 'http://127.0.0.1:9/none' }), ports());
    assert.equal(closed.status, 'retry');
    assert.match((closed as { reason: string }).reason, /network error/);
  });

  test('bad parameters fail clearly without sending anything', async () => {
    const m = await stepMessage(policy);
    const n = recv.deliveries.length;
    assert.match(((await webhookHandler(m, invocation('webhook', { url: '' }), ports())) as { reason: string }).reason, /not a URL/);
    assert.match(((await webhookHandler(m, invocation('webhook', { url: 'ftp://x.example/' }), ports())) as { reason: string }).reason, /only http and https/);
    assert.match(((await webhookHandler(m, invocation('webhook', { url: recv.url, secret: 'short' }), ports())) as { reason: string }).reason, /at least 24 bytes/);
    assert.match(((await webhookHandler(m, invocation('webhook', { url: recv.url, headers: { 'Webhook-Id': 'x' } }), ports())) as { reason: string }).reason, /set by the webhook step/);
    assert.equal(recv.deliveries.length, n);
  });

  test('default payload: envelope, authentication, intent, parsed message, attachments with SHA-256, content inline within the budget, address detail', async () => {
    const big = Buffer.alloc(3000, 'x');
    const m = await stepMessage(policy, {
      detail: 'ABC-12',
      attachments: [
        { filename: 'small.txt', contentType: 'text/plain', content: 'hello attachment' },
        { filename: 'big.bin', contentType: 'application/octet-stream', content: big },
      ],
    });
    await webhookHandler(m, invocation('webhook', { url: recv.url, secret: SECRET }), ports({ webhookInlineBytes: 1000 }));
    // The payload is checked field by field below.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const p = recv.deliveries.at(-1)!.json as { type: string; data: Record<string, any> };
    assert.equal(p.type, 'message.received');
    assert.equal(p.data.id, m.id);
    assert.equal(p.data.tenant, 'acme');
    assert.equal(p.data.intent.name, 'task.hook');
    assert.equal(p.data.address.detail, 'ABC-12');
    assert.equal(p.data.envelope.mailFrom, 'alice@acme.example');
    assert.equal(p.data.authentication.senderVerified, true);
    assert.equal(p.data.authentication.dmarc.result, 'pass');
    assert.equal(p.data.message.subject, 'Printer on fire #urgent');
    assert.deepEqual(p.data.message.tags, ['urgent']);
    assert.match(p.data.message.text, /The printer is on fire/);
    assert.equal(p.data.message.headers['message-id'][0], '<orig-1@acme.example>');
    const [small, large] = p.data.message.attachments;
    assert.deepEqual([small.filename, small.contentType, small.size], ['small.txt', 'text/plain', 16]);
    assert.equal(small.sha256, createHash('sha256').update('hello attachment').digest('hex'));
    assert.equal(Buffer.from(small.content, 'base64').toString(), 'hello attachment');
    assert.equal(large.sha256, createHash('sha256').update(big).digest('hex'));
    assert.equal(large.content, undefined, 'over the inline budget: described, not included');
  });

  test('a Jira issue and a Splunk HEC event from templated payloads and headers', async () => {
    const p2 = policyWith(`  - name: jira
    webhook:
      url: "\${env.JIRA_URL}"
      headers: { Authorization: "Basic \${env.JIRA_AUTH}" }
      payload:
        fields:
          project: { key: OPS }
          summary: "{{subject}}"
          description: "{{body}}"
          issuetype: { name: Task }
          labels: "{{tags}}"
  - incident:
      url: "\${env.HEC_URL}"
      headers: { Authorization: "Splunk \${env.HEC_TOKEN}" }
      severity: high
      payload:
        sourcetype: "intentmail:incident"
        source: "{{intent}}"
        event: { reporter: "{{sender}}", subject: "{{subject}}", size: "{{size}}", steps: "{{steps.jira.result.key}}" }
`);
    const m = await stepMessage(p2);
    const env = { JIRA_URL: recv.url, JIRA_AUTH: 'dXNlcjp0b2tlbg==', HEC_URL: recv.url, HEC_TOKEN: '0b1c-token' };
    const steps = p2.tenants.get('acme')!.intents.get('task.hook')!.steps as { params: Record<string, unknown> }[];
    m.facts.steps.jira = { result: { id: '10001', key: 'OPS-7' } };
    const ctx = templateContext(m.facts, { intent: 'task.hook', tenant: 'acme', message: { id: m.id } });
    const jira = renderStepParams(steps[0].params, ctx, env);
    assert.deepEqual(jira.missing, []);
    await webhookHandler(m, invocation('webhook', jira.params), ports());
    const j = recv.deliveries.at(-1)!;
    assert.equal(j.headers.authorization, 'Basic dXNlcjp0b2tlbg==');
    assert.deepEqual(j.json, { fields: { project: { key: 'OPS' }, summary: 'Printer on fire #urgent', description: 'The printer is on fire.\n', issuetype: { name: 'Task' }, labels: ['urgent'] } });
    const hec = renderStepParams(steps[1].params, ctx, env);
    await incidentHandler(m, invocation('incident', hec.params, { path: '1' }), ports());
    const h = recv.deliveries.at(-1)!;
    assert.equal(h.headers.authorization, 'Splunk 0b1c-token');
    assert.deepEqual(h.json, { sourcetype: 'intentmail:incident', source: 'task.hook', event: { reporter: 'alice@acme.example', subject: 'Printer on fire #urgent', size: m.facts.size, steps: 'OPS-7' } });
  });
});
