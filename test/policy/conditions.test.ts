import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/core/limits.ts';
import { parseCondition } from '../../src/policy/condition-parse.ts';
import { evaluateCondition, factValue } from '../../src/policy/conditions.ts';
import type { Condition } from '../../src/policy/types.ts';
import { facts } from './facts.ts';

/** Parses a condition as the loader does; fails the test on any issue. */
function cond(raw: unknown): Condition {
  const r = parseCondition(raw);
  assert.deepEqual(r.issues, []);
  return r.condition!;
}

function holds(raw: unknown, f = facts()): boolean {
  return evaluateCondition(cond(raw), f).result;
}

describe('every field, with a matching and a non-matching matcher', () => {
  // [field, matcher that matches facts(), matcher that does not]
  const table: [string, unknown, unknown][] = [
    ['sender', 'Alice@ACME.example', 'bob@acme.example'],
    ['sender.domain', '@acme.example', 'partner.example'],
    ['sender.group', 'Engineering', 'security'],
    ['sender.role', 'developer', 'analyst'],
    ['recipient', 'TASK.LINEAR+ENG-12@in.acme.example', 'task.linear@in.acme.example'],
    ['recipient.domain', 'in.acme.example', 'partner.example'],
    ['subject', 'Printer on fire #urgent', 'printer on fire #urgent'],
    ['subject.tag', '#URGENT', 'nis2'],
    ['header.X-Intent-Action', 'archive', 'Archive'],
    ['header.received', 'from b', 'from c'],
    ['label', 'Confidential', 'highly confidential'],
    ['attachment.type', 'model/step', 'application/pdf'],
    ['attachment.type', '.stp', '.dcm'],
    ['attachment.type', 'TXT', 'exe'],
    ['attachment.size', { gt: '25MB' }, { gt: '35MB' }],
    ['attachments.count', 2, { gte: 3 }],
    ['attachments.total_size', { gte: 35 * 1024 * 1024 + 1200 }, { lt: '35MB' }],
    ['body', { contains: 'floor 3' }, { contains: 'Floor 3' }],
    ['size', { lte: '48MB' }, { lt: '48MB' }],
    ['auth.spf', 'PASS', 'fail'],
    ['auth.dkim', { in: ['pass', 'none'] }, 'fail'],
    ['auth.dmarc', 'pass', { in: ['fail', 'temperror'] }],
    ['auth.arc', 'none', 'pass'],
    ['tls', true, false],
    ['key.smime', 'missing', 'present'],
    ['key.pgp', 'present', 'missing'],
    ['address.detail', 'eng-12', 'ENG-12'],
    ['steps.webhook.result.id', 'ENG-123', 'ENG-124'],
    ['steps.webhook.result.meta.count', { gt: 2 }, { gt: 3 }],
  ];
  for (const [field, yes, no] of table) {
    test(`${field}: ${JSON.stringify(yes)} matches, ${JSON.stringify(no)} does not`, () => {
      assert.equal(holds({ [field]: yes }), true);
      assert.equal(holds({ [field]: no }), false);
    });
  }
});

