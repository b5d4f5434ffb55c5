import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCondition } from '../../src/policy/condition-parse.ts';
import { evaluateCondition, factValue } from '../../src/policy/conditions.ts';
import { facts } from '../policy/facts.ts';

function holds(raw: unknown, steps: Record<string, { result: unknown }>): boolean {
  const parsed = parseCondition(raw);
  assert.deepEqual(parsed.issues, []);
  return evaluateCondition(parsed.condition!, facts({ steps })).result;
}

describe('the `signature` condition field', () => {
  const verified = (signature: string) => ({ verify_signature: { result: { check: 'signature', signature, kind: 'smime' } } });

  test('reads the result of the verify_signature step', () => {
    assert.equal(holds({ signature: 'valid' }, verified('valid')), true);
    assert.equal(holds({ signature: 'valid' }, verified('invalid')), false);
    assert.equal(holds({ signature: { in: ['invalid', 'none'] } }, verified('none')), true);
  });

  test('is absent until a verify_signature step ran: `valid` cannot hold for an unchecked message', () => {
    assert.equal(factValue('signature', facts()), undefined);
    assert.equal(holds({ signature: 'valid' }, {}), false);
    assert.equal(holds({ signature: { exists: false } }, {}), true);
  });

  test('ignores other step results that happen to carry a `signature` property', () => {
    assert.equal(holds({ signature: 'valid' }, { webhook: { result: { signature: 'valid' } } }), false);
  });

  test('the last verification counts (a later step re-checked the message)', () => {
    const steps = { first: { result: { check: 'signature', signature: 'invalid' } }, second: { result: { check: 'signature', signature: 'valid' } } };
    assert.equal(factValue('signature', facts({ steps })), 'valid');
  });

  test('the loader refuses values outside valid|invalid|none', () => {
    const parsed = parseCondition({ signature: 'good' });
    assert.notDeepEqual(parsed.issues, []);
  });
});
