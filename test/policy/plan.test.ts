import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSteps } from '../../src/policy/steps.ts';
import { matchIntentPattern } from '../../src/policy/match.ts';
import { planSteps } from '../../src/policy/plan.ts';
import type { Step } from '../../src/policy/types.ts';
import { facts } from './facts.ts';

function steps(raw: unknown): Step[] {
  const r = parseSteps(raw);
  assert.deepEqual(r.issues, []);
  return r.steps!;
}

/** The spec example's steps (../shared/spec/intents.md), without the webhook secret. */
const specSteps = steps([
  {
    if: { all: [{ 'attachment.size': { gt: '25MB' } }, { 'recipient.domain': 'partner.example' }] },
    then: [{ filelink: { ttl: '14d', two_factor: 'email' } }, { smime: { sign: true, encrypt: true } }],
    else: [{ if: { 'key.smime': 'missing' }, then: [{ pdf_container: { password: 'generated', send_password: 'sms' } }] }],
  },
  { webhook: { url: '${env.LINEAR_WEBHOOK_URL}' } },
  { reply: { text: 'Created {{steps.webhook.result.id}}', encrypt: 'auto' } },
]);

describe('planSteps', () => {
  test('then branch: a large attachment to a partner gets a FileLink and S/MIME', () => {
    const plan = planSteps(specSteps, facts({ recipient: 'x@partner.example' }));
    assert.deepEqual(plan.steps.map((s) => `${s.path}:${s.name}`), ['0.then.0:filelink', '0.then.1:smime', '1:webhook', '2:reply']);
    assert.deepEqual(plan.branches.map((b) => [b.path, b.taken, b.trace.result]), [['0', 'then', true]]);
    assert.deepEqual(plan.steps[0].params, { ttl: 14 * 86_400_000, two_factor: 'email' });
    assert.equal(plan.endedBy, null);
  });
  test('else branch with a nested if: no S/MIME key → password PDF', () => {
    const plan = planSteps(specSteps, facts());
    assert.deepEqual(plan.steps.map((s) => s.path), ['0.else.0.then.0', '1', '2']);
    assert.deepEqual(plan.branches.map((b) => [b.path, b.taken]), [['0', 'else'], ['0.else.0', 'then']]);
  });
  test('nested if not taken and no else: nothing from it', () => {
    const plan = planSteps(specSteps, facts({ keys: { smime: 'present', pgp: 'missing' } }));
    assert.deepEqual(plan.steps.map((s) => s.action), ['webhook', 'reply']);
    assert.deepEqual(plan.branches.map((b) => b.taken), ['else', 'else']);
  });
  test('stop and reject end the plan, also from inside a branch', () => {
    const s = steps([
      { if: { 'header.X-Intent-Action': 'archive' }, then: [{ archive: { retention: '3650d' } }, { stop: {} }] },
      { webhook: { url: 'https://his.example/in' } },
    ]);
    const stopped = planSteps(s, facts());
    assert.deepEqual(stopped.steps.map((x) => x.action), ['archive', 'stop']);
    assert.equal(stopped.endedBy, 'stop');
    const on = planSteps(s, facts({ headers: {} }));
    assert.deepEqual(on.steps.map((x) => x.action), ['webhook']);
    const rejected = planSteps(steps([{ reject: { reason: 'no' } }, { reply: { text: 'never' } }]), facts());
    assert.deepEqual([rejected.steps.map((x) => x.action), rejected.endedBy], [['reject'], 'reject']);
  });
  test('planned params are copies: changing them does not change the policy', () => {
    const plan = planSteps(specSteps, facts());
    plan.steps[1].params.url = 'https://evil.example';
    assert.equal(planSteps(specSteps, facts()).steps[1].params.url, '${env.LINEAR_WEBHOOK_URL}');
  });
});

describe('matchIntentPattern', () => {
  const table: [string, string, boolean][] = [
    ['*', 'task.linear', true],
    ['task.*', 'task.linear', true],
    ['task.*', 'task.linear.bug', true],
    ['task.*', 'task', false],
    ['task.*', 'tasks.linear', false],
    ['summary.analytics', 'summary.analytics', true],
    ['summary.analytics', 'summary.analytics2', false],
    ['Task.Linear', 'task.linear', true],
  ];
  for (const [p, i, want] of table) test(`${p} vs ${i} → ${want}`, () => assert.equal(matchIntentPattern(p, i), want));
});
