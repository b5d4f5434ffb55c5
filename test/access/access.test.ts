/**
 * Access decisions as tables: allowlist forms, explicit and role denies, levels, verified
 * versus unverified senders, and run-time grants. Tenant and intents are built here directly.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decideAccess, type AccessDecision, type RuntimeGrants } from '../../src/access/access.ts';
import { senderGroups, senderRoles } from '../../src/access/identity.ts';
import { matchIntentPattern } from '../../src/policy/match.ts';
import type { Intent, Level, Tenant } from '../../src/policy/types.ts';

const origin = { file: 'acme/tenant.yaml', version: 'test' };

function intent(name: string, level: Level, senders: string[], deny: string[] = []): Intent {
  return { name, tenant: 'acme', description: name, level, senders, deny, require: 'dmarc', limits: {}, steps: [], origin: { file: `acme/${name}.yaml`, version: 'test' } };
}

const intents = [
  intent('task.linear', 'create', ['@acme.example', 'role:developer']),
  intent('summary.analytics', 'read', ['role:analyst']),
  intent('export.data', 'read', ['@acme.example']),
  intent('public.contact', 'create', ['*']),
  intent('task.public', 'modify', ['*']),
  intent('ops.page', 'create', ['ops@partner.example', 'group:engineering'], ['mallory@acme.example']),
  intent('task.jira', 'create', ['@reader.example']),
  intent('approve.invoice', 'approve', ['role:approver']),
  intent('notes.add', 'create', ['@notes.example']),
  intent('closed.door', 'read', ['@acme.example'], ['*']),
];

const tenant: Tenant = {
  name: 'acme',
  domains: ['in.acme.example'],
  origin,
  defaults: { require: 'dmarc', limits: {}, trustedArcSealers: [] },
  groups: { engineering: ['@acme.example', 'ops@partner.example'], auditors: ['Audit@Extern.example'] },
  roles: {
    developer: { 'task.*': ['read', 'create'] },
    analyst: { 'summary.analytics': ['read'], 'export.data': ['deny'] },
    reader: { 'task.*': ['read'] },
    approver: { 'approve.*': ['approve'] },
    muted: { 'notes.add': [] },
  },
  members: {
    'alice@acme.example': ['developer'],
    'ana@acme.example': ['analyst'],
    '@reader.example': ['reader'],
    'erin@acme.example': ['approver'],
    'nora@notes.example': ['muted'],
  },
  keyFiles: [],
  intents: new Map(intents.map((i) => [i.name, i])),
};

function decide(intentName: string, sender: string | null, verified = true, grants?: RuntimeGrants): AccessDecision {
  const i = tenant.intents.get(intentName);
  assert.ok(i, intentName);
  return decideAccess({ tenant, intent: i, sender, verified, grants });
}

interface Case {
  name: string;
  intent: string;
  sender: string | null;
  verified?: boolean;
  grants?: RuntimeGrants;
  permitted: boolean;
  matchedBy: string | null;
  role: string | null;
  reason: string | RegExp;
}

const cases: Case[] = [
  {
    name: 'exact address allow',
    intent: 'ops.page', sender: 'ops@partner.example', permitted: true, matchedBy: 'ops@partner.example', role: null,
    reason: 'sender ops@partner.example may use intent ops.page (create): admitted by the allowlist entry "ops@partner.example", which grants the intent\'s level',
  },
  {
    name: '@domain allow, case-insensitive',
    intent: 'task.linear', sender: 'Bob@ACME.Example', permitted: true, matchedBy: '@acme.example', role: null,
    reason: /^sender bob@acme\.example may use intent task\.linear \(create\): admitted by the allowlist entry "@acme\.example"/,
  },
  { name: '@domain is exact: a subdomain does not match', intent: 'task.linear', sender: 'bob@evil.acme.example', permitted: false, matchedBy: null, role: null, reason: 'sender bob@evil.acme.example is not on the allowlist of intent task.linear' },
  { name: 'another domain does not match', intent: 'task.linear', sender: 'bob@acme.example.evil', permitted: false, matchedBy: null, role: null, reason: 'sender bob@acme.example.evil is not on the allowlist of intent task.linear' },
  { name: 'group allow', intent: 'ops.page', sender: 'carol@acme.example', permitted: true, matchedBy: 'group:engineering', role: null, reason: /admitted by the allowlist entry "group:engineering"/ },
  { name: 'role allow via members', intent: 'summary.analytics', sender: 'ana@acme.example', permitted: true, matchedBy: 'role:analyst', role: 'analyst', reason: /admitted by the allowlist entry "role:analyst"; role analyst grants read$/ },
  { name: 'role rule grants the level on a @domain match', intent: 'task.linear', sender: 'alice@acme.example', permitted: true, matchedBy: '@acme.example', role: 'developer', reason: /; role developer grants create$/ },
  { name: 'role that grants the approve level', intent: 'approve.invoice', sender: 'erin@acme.example', permitted: true, matchedBy: 'role:approver', role: 'approver', reason: /role approver grants approve/ },
  { name: 'no role, role: entry does not match', intent: 'approve.invoice', sender: 'bob@acme.example', permitted: false, matchedBy: null, role: null, reason: 'sender bob@acme.example is not on the allowlist of intent approve.invoice' },
  { name: 'explicit intent deny beats allow', intent: 'ops.page', sender: 'Mallory@acme.example', permitted: false, matchedBy: 'mallory@acme.example', role: null, reason: 'sender mallory@acme.example is denied intent ops.page by its deny entry "mallory@acme.example"' },
  { name: 'deny "*" refuses everyone', intent: 'closed.door', sender: 'alice@acme.example', permitted: false, matchedBy: '*', role: null, reason: 'sender alice@acme.example is denied intent closed.door by its deny entry "*"' },
  { name: 'role rule deny (analyst on export.data) beats the @domain allow', intent: 'export.data', sender: 'ana@acme.example', permitted: false, matchedBy: null, role: 'analyst', reason: 'role analyst denies intent export.data (rule "export.data")' },
  { name: 'level too low', intent: 'task.jira', sender: 'dan@reader.example', permitted: false, matchedBy: '@reader.example', role: null, reason: 'level too low: needs create, has [read]' },
  { name: 'roles restrict even a "*" intent', intent: 'task.public', sender: 'alice@acme.example', permitted: false, matchedBy: '*', role: null, reason: 'level too low: needs modify, has [read, create]' },
  { name: 'a rule with no permissions grants nothing', intent: 'notes.add', sender: 'nora@notes.example', permitted: false, matchedBy: '@notes.example', role: null, reason: 'level too low: needs create, has []' },
  { name: 'no rule mentions the intent: allowlist grants the level', intent: 'export.data', sender: 'alice@acme.example', permitted: true, matchedBy: '@acme.example', role: null, reason: /which grants the intent's level$/ },
  {
    name: 'unverified sender on an allowlisted address is denied',
    intent: 'task.linear', sender: 'alice@acme.example', verified: false, permitted: false, matchedBy: null, role: null,
    reason: 'sender alice@acme.example is not verified (DMARC did not pass), and the entry "@acme.example" of intent task.linear admits verified senders only',
  },
  { name: 'unverified sender cannot ride on a group entry', intent: 'ops.page', sender: 'carol@acme.example', verified: false, permitted: false, matchedBy: null, role: null, reason: /is not verified .* "group:engineering"/ },
  { name: 'unverified sender cannot use a claimed role', intent: 'approve.invoice', sender: 'erin@acme.example', verified: false, permitted: false, matchedBy: null, role: null, reason: /is not verified .* "role:approver"/ },
  { name: 'unverified and not listed at all', intent: 'task.linear', sender: 'x@other.example', verified: false, permitted: false, matchedBy: null, role: null, reason: 'sender x@other.example is not on the allowlist of intent task.linear' },
  {
    name: '"*" admits an unverified sender',
    intent: 'public.contact', sender: 'anyone@else.example', verified: false, permitted: true, matchedBy: '*', role: null,
    reason: 'unverified sender anyone@else.example may use intent public.contact (create): admitted by the allowlist entry "*", which grants the intent\'s level',
  },
  { name: 'an unverified sender still gets the restrictions of a claimed role', intent: 'task.public', sender: 'alice@acme.example', verified: false, permitted: false, matchedBy: '*', role: null, reason: 'level too low: needs modify, has [read, create]' },
  { name: 'an unverified sender is still refused by a deny entry', intent: 'ops.page', sender: 'mallory@acme.example', verified: false, permitted: false, matchedBy: 'mallory@acme.example', role: null, reason: /denied intent ops\.page/ },
  { name: 'no sender', intent: 'public.contact', sender: null, permitted: false, matchedBy: null, role: null, reason: 'no sender address: intent public.contact cannot be used anonymously' },
  { name: 'sender that is not an address', intent: 'public.contact', sender: 'Alice <alice@acme.example>', permitted: false, matchedBy: null, role: null, reason: 'sender "Alice <alice@acme.example>" is not a valid address' },
  // Run-time grants from the admin API.
  { name: 'run-time allow', intent: 'task.linear', sender: 'zed@other.example', grants: { allow: ['Zed@Other.example'], deny: [], roles: {} }, permitted: true, matchedBy: 'Zed@Other.example', role: null, reason: /admitted by the run-time allowlist entry "Zed@Other\.example"/ },
  { name: 'policy entries are tried before run-time ones', intent: 'task.linear', sender: 'bob@acme.example', grants: { allow: ['bob@acme.example'], deny: [], roles: {} }, permitted: true, matchedBy: '@acme.example', role: null, reason: /by the allowlist entry "@acme\.example"/ },
  { name: 'run-time allow does not admit an unverified sender', intent: 'task.linear', sender: 'zed@other.example', verified: false, grants: { allow: ['zed@other.example'], deny: [], roles: {} }, permitted: false, matchedBy: null, role: null, reason: /is not verified .* "zed@other\.example"/ },
  { name: 'run-time "*" admits an unverified sender', intent: 'task.linear', sender: 'zed@other.example', verified: false, grants: { allow: ['*'], deny: [], roles: {} }, permitted: true, matchedBy: '*', role: null, reason: /^unverified sender zed@other\.example may use .* run-time allowlist entry "\*"/ },
  { name: 'run-time deny beats the policy allow', intent: 'task.linear', sender: 'bob@acme.example', grants: { allow: [], deny: ['@acme.example'], roles: {} }, permitted: false, matchedBy: '@acme.example', role: null, reason: 'sender bob@acme.example is denied intent task.linear by the run-time deny entry "@acme.example"' },
  { name: 'run-time deny by group', intent: 'ops.page', sender: 'ops@partner.example', grants: { allow: [], deny: ['group:engineering'], roles: {} }, permitted: false, matchedBy: 'group:engineering', role: null, reason: /run-time deny entry "group:engineering"/ },
  { name: 'run-time role binding admits through role:', intent: 'approve.invoice', sender: 'zed@other.example', grants: { allow: [], deny: [], roles: { 'zed@other.example': ['approver'] } }, permitted: true, matchedBy: 'role:approver', role: 'approver', reason: /role approver grants approve$/ },
  { name: 'run-time role binding by group brings a role deny', intent: 'export.data', sender: 'bob@acme.example', grants: { allow: [], deny: [], roles: { 'group:engineering': ['analyst'] } }, permitted: false, matchedBy: null, role: 'analyst', reason: 'role analyst denies intent export.data (rule "export.data")' },
  { name: 'run-time deny by role', intent: 'task.linear', sender: 'alice@acme.example', grants: { allow: [], deny: ['role:developer'], roles: {} }, permitted: false, matchedBy: 'role:developer', role: null, reason: /run-time deny entry "role:developer"/ },
];

describe('decideAccess', () => {
  for (const c of cases) {
    test(c.name, () => {
      const d = decide(c.intent, c.sender, c.verified ?? true, c.grants);
      assert.equal(d.permitted, c.permitted, d.reason);
      assert.equal(d.matchedBy, c.matchedBy);
      assert.equal(d.role, c.role);
      if (typeof c.reason === 'string') assert.equal(d.reason, c.reason);
      else assert.match(d.reason, c.reason);
    });
  }

  test('the decision carries the sender groups and roles for the audit record', () => {
    const d = decide('task.linear', 'alice@acme.example');
    assert.deepEqual(d.groups, ['engineering']);
    assert.deepEqual(d.roles, ['developer']);
    const none = decide('task.linear', null);
    assert.deepEqual([none.groups, none.roles], [[], []]);
  });
});

describe('identity', () => {
  test('senderGroups: exact address (case-insensitive) or exact @domain', () => {
    assert.deepEqual(senderGroups(tenant, 'OPS@partner.example'), ['engineering']);
    assert.deepEqual(senderGroups(tenant, 'audit@extern.example'), ['auditors']);
    assert.deepEqual(senderGroups(tenant, 'x@partner.example'), []);
    assert.deepEqual(senderGroups(tenant, 'x@sub.acme.example'), []);
    assert.deepEqual(senderGroups(tenant, null), []);
    assert.deepEqual(senderGroups(tenant, 'not an address'), []);
  });

  test('senderRoles: members by address and @domain, then run-time bindings, unique', () => {
    assert.deepEqual(senderRoles(tenant, 'Alice@acme.example'), ['developer']);
    assert.deepEqual(senderRoles(tenant, 'dan@reader.example'), ['reader']);
    assert.deepEqual(senderRoles(tenant, 'bob@acme.example'), []);
    const grants: RuntimeGrants = { allow: [], deny: [], roles: { '@acme.example': ['approver', 'developer'], 'group:engineering': ['reader'], 'other@x.example': ['analyst'] } };
    assert.deepEqual(senderRoles(tenant, 'alice@acme.example', grants), ['developer', 'approver', 'reader']);
    assert.deepEqual(senderRoles(tenant, null, grants), []);
  });
});

describe('matchIntentPattern', () => {
  const table: Array<[string, string, boolean]> = [
    ['task.*', 'task.linear', true],
    ['task.*', 'task.linear.sub', true],
    ['task.*', 'task', false],
    ['task.*', 'tasks.linear', false],
    ['*', 'anything.at.all', true],
    ['export.data', 'export.data', true],
    ['Export.Data', 'export.data', true],
    ['export.data', 'export.database', false],
    ['*.linear', 'task.linear', false],
  ];
  for (const [pattern, name, expected] of table) {
    test(`${pattern} vs ${name}`, () => assert.equal(matchIntentPattern(pattern, name), expected));
  }
});
