import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, renderStepParams } from '../../src/steps/render.ts';

const ctx = { subject: '<b>Hi</b> & "you"', tags: ['a', 'b'], size: 42, steps: { webhook: { result: { id: 'ENG-1', n: 3 } } }, sender: null };

describe('step parameter rendering', () => {
  test('a payload string that is one placeholder keeps the value type; others render as text', () => {
    const r = renderStepParams({ payload: { labels: '{{tags}}', size: '{{ size }}', title: 'T: {{subject}}', id: '{{steps.webhook.result.id}}', none: '{{steps.nope.result}}' } }, ctx, {});
    assert.deepEqual(r.params.payload, { labels: ['a', 'b'], size: 42, title: 'T: <b>Hi</b> & "you"', id: 'ENG-1', none: null });
  });

  test('html parameters escape every inserted value; text parameters do not', () => {
    const r = renderStepParams({ html: '<p>{{subject}}</p>', text: '{{subject}}' }, ctx, {});
    assert.equal(r.params.html, '<p>&lt;b&gt;Hi&lt;/b&gt; &amp; &quot;you&quot;</p>');
    assert.equal(r.params.text, '<b>Hi</b> & "you"');
    assert.equal(escapeHtml(`'`), '&#39;');
  });

  test('environment references resolve; unset ones are reported', () => {
    const r = renderStepParams({ url: '${env.HOOK}', secret: '${env.MISSING}', payload: { k: '${env.HOOK}/x' } }, ctx, { HOOK: 'https://h.example' });
    assert.equal(r.params.url, 'https://h.example');
    assert.deepEqual(r.missing, ['MISSING']);
    assert.deepEqual(r.params.payload, { k: 'https://h.example/x' });
  });

  test('a sender-controlled value is never rescanned for references', () => {
    const r = renderStepParams({ text: '{{subject}}', payload: { s: '{{subject}}' } }, { subject: '${env.SECRET} {{steps.x}}' }, { SECRET: 'hunter2' });
    assert.equal(r.params.text, '${env.SECRET} {{steps.x}}');
    assert.deepEqual(r.params.payload, { s: '${env.SECRET} {{steps.x}}' });
  });
});