describe('matchers', () => {
  test('eq is the plain form; equality folds case only for addresses, domains, tags, labels and types', () => {
    assert.equal(holds({ sender: { eq: 'ALICE@acme.example' } }), true);
    assert.equal(holds({ subject: { eq: 'PRINTER ON FIRE #urgent' } }), false);
  });
  test('in: any listed value', () => {
    assert.equal(holds({ 'sender.domain': { in: ['partner.example', 'acme.example'] } }), true);
    assert.equal(holds({ 'sender.domain': { in: ['partner.example'] } }), false);
  });
  test('contains: substring, case-folded only for case-insensitive fields', () => {
    assert.equal(holds({ sender: { contains: 'ALICE' } }), true);
    assert.equal(holds({ subject: { contains: 'fire' } }), true);
    assert.equal(holds({ subject: { contains: 'FIRE' } }), false);
  });
  test('matches: a regular expression, /…/i for case-insensitive', () => {
    assert.equal(holds({ subject: { matches: '^Printer\\b' } }), true);
    assert.equal(holds({ subject: { matches: '/^printer/i' } }), true);
    assert.equal(holds({ subject: { matches: '^printer' } }), false);
    assert.equal(holds({ 'attachment.type': { matches: '^model/' } }), true);
  });
  test('matches reads at most MAX_MATCH_INPUT characters', () => {
    const body = `${'x'.repeat(LIMITS.MAX_MATCH_INPUT)}NEEDLE`;
    assert.equal(holds({ body: { matches: 'NEEDLE' } }, facts({ body })), false);
    assert.equal(holds({ body: { contains: 'NEEDLE' } }, facts({ body })), true);
  });
  test('gt, gte, lt, lte compare numbers; sizes are normalised', () => {
    assert.equal(holds({ 'attachment.size': { gte: '35MB' } }), true);
    assert.equal(holds({ 'attachment.size': { gt: '35MB' } }), false);
    assert.equal(holds({ 'attachment.size': { lt: 36 * 1024 * 1024 } }), true);
    assert.equal(holds({ 'attachment.size': { lte: '34MB' } }), false);
    assert.equal(holds({ 'steps.webhook.result.id': { gt: 1 } }), false, 'a text never compares as a number');
  });
  test('exists: true and false', () => {
    assert.equal(holds({ 'header.X-Intent-Action': { exists: true } }), true);
    assert.equal(holds({ 'header.X-Missing': { exists: true } }), false);
    assert.equal(holds({ 'header.X-Missing': { exists: false } }), true);
    assert.equal(holds({ 'address.detail': { exists: false } }, facts({ addressDetail: null })), true);
    assert.equal(holds({ label: { exists: false } }, facts({ labels: [] })), true);
  });
  test('a missing field matches nothing but exists: false', () => {
    const none = facts({ attachments: [], sender: null, addressDetail: null, labels: [] });
    for (const raw of [
      { 'attachment.size': { lt: '1GB' } },
      { 'attachment.type': { matches: '.*' } },
      { sender: { contains: '' } },
      { 'address.detail': { in: ['', 'x'] } },
      { label: { contains: '' } },
      { 'header.X-None': { matches: '^' } },
      { 'steps.nothing.result': { exists: true } },
    ]) {
      assert.equal(holds(raw, none), false, JSON.stringify(raw));
    }
    assert.equal(holds({ not: { 'attachment.size': { lt: '1GB' } } }, none), true);
  });
  test('multi-valued fields match when any value does', () => {
    const f = facts({ senderGroups: ['finance', 'security'], subjectTags: ['nis2', 'urgent'] });
    assert.equal(holds({ 'sender.group': 'security' }, f), true);
    assert.equal(holds({ 'subject.tag': { in: ['nis2'] } }, f), true);
    assert.equal(holds({ 'header.received': { matches: 'b$' } }, f), true);
  });
  test('attachments.count is 0 (present) without attachments; attachment.size is missing', () => {
    const none = facts({ attachments: [] });
    assert.equal(holds({ 'attachments.count': 0 }, none), true);
    assert.equal(holds({ 'attachment.size': { exists: false } }, none), true);
    assert.equal(factValue('attachments.total_size', none), 0);
  });
});

describe('all, any, not and the trace', () => {
  test('combinators and a full trace', () => {
    const c = cond({ all: [{ 'attachment.size': { gt: '25MB' } }, { any: [{ 'recipient.domain': 'partner.example' }, { not: { tls: false } }] }] });
    const t = evaluateCondition(c, facts());
    assert.equal(t.result, true);
    assert.equal(t.kind, 'all');
    assert.deepEqual(t.children?.[0], { kind: 'leaf', result: true, field: 'attachment.size', op: 'gt', expected: 25 * 1024 ** 2, actual: 35 * 1024 ** 2 });
    const any = t.children?.[1];
    assert.equal(any?.kind, 'any');
    assert.deepEqual(any?.children?.map((x) => x.result), [false, true]);
    assert.equal(any?.children?.[1].kind, 'not');
  });
  test('long values are shortened in the trace', () => {
    const body = 'y'.repeat(10_000);
    const t = evaluateCondition(cond({ body: { contains: 'z' } }), facts({ body }));
    assert.equal((t.actual as string).length, LIMITS.MAX_TRACE_VALUE_CHARS + 1);
  });
});

