import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderPolicySource } from '../../src/adapters/node/policy-folder.ts';
import { loadPolicies } from '../../src/policy/loader.ts';
import { planSteps } from '../../src/policy/plan.ts';
import { envReferences } from '../../src/policy/template.ts';
import type { Intent, Tenant } from '../../src/policy/types.ts';
import { facts } from './facts.ts';

const INTENTS = fileURLToPath(new URL('../../intents', import.meta.url));

async function loadExamples(env: Record<string, string> = {}) {
  const source = folderPolicySource(INTENTS);
  return loadPolicies(await source.list(), source.location, env);
}

/** Every `${env.NAME}` the example intents use, set to a dummy value. */
function envFor(tenant: Tenant): Record<string, string> {
  const names = [...tenant.intents.values()].flatMap((i) => envReferences(i.steps));
  return Object.fromEntries(names.map((n) => [n, 'set']));
}

describe('intents/ (the example tenant)', async () => {
  const first = await loadExamples();
  const acme = first.policy?.tenants.get('acme');
  const intent = (name: string): Intent => acme!.intents.get(name)!;
  const actions = (name: string, f = facts()) => planSteps(intent(name).steps, f).steps.map((s) => s.name);

  test('loads with zero problems; with the environment set, zero warnings', async () => {
    assert.deepEqual(first.problems, []);
    assert.ok(first.warnings.every((w) => /environment variable \w+ is not set/.test(w.message)), JSON.stringify(first.warnings));
    const full = await loadExamples(envFor(acme!));
    assert.deepEqual([full.problems, full.warnings], [[], []]);
  });

  test('holds the intents the README lists', () => {
    assert.deepEqual([...acme!.intents.keys()].sort(), [
      'approve.invoice', 'export.data', 'imaging.share', 'incident.report', 'lab.results', 'share.partner', 'summary.analytics', 'support.inbox', 'task.jira', 'task.linear',
    ]);
    assert.equal(first.policy!.byDomain.get('in.acme.example'), acme);
  });

  test('roles and members for the analyst scenarios', () => {
    assert.deepEqual(acme!.members['bob@acme.example'], ['analyst']);
    assert.deepEqual(acme!.roles.analyst, { 'summary.analytics': ['read'], 'export.data': ['deny'] });
    assert.deepEqual(acme!.members['alice@acme.example'], ['developer']);
    assert.ok(acme!.groups.security.length > 0);
    assert.equal(intent('summary.analytics').level, 'read');
    assert.deepEqual(intent('summary.analytics').senders, ['role:analyst']);
  });

  test('ticket by mail: webhook then reply with the ticket id', () => {
    assert.deepEqual(actions('task.linear', facts({ attachments: [], keys: { smime: 'present', pgp: 'missing' } })), ['webhook', 'reply']);
    const reply = planSteps(intent('task.linear').steps, facts()).steps.at(-1)!;
    assert.equal(reply.params.text, 'Created {{steps.webhook.result.id}}');
  });

  test('analytics summary: the reply is encrypted either way', () => {
    assert.deepEqual(actions('summary.analytics', facts({ keys: { smime: 'present', pgp: 'missing' } })), ['summary', 'reply-smime']);
    const plan = planSteps(intent('summary.analytics').steps, facts());
    assert.deepEqual(plan.steps.map((s) => [s.name, s.params.encrypt ?? null]), [['summary', null], ['reply-pdf', 'pdf']]);
  });

  test('sensitivity label: Highly Confidential is rejected, Confidential forces S/MIME', () => {
    assert.deepEqual(actions('export.data', facts({ labels: ['highly confidential'] })), ['reject']);
    assert.deepEqual(actions('export.data'), ['export', 'reply-confidential']);
    assert.deepEqual(actions('share.partner', facts({ labels: ['vs-nfd'] })), ['reject']);
  });

  test('NIS2 incident: PDF container, copy to security, Splunk HEC incident webhook', () => {
    const nis2 = planSteps(intent('incident.report').steps, facts({ subjectTags: ['nis2'] }));
    assert.deepEqual(nis2.steps.map((s) => s.action), ['pdf_container', 'copy', 'incident', 'reply']);
    assert.deepEqual(nis2.steps[0].params, { password: 'generated', send_password: 'sms' });
    assert.equal((nis2.steps[2].params.headers as Record<string, string>).Authorization, 'Splunk ${env.SPLUNK_HEC_TOKEN}');
    assert.deepEqual(actions('incident.report', facts({ subjectTags: [] })), ['copy-plain', 'reply']);
  });

  test('clinic imaging: a large study becomes a FileLink, S/MIME-signed', () => {
    const plan = planSteps(intent('imaging.share').steps, facts({ attachments: [{ filename: 'ct.dcm', mimeType: 'application/dicom', size: 40 * 1024 ** 2, sha256: '0'.repeat(64) }] }));
    assert.deepEqual(plan.steps.map((s) => s.action), ['filelink', 'smime', 'forward']);
    assert.deepEqual(plan.steps[0].params, { ttl: 14 * 86_400_000, two_factor: 'email' });
    assert.deepEqual(plan.steps[1].params, { sign: true });
    assert.deepEqual(actions('imaging.share', facts({ attachments: [] })), ['smime', 'forward']);
  });

  test('supply-chain CAD: a STEP file becomes a two-factor FileLink', () => {
    assert.deepEqual(actions('share.partner', facts({ labels: [] })), ['filelink', 'forward']);
  });

  test('specialist system trigger: X-Intent-Action picks the branch', () => {
    assert.deepEqual(actions('lab.results'), ['archive', 'stop']);
    assert.deepEqual(actions('lab.results', facts({ headers: { 'x-intent-action': ['urgent'] }, subjectTags: [] })), ['notify', 'webhook']);
    assert.deepEqual(actions('lab.results', facts({ headers: {}, subjectTags: ['archive'] })), ['archive', 'stop']);
    assert.equal(intent('lab.results').require, 'dkim');
  });

  test('approval and the public intake', () => {
    assert.equal(intent('approve.invoice').level, 'approve');
    const support = intent('support.inbox');
    assert.deepEqual([support.require, support.senders], ['none', ['*']]);
    const exe = facts({ attachments: [{ filename: 'invoice.pdf.exe', mimeType: 'application/octet-stream', size: 1, sha256: '0'.repeat(64) }] });
    assert.deepEqual(actions('support.inbox', exe), ['quarantine', 'stop']);
    assert.deepEqual(actions('support.inbox', facts({ attachments: [] })), ['tag', 'webhook', 'reply']);
  });

  test('every file begins with a comment saying what it shows', () => {
    for (const i of acme!.intents.values()) {
      assert.match(readFileSync(join(INTENTS, i.origin.file), 'utf8'), /^# /, i.origin.file);
    }
  });
});
