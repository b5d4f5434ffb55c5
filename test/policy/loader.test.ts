import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { LIMITS } from '../../src/core/limits.ts';
import { loadPolicies } from '../../src/policy/loader.ts';
import { planSteps } from '../../src/policy/plan.ts';
import type { PolicyProblem } from '../../src/policy/types.ts';
import { facts } from './facts.ts';

const SPEC = new URL('../../../shared/spec/intents.md', import.meta.url);

/** A minimal tenant of our own (not copied from the spec). */
const TENANT = [
  'tenant: acme',
  'domains: [In.Acme.Example]',
  'defaults:',
  '  require: dkim',
  '  limits: { per_sender: 10/10m, max_size: 20MB }',
  'groups:',
  '  security: ["Security@acme.example", "@soc.acme.example"]',
  'roles:',
  '  developer: { "task.*": [read, create] }',
  'members:',
  '  "alice@acme.example": [developer]',
  '',
].join('\n');

const GOOD_INTENT = [
  'intent: task.demo',
  'senders: ["@acme.example", group:security, role:developer]',
  'steps:',
  '  - webhook: { url: "https://tickets.example/hook", secret: "${env.DEMO_SECRET}" }',
  '  - reply: { text: "Created {{steps.webhook.result.id}}" }',
  '',
].join('\n');

function load(files: Record<string, string>, env: Record<string, string | undefined> = {}) {
  return loadPolicies(Object.entries(files).map(([path, text]) => ({ path, text })), 'intents', env);
}

/** Loads one intent file (beside our tenant) and returns its problems. */
function problemsOf(lines: string[], file = 'task.demo.yaml'): PolicyProblem[] {
  return load({ 'acme/tenant.yaml': TENANT, [`acme/${file}`]: lines.join('\n') }).problems;
}

/** Asserts exactly one problem at file:line:column and field, with a message matching `message`. */
function assertOne(problems: PolicyProblem[], at: { line: number; column: number; field: string }, message: RegExp, file = 'acme/task.demo.yaml'): void {
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 1));
  const [p] = problems;
  assert.deepEqual({ file: p.file, line: p.line, column: p.column, field: p.field }, { file, ...at });
  assert.match(p.message, message);
}