describe('factValue', () => {
  test('reads the fields from the facts', () => {
    const f = facts();
    assert.equal(factValue('sender.domain', f), 'acme.example');
    assert.deepEqual(factValue('attachment.type', f), ['model/step', 'stp', 'text/plain', 'txt']);
    assert.equal(factValue('attachment.size', f), 35 * 1024 * 1024);
    assert.deepEqual(factValue('header.Received', f), ['from a', 'from b']);
    assert.equal(factValue('steps.webhook.result.meta.count', f), 3);
  });
  test('never reaches prototypes', () => {
    const f = facts();
    assert.deepEqual(factValue('header.__proto__', f), []);
    assert.deepEqual(factValue('header.constructor', f), []);
    assert.equal(factValue('steps.webhook.result.constructor', f), undefined);
    assert.equal(factValue('steps.webhook.result.__proto__', f), undefined);
    assert.equal(factValue('steps.toString.result', f), undefined);
  });
});

describe('load-time refusals', () => {
  const bad: [unknown, (string | number)[], RegExp][] = [
    [{ 'sender.phone': 'x' }, ['sender.phone'], /unknown condition field/],
    [{ subject: { matches: '(a+)+$' } }, ['subject', 'matches'], /exponential/],
    [{ subject: { matches: '(\\w*\\s?)*x' } }, ['subject', 'matches'], /exponential/],
    [{ subject: { matches: '([a-z]{2,})+' } }, ['subject', 'matches'], /exponential/],
    [{ subject: { matches: '[' } }, ['subject', 'matches'], /invalid regular expression/],
    [{ subject: { matches: '/x/g' } }, ['subject', 'matches'], /flags/],
    [{ subject: { gt: 3 } }, ['subject', 'gt'], /does not apply/],
    [{ 'attachment.size': { gt: '25XB' } }, ['attachment.size', 'gt'], /unknown unit/],
    [{ 'auth.dmarc': 'passed' }, ['auth.dmarc'], /expected one of/],
    [{ 'key.smime': 'yes' }, ['key.smime'], /present, missing/],
    [{ tls: 'yes' }, ['tls'], /true or false/],
    [{ 'attachments.count': -1 }, ['attachments.count'], /non-negative/],
    [{ label: { exists: 'yes' } }, ['label', 'exists'], /true or false/],
    [{ label: { in: [] } }, ['label', 'in'], /non-empty/],
    [{ label: { eq: 1, in: [1] } }, ['label'], /one of/],
    [{ all: [] }, ['all'], /non-empty list/],
    [{ all: [{ tls: true }, { 'no.such': 1 }] }, ['all', 1, 'no.such'], /unknown condition field/],
    [{ not: { any: [{ bogus: 1 }] } }, ['not', 'any', 0, 'bogus'], /unknown condition field/],
    [{ sender: 'a@b.example', tls: true }, [], /one key/],
    ['tls', [], /one key/],
  ];
  for (const [raw, path, message] of bad) {
    test(`${JSON.stringify(raw)} is refused at ${path.join('.') || '(root)'}`, () => {
      const r = parseCondition(raw);
      assert.equal(r.condition, null);
      assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
      assert.deepEqual(r.issues[0].path, path);
      assert.match(r.issues[0].message, message);
    });
  }
  test('harmless patterns with quantified groups are accepted', () => {
    for (const p of ['^(ENG|OPS)-\\d+$', '(ab)+', '(\\d{2})+', '[(a+)+]', '\\(a+\\)+', '(?:x|y)?z+']) {
      assert.deepEqual(parseCondition({ subject: { matches: p } }).issues, [], p);
    }
  });
});
