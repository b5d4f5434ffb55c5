/**
 * The worked receiver formats in the shipped intents, rendered from the real policy files and
 * sent by the real handlers to a local receiver: the Splunk HTTP Event Collector event of
 * incident.report (NIS2 branch) and the Linear-style issue of task.linear.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { folderPolicySource } from '../../src/adapters/node/policy-folder.ts';
import { loadPolicies } from '../../src/policy/loader.ts';
import { planSteps } from '../../src/policy/plan.ts';
import { templateContext } from '../../src/policy/template.ts';
import type { PolicySet } from '../../src/policy/types.ts';
import { renderStepParams } from '../../src/steps/render.ts';
import { incidentHandler, webhookHandler } from '../../src/steps/webhook.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { invocation, ports, SECRET, stepMessage } from './fixtures.ts';

let recv: Receiver;
let policy: PolicySet;

/** The example intents as the router loads them (environment unset: only warnings). */
async function examples(): Promise<PolicySet> {
  const source = folderPolicySource(fileURLToPath(new URL('../../intents', import.meta.url)));
  const r = loadPolicies(await source.list(), source.location, {});
  assert.deepEqual(r.problems, []);
  return r.policy!;
}

describe('worked receiver formats in intents/acme', () => {
  before(async () => {
    recv = await startReceiver({ secrets: [SECRET], answer: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"text":"Success","code":0,"ackId":7}' }) });
    policy = await examples();
  });
  after(() => recv.close());

  test('incident.report: a Splunk HEC event with the Splunk token header', async () => {
    const acme = policy.tenants.get('acme')!;
    const m = await stepMessage(policy, { subject: 'Grid frequency alarm #NIS2' });
    m.intent = acme.intents.get('incident.report')!;
    const plan = planSteps(m.intent.steps, m.facts);
    const step = plan.steps.find((s) => s.action === 'incident')!;
    const env = { SPLUNK_HEC_URL: recv.url, SPLUNK_HEC_TOKEN: '4f1e-hec-token' };
    const ctx = templateContext(m.facts, { intent: m.intent.name, tenant: 'acme', message: { id: m.id } });
    const r = renderStepParams(step.params, ctx, env);
    assert.deepEqual(r.missing, []);
    const out = await incidentHandler(m, invocation('incident', r.params, { path: step.path }), ports());
    assert.equal(out.status, 'done');
    assert.equal((out as { resourceId: string }).resourceId, '7', 'the HEC ackId');
    const d = recv.deliveries.at(-1)!;
    assert.equal(d.headers.authorization, 'Splunk 4f1e-hec-token');
    assert.deepEqual(d.json, {
      sourcetype: 'intentmail:incident',
      source: 'incident.report',
      event: { framework: 'NIS2', reporter: 'alice@acme.example', subject: 'Grid frequency alarm #NIS2', tags: ['nis2'], messageId: m.id },
    });
  });

  test('task.linear: the issue fields, signed for the receiving integration', async () => {
    const acme = policy.tenants.get('acme')!;
    const m = await stepMessage(policy, { detail: 'OPS' });
    m.intent = acme.intents.get('task.linear')!;
    const step = planSteps(m.intent.steps, { ...m.facts, keys: { smime: 'present', pgp: 'missing' } }).steps.find((s) => s.action === 'webhook')!;
    const r = renderStepParams(step.params, templateContext(m.facts, { message: { id: m.id } }), { LINEAR_WEBHOOK_URL: recv.url, LINEAR_WEBHOOK_SECRET: SECRET });
    const out = await webhookHandler(m, invocation('webhook', r.params), ports());
    assert.equal(out.status, 'done');
    const d = recv.deliveries.at(-1)!;
    assert.equal(d.verified, true);
    assert.deepEqual(d.json, { title: 'Printer on fire #urgent', description: 'The printer is on fire.\n', teamKey: 'OPS', reporter: 'alice@acme.example', labels: ['urgent'], messageId: m.id });
  });
});
