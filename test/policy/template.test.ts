import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/core/limits.ts';
import {
  envReferences, prepareParams, renderParams, renderTemplate, resolveEnv, templateContext, templatePaths, templateSyntaxProblems,
} from '../../src/policy/template.ts';
import { facts } from './facts.ts';

const ctx = { steps: { webhook: { result: { id: 'ENG-123', n: 7, ok: true, list: ['a', 'b'] } } }, subject: 'Hi', address: { detail: null } };

describe('renderTemplate', () => {
  test('inserts values; missing → empty; objects → JSON', () => {
    assert.equal(renderTemplate('Created {{steps.webhook.result.id}}', ctx), 'Created ENG-123');
    assert.equal(renderTemplate('{{ subject }}/{{steps.webhook.result.n}}/{{steps.webhook.result.ok}}', ctx), 'Hi/7/true');
    assert.equal(renderTemplate('[{{nothing.here}}][{{address.detail}}]', ctx), '[][]');
    assert.equal(renderTemplate('{{steps.webhook.result.list}}', ctx), '["a","b"]');
    assert.equal(renderTemplate('{{steps.webhook.result.list.1}}', ctx), 'b');
  });
  test('leaves ${env.…} alone and does not rescan inserted values', () => {
    const c = { subject: '{{secret}} ${env.HOME}', secret: 'S3CRET' };
    assert.equal(renderTemplate('{{subject}} ${env.X}', c), '{{secret}} ${env.HOME} ${env.X}');
  });
  test('output is capped', () => {
    const big = 'x'.repeat(LIMITS.MAX_TEMPLATE_OUTPUT);
    assert.equal(renderTemplate('{{a}}{{a}}{{a}}', { a: big }).length, LIMITS.MAX_TEMPLATE_OUTPUT);
  });
});

describe('templates cannot run code or read prototypes', () => {
  const attacks = [
    '{{constructor}}', '{{constructor.constructor}}', '{{__proto__}}', '{{subject.constructor.name}}', '{{subject.length}}',
    '{{steps.__proto__.polluted}}', '{{steps.webhook.result.prototype}}', '{{toString}}', '{{hasOwnProperty}}',
    '{{constructor.constructor("return process")()}}', '{{#each steps}}x{{/each}}', '{{> partial}}', '{{subject | upper}}',
    '{{process.env.HOME}}', '{{globalThis.process}}', '{{subject.0}}',
  ];
  for (const t of attacks) {
    test(`${t} renders to nothing`, () => {
      const out = renderTemplate(`<${t}>`, ctx);
      assert.equal(out, t.includes('#each') ? '<x>' : '<>');
    });
  }
  test('renderParams does not let a __proto__ key change the prototype', () => {
    const params = JSON.parse('{"__proto__": {"polluted": "{{subject}}"}, "a": ["{{subject}}"]}') as Record<string, unknown>;
    const out = renderParams(params, ctx) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: 'Hi' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(out.a, ['Hi']);
  });
  test('logic in braces is a load-time problem', () => {
    assert.deepEqual(templateSyntaxProblems('Created {{steps.webhook.result.id}}'), []);
    assert.equal(templateSyntaxProblems('{{#if x}}y{{/if}}').length, 1);
    assert.equal(templateSyntaxProblems('{{a b}}').length, 1);
    assert.equal(templateSyntaxProblems('{{a').length, 1);
    assert.equal(templateSyntaxProblems('${HOME}').length, 1);
    assert.deepEqual(templatePaths('{{a.b}} and {{ c }}'), [['a', 'b'], ['c']]);
  });
});

describe('renderParams', () => {
  test('renders strings in nested objects and arrays, keeps other values', () => {
    const out = renderParams({ title: '{{subject}}', n: 3, deep: { list: ['{{steps.webhook.result.id}}', false, null] } }, ctx);
    assert.deepEqual(out, { title: 'Hi', n: 3, deep: { list: ['ENG-123', false, null] } });
  });
});

describe('environment references', () => {
  const params = { url: '${env.URL}', headers: { Authorization: 'Splunk ${env.TOKEN}' }, text: 'no ${env.lower_ok} here ${env.URL}' };
  test('envReferences lists each name once', () => {
    assert.deepEqual(envReferences(params), ['URL', 'TOKEN', 'lower_ok']);
  });
  test('resolveEnv fills values and reports missing ones', () => {
    const r = resolveEnv(params, { URL: 'https://x.example/hook', TOKEN: 't0k' });
    assert.deepEqual(r.value, { url: 'https://x.example/hook', headers: { Authorization: 'Splunk t0k' }, text: 'no  here https://x.example/hook' });
    assert.deepEqual(r.missing, ['lower_ok']);
  });
  test('resolveEnv does not read inherited properties of env', () => {
    assert.deepEqual(resolveEnv('${env.toString}', {}).missing, ['toString']);
  });
  test('prepareParams: a sender cannot make the router expand ${env.…}', () => {
    const c = { subject: 'leak ${env.SECRET} {{steps}}' };
    const r = prepareParams({ text: 'Re: {{subject}}', secret: '${env.SECRET}' }, c, { SECRET: 'hunter2' });
    assert.deepEqual(r.value, { text: 'Re: leak ${env.SECRET} {{steps}}', secret: 'hunter2' });
    assert.deepEqual(r.missing, []);
  });
});

describe('templateContext', () => {
  test('provides the documented roots from the facts', () => {
    const c = templateContext(facts(), { message: { id: 'm-1' }, intent: 'task.linear', tenant: 'acme' });
    assert.equal(renderTemplate('{{sender}} {{address.detail}} {{tags.0}} {{header.x-intent-action}} {{message.id}} {{intent}}', c),
      'alice@acme.example eng-12 urgent archive m-1 task.linear');
    assert.equal(renderTemplate('{{attachments.0.filename}} {{steps.webhook.result.id}}', c), 'bracket.STP ENG-123');
  });
});