describe('the spec examples (../shared/spec/intents.md)', { skip: existsSync(SPEC) ? false : 'shared spec not present' }, () => {
  const blocks = existsSync(SPEC) ? [...readFileSync(SPEC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]) : [];
  const tenantText = blocks.find((b) => /^tenant:/m.test(b)) ?? '';
  const intentText = blocks.find((b) => /^intent:/m.test(b)) ?? '';

  test('every yaml block of the spec is either the tenant or an intent, and they load with zero problems', () => {
    assert.equal(blocks.length, 2);
    const r = load({ 'acme/tenant.yaml': tenantText, 'acme/task.linear.yaml': intentText }, { LINEAR_WEBHOOK_URL: 'https://linear.example/hook', LINEAR_WEBHOOK_SECRET: 's' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    const tenant = r.policy!.byDomain.get('in.acme.example')!;
    assert.equal(tenant.name, 'acme');
    assert.deepEqual(tenant.defaults, { require: 'dmarc', limits: { perSender: { count: 60, windowMs: 3_600_000, text: '60/hour' }, maxSize: 50 * 1024 ** 2 }, trustedArcSealers: [] });
    assert.deepEqual(tenant.groups.engineering, ['@acme.example', 'ops@partner.example']);
    assert.deepEqual(tenant.roles.analyst, { 'summary.analytics': ['read'], 'export.data': ['deny'] });
    assert.deepEqual(tenant.members, { 'alice@acme.example': ['developer'] });
    const intent = tenant.intents.get('task.linear')!;
    assert.equal(intent.level, 'create');
    assert.equal(intent.require, 'dmarc');
    assert.deepEqual(intent.senders, ['@acme.example', 'role:developer']);
    assert.deepEqual(intent.limits, { perSender: { count: 20, windowMs: 3_600_000, text: '20/hour' }, maxSize: 50 * 1024 ** 2 });
    assert.deepEqual(intent.steps.map((s) => (s.kind === 'if' ? 'if' : s.name)), ['if', 'webhook', 'reply']);
    const webhook = intent.steps[1];
    assert.equal(webhook.kind === 'action' && webhook.params.url, '${env.LINEAR_WEBHOOK_URL}', 'env references are kept as written');
  });

  test('the spec example behaves as described', () => {
    const r = load({ 'acme/tenant.yaml': tenantText, 'acme/task.linear.yaml': intentText });
    const steps = r.policy!.tenants.get('acme')!.intents.get('task.linear')!.steps;
    const toPartner = planSteps(steps, facts({ recipient: 'cad@partner.example' }));
    assert.deepEqual(toPartner.steps.map((s) => s.action), ['filelink', 'smime', 'webhook', 'reply']);
    const noKey = planSteps(steps, facts({ attachments: [] }));
    assert.deepEqual(noKey.steps.map((s) => s.action), ['pdf_container', 'webhook', 'reply']);
  });

  test('unset environment variables are warnings at the referencing field', () => {
    const r = load({ 'acme/tenant.yaml': tenantText, 'acme/task.linear.yaml': intentText }, { LINEAR_WEBHOOK_URL: 'https://x.example' });
    assert.equal(r.problems.length, 0);
    assert.deepEqual(r.warnings.map((w) => [w.field, w.message]), [['steps.1.webhook.secret', 'environment variable LINEAR_WEBHOOK_SECRET is not set']]);
    const line = intentText.split('\n').findIndex((l) => l.includes('secret:')) + 1;
    assert.equal(r.warnings[0].line, line);
  });
});

describe('loading our own fixtures', () => {
  test('defaults, normalisation, origin', () => {
    const r = load({ 'acme/tenant.yaml': TENANT, 'acme/task.demo.yaml': GOOD_INTENT }, { DEMO_SECRET: 'x' });
    assert.deepEqual([r.problems, r.warnings], [[], []]);
    const t = r.policy!.byDomain.get('in.acme.example')!;
    assert.deepEqual(t.groups.security, ['security@acme.example', '@soc.acme.example']);
    const i = t.intents.get('task.demo')!;
    assert.equal(i.require, 'dkim');
    assert.equal(i.level, 'create');
    assert.deepEqual(i.limits, { perSender: { count: 10, windowMs: 600_000, text: '10/10m' }, maxSize: 20 * 1024 ** 2 });
    assert.deepEqual(i.origin.file, 'acme/task.demo.yaml');
    assert.match(i.origin.version, /^[0-9a-f]{40}$/);
    assert.deepEqual(i.steps.map((s) => s.line), [4, 5]);
    assert.equal(r.policy!.location, 'intents');
  });
  test('windows paths and ./ prefixes are normalised; non-YAML files are ignored', () => {
    const r = load({ './acme\\tenant.yaml': TENANT, 'acme\\task.demo.yml': GOOD_INTENT, 'acme/README.md': '# hi', 'README.md': 'x' }, { DEMO_SECRET: 'x' });
    assert.deepEqual(r.problems, []);
    assert.ok(r.policy!.tenants.get('acme')!.intents.has('task.demo'));
  });
  test('with problems there is no policy set', () => {
    const r = problemsOf(['intent: task.demo', 'steps: []']);
    assert.equal(r.length, 1);
    assert.equal(load({ 'acme/tenant.yaml': TENANT, 'acme/task.demo.yaml': 'intent: task.demo\nsteps: []\n' }).policy, null);
  });
});

describe('bad intent files name file, line, column and field', () => {
  test('wrong type', () => {
    assertOne(problemsOf(['intent: task.demo', 'level: 5', 'steps:', '  - stop: {}']), { line: 2, column: 1, field: 'level' }, /Invalid option/);
    assertOne(problemsOf(['intent: task.demo', 'senders: "@acme.example"', 'steps:', '  - stop:']), { line: 2, column: 1, field: 'senders' }, /expected array/);
  });
  test('unknown top-level field', () => {
    assertOne(problemsOf(['intent: task.demo', 'sendrs: ["@acme.example"]', 'steps:', '  - stop: {}']), { line: 2, column: 1, field: 'sendrs' }, /unknown field "sendrs"/);
  });
  test('missing steps points at the document', () => {
    assertOne(problemsOf(['# comment', 'intent: task.demo']), { line: 2, column: 1, field: 'steps' }, /expected array/);
  });
  test('unknown action', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: hi }', '  - frobnicate: { x: 1 }']),
      { line: 4, column: 5, field: 'steps.1.frobnicate' }, /unknown action "frobnicate"/);
  });
  test('unknown parameter', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook:', '      url: https://x.example/h', '      retries: 3']),
      { line: 5, column: 7, field: 'steps.0.webhook.retries' }, /unknown parameter "retries"/);
  });
  test('wrong parameter value deep in a branch', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - if: { tls: false }', '    then:', '      - reply: { text: hi, encrypt: always }']),
      { line: 5, column: 28, field: 'steps.0.then.0.reply.encrypt' }, /Invalid option/);
  });
  test('inline secret', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook:', '      url: https://x.example/h', '      secret: hunter2']),
      { line: 5, column: 7, field: 'steps.0.webhook.secret' }, /secrets come from the environment, never inline/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - incident:', '      url: https://siem.example/hec', '      headers: { X-Api-Token: abc123 }']),
      { line: 5, column: 18, field: 'steps.0.incident.headers.X-Api-Token' }, /never inline/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook:', '      url: https://user:pw@x.example/h']),
      { line: 4, column: 7, field: 'steps.0.webhook.url' }, /never inline/);
  });
  test('a secret in a URL query is refused', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook: { url: "https://x.example/h?api_key=abc" }']),
      { line: 3, column: 16, field: 'steps.0.webhook.url' }, /never inline/);
  });
  test('a __proto__ key is refused where it is written', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook:', '      url: https://x.example/h', '      payload: { a: 1, __proto__: { b: 2 } }']),
      { line: 5, column: 24, field: '' }, /__proto__ is not allowed/);
  });
  test('anchors, aliases and merge keys work', () => {
    const p = load({
      'acme/tenant.yaml': TENANT,
      'acme/task.demo.yaml': [
        'intent: task.demo',
        'x-common: &common { url: "https://x.example/h", timeout: 10s }',
        'steps:',
        '  - webhook: { <<: *common, method: PUT }',
      ].join('\n'),
    });
    assertOne(p.problems, { line: 2, column: 1, field: 'x-common' }, /unknown field "x-common"/);
    const ok = load({
      'acme/tenant.yaml': TENANT,
      'acme/task.demo.yaml': ['intent: task.demo', 'steps:', '  - webhook: &w { url: "https://x.example/h", timeout: 10s }', '  - { name: again, webhook: { <<: *w, method: PUT } }'].join('\n'),
    });
    assert.deepEqual(ok.problems, []);
    const steps = ok.policy!.tenants.get('acme')!.intents.get('task.demo')!.steps;
    assert.deepEqual(steps[1].kind === 'action' && steps[1].params, { url: 'https://x.example/h', timeout: 10_000, method: 'PUT' });
  });
  test('a literal PDF password is refused; generated and header:NAME are fine', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - pdf_container: { password: s3cret }']),
      { line: 3, column: 22, field: 'steps.0.pdf_container.password' }, /never a literal password/);
    assert.deepEqual(problemsOf(['intent: task.demo', 'steps:', '  - pdf_container: { password: "header:X-Pdf-Password", send_password: email }']), []);
  });
  test('bad size in limits and in a condition', () => {
    assertOne(problemsOf(['intent: task.demo', 'limits:', '  max_size: 25XB', 'steps: [ { stop: {} } ]']),
      { line: 3, column: 3, field: 'limits.max_size' }, /unknown unit/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - if: { attachment.size: { gt: 25 MBs } }', '    then: [ { stop: {} } ]']),
      { line: 3, column: 30, field: 'steps.0.if.attachment.size.gt' }, /unknown unit/);
    assertOne(problemsOf(['intent: task.demo', 'limits: { max_size: 60MB }', 'steps: [ { stop: {} } ]']),
      { line: 2, column: 11, field: 'limits.max_size' }, /router's limit of 50MB/);
  });
  test('duplicate step names', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: a }', '  - if: { tls: true }', '    then:', '      - reply: { text: b }']),
      { line: 6, column: 9, field: 'steps.1.then.0.reply' }, /two steps are named "reply" \(the other is steps\.0\)/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - { name: answer, reply: { text: a } }', '  - name: answer', '    reply: { text: b }']),
      { line: 4, column: 5, field: 'steps.1.name' }, /two steps are named "answer"/);
    assert.deepEqual(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: a }', '  - name: again', '    reply: { text: b }']), []);
  });
  test('unknown condition field', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - if:', '      all:', '        - tls: true', '        - sender.phone: "+491"', '    then: [ { stop: {} } ]']),
      { line: 6, column: 11, field: 'steps.0.if.all.1.sender.phone' }, /unknown condition field "sender.phone"/);
  });
  test('bad regex and ReDoS-prone regex', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - if: { subject: { matches: "(unclosed" } }', '    then: [ { stop: {} } ]']),
      { line: 3, column: 22, field: 'steps.0.if.subject.matches' }, /invalid regular expression/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - redact: { patterns: ["\\\\d{16}", "(a+)+b"] }']),
      { line: 3, column: 37, field: 'steps.0.redact.patterns.1' }, /exponential/);
  });
  test('steps.NAME must name an earlier step', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: "{{steps.webhook.result.id}}" }', '  - webhook: { url: "https://x.example/h" }']),
      { line: 3, column: 14, field: 'steps.0.reply.text' }, /steps\.webhook names no earlier step/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - if: { steps.nope.result.ok: true }', '    then: [ { stop: {} } ]']),
      { line: 3, column: 11, field: 'steps.0.if.steps.nope.result.ok' }, /names no earlier step/);
  });
  test('templates are logic-less; environment values stay out of message text', () => {
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: "{{#if sender}}hi{{/if}}" }']),
      { line: 3, column: 14, field: 'steps.0.reply.text' }, /not a value path/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: "token ${env.API_TOKEN}" }']),
      { line: 3, column: 14, field: 'steps.0.reply.text' }, /not in message text/);
    assertOne(problemsOf(['intent: task.demo', 'steps:', '  - webhook: { url: "https://x.example/{{subject}}" }']),
      { line: 3, column: 16, field: 'steps.0.webhook.url' }, /may not contain templates/);
  });
  test('group: and role: entries must exist in the tenant', () => {
    assertOne(problemsOf(['intent: task.demo', 'senders:', '  - group:security', '  - group:nope', 'steps: [ { stop: {} } ]']),
      { line: 4, column: 5, field: 'senders.1' }, /group "nope" is not defined/);
    assertOne(problemsOf(['intent: task.demo', 'deny: [role:ghost]', 'steps: [ { stop: {} } ]']),
      { line: 2, column: 8, field: 'deny.0' }, /role "ghost" is not defined/);
  });
  test('the file name must be the intent name', () => {
    assertOne(problemsOf(['intent: task.other', 'steps: [ { stop: {} } ]']), { line: 1, column: 1, field: 'intent' }, /name it task\.other\.yaml/);
  });
  test('YAML syntax errors, duplicate keys and several documents', () => {
    const syntax = problemsOf(['intent: task.demo', 'steps:', '  - reply: { text: "unterminated }']);
    assert.ok(syntax.length >= 1);
    assert.equal(syntax[0].file, 'acme/task.demo.yaml');
    assert.ok(syntax[0].line >= 3);
    assertOne(problemsOf(['intent: task.demo', 'steps: [ { stop: {} } ]', 'intent: task.demo']), { line: 3, column: 1, field: '' }, /unique/);
    assertOne(problemsOf(['intent: task.demo', 'steps: [ { stop: {} } ]', '---', 'x: 1']), { line: 3, column: 1, field: '' }, /multiple documents/);
  });
  test('alias bombs are refused', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) levels.push(`${'abcdef'[i]}: &${'abcdef'[i]} [${Array(10).fill(`*${'abcdef'[i - 1]}`).join(', ')}]`);
    const p = problemsOf(['intent: task.demo', ...levels, 'steps: [ { stop: {} } ]']);
    assertOne(p, { line: 1, column: 1, field: '' }, /alias/i);
  });
  test('files larger than MAX_POLICY_FILE_BYTES are refused', () => {
    const big = ['intent: task.demo', `description: "${'x'.repeat(LIMITS.MAX_POLICY_FILE_BYTES)}"`, 'steps: [ { stop: {} } ]'];
    assertOne(problemsOf(big), { line: 1, column: 1, field: '' }, /at most 262144/);
  });
});

describe('bad tenants and folders', () => {
  test('members must bind defined roles', () => {
    const r = load({ 'acme/tenant.yaml': `${TENANT}  "bob@acme.example": [developer, analyst]\n` });
    assertOne(r.problems, { line: 12, column: 35, field: 'members.bob@acme.example.1' }, /role "analyst" is not defined/, 'acme/tenant.yaml');
  });
  test('wrong type and bad names in tenant.yaml', () => {
    const r = load({ 'acme/tenant.yaml': TENANT.replace('domains: [In.Acme.Example]', 'domains: in.acme.example') });
    assertOne(r.problems, { line: 2, column: 1, field: 'domains' }, /expected array/, 'acme/tenant.yaml');
    const g = load({ 'acme/tenant.yaml': TENANT.replace('  security:', '  "sec urity":') });
    assertOne(g.problems, { line: 7, column: 3, field: 'groups.sec urity' }, /invalid name/, 'acme/tenant.yaml');
    const p = load({ 'acme/tenant.yaml': TENANT.replace('[read, create]', '[read, publish]') });
    assertOne(p.problems, { line: 9, column: 33, field: 'roles.developer.task.*.1' }, /Invalid option/, 'acme/tenant.yaml');
  });
  test('a domain may belong to one tenant only; tenant names are unique', () => {
    const other = 'tenant: beta\ndomains:\n  - mail.beta.example\n  - in.acme.example\n';
    const r = load({ 'acme/tenant.yaml': TENANT, 'beta/tenant.yaml': other });
    assertOne(r.problems, { line: 4, column: 5, field: 'domains.1' }, /already belongs to tenant "acme"/, 'beta/tenant.yaml');
    const dup = load({ 'acme/tenant.yaml': TENANT, 'acme2/tenant.yaml': 'tenant: acme\ndomains: [x.example]\n' });
    assertOne(dup.problems, { line: 1, column: 1, field: 'tenant' }, /already defined in acme\/tenant.yaml/, 'acme2/tenant.yaml');
  });
  test('duplicate intents in one tenant', () => {
    const r = load({ 'acme/tenant.yaml': TENANT, 'acme/task.demo.yaml': GOOD_INTENT, 'acme/task.demo.yml': GOOD_INTENT }, { DEMO_SECRET: 'x' });
    assertOne(r.problems, { line: 1, column: 1, field: 'intent' }, /already defined in acme\/task.demo.yaml/, 'acme/task.demo.yml');
  });
  test('YAML outside a tenant folder is a problem', () => {
    const r = load({ 'acme/tenant.yaml': TENANT, 'stray/task.demo.yaml': GOOD_INTENT, 'loose.yaml': 'a: 1' });
    assert.deepEqual(r.problems.map((p) => p.file).sort(), ['loose.yaml', 'stray/task.demo.yaml']);
    assert.match(r.problems[0].message, /not in a tenant folder/);
  });
  test('intents are still checked when tenant.yaml is broken', () => {
    const r = load({ 'acme/tenant.yaml': 'tenant: acme\n', 'acme/task.demo.yaml': 'intent: task.demo\nsteps: [ { nope: {} } ]\n' });
    assert.deepEqual(r.problems.map((p) => `${p.file}:${p.field}`), ['acme/tenant.yaml:domains', 'acme/task.demo.yaml:steps.0.nope']);
  });
  test('too many files', () => {
    const files = Array.from({ length: LIMITS.MAX_POLICY_FILES + 1 }, (_, i) => ({ path: `t/${i}.yaml`, text: '' }));
    const r = loadPolicies(files, 'intents');
    assertOne(r.problems, { line: 1, column: 1, field: '' }, /at most 10000/, 'intents');
  });
});

describe('warnings', () => {
  test('templates reading data no message has', () => {
    const r = load({ 'acme/tenant.yaml': TENANT, 'acme/task.demo.yaml': 'intent: task.demo\nsteps:\n  - reply: { text: "{{sendr}}" }\n' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings.map((w) => `${w.line}:${w.column}:${w.field}`), ['3:14:steps.0.reply.text']);
    assert.match(r.warnings[0].message, /"sendr"/);
  });
});
