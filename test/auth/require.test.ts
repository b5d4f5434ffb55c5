/**
 * enforceRequire's rules on constructed outcomes (the end-to-end cases are in dmarc,
 * arc-forwarding and temperror tests), and the Authentication-Results reader it relies on.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthResults } from '../../src/auth/auth-results.ts';
import type { AuthOutcome } from '../../src/auth/authenticate.ts';
import { enforceRequire } from '../../src/auth/require.ts';
import type { RequireMode } from '../../src/policy/types.ts';

type Patch = {
  spf?: Partial<AuthOutcome['spf']>;
  dkim?: string;
  dmarc?: Partial<AuthOutcome['dmarc']>;
  arc?: Partial<AuthOutcome['arc']>;
};

/** A message from alice@acme.example; by default everything failed under p=reject. */
function outcome(patch: Patch = {}): AuthOutcome {
  const dkimResult = patch.dkim ?? 'none';
  return {
    spf: { result: 'fail', domain: 'acme.example', ...patch.spf },
    dkim: { result: dkimResult, signatures: dkimResult === 'none' ? [] : [{ domain: 'mailer.example', selector: 's1', result: dkimResult, aligned: false, algorithm: 'rsa-sha256' }] },
    dmarc: { result: 'fail', policy: 'reject', domain: 'acme.example', ...patch.dmarc },
    arc: { result: 'none', sealer: null, authResults: null, ...patch.arc },
    headerFrom: 'alice@acme.example',
    authenticationResults: 'Authentication-Results: mx.test; none\r\n',
    temporary: [patch.spf?.result, dkimResult, patch.dmarc?.result, patch.arc?.result].includes('temperror'),
    reason: 'constructed',
  };
}

const arcPass = (authResults: string, sealer = 'lists.example') => ({ result: 'pass', sealer, authResults });
const trusted = { trustedArcSealers: ['lists.example'] };
const nobody: { trustedArcSealers: string[] } = { trustedArcSealers: [] };

function decide(mode: RequireMode, o: AuthOutcome, opts = nobody) {
  const v = enforceRequire(mode, o, opts);
  return [v.verdict.status, v.code, v.verified, v.via];
}

describe('enforceRequire', () => {
  test('DMARC pass verifies for every mode that it satisfies', () => {
    const o = outcome({ spf: { result: 'pass' }, dmarc: { result: 'pass' } });
    assert.deepEqual(decide('dmarc', o), ['pass', null, true, 'dmarc']);
    assert.deepEqual(decide('spf', o), ['pass', null, true, 'dmarc']);
    assert.deepEqual(decide('dkim', o), ['fail', 'auth_dkim_failed', true, 'dmarc'], 'verified, but no DKIM signature passed');
  });

  test('require dkim accepts a passing signature of any domain; require spf needs spf=pass', () => {
    const thirdParty = outcome({ dkim: 'pass', dmarc: { result: 'none', policy: null } });
    assert.deepEqual(decide('dkim', thirdParty), ['pass', null, false, null]);
    assert.deepEqual(decide('spf', outcome({ spf: { result: 'softfail' }, dmarc: { result: 'none', policy: null } })), ['fail', 'auth_spf_failed', false, null]);
    assert.deepEqual(decide('spf', outcome({ spf: { result: 'pass' }, dmarc: { result: 'none', policy: null } })), ['pass', null, false, null]);
  });

  test('an enforcing DMARC failure beats any mode; p=none does not', () => {
    for (const mode of ['dmarc', 'dkim', 'spf', 'none'] as const) {
      assert.equal(enforceRequire(mode, outcome({ spf: { result: 'pass' }, dkim: 'pass' }), nobody).code, 'auth_dmarc_failed', mode);
      assert.equal(enforceRequire(mode, outcome({ spf: { result: 'pass' }, dkim: 'pass', dmarc: { policy: 'quarantine' } }), nobody).code, 'auth_dmarc_failed', mode);
    }
    assert.deepEqual(decide('none', outcome({ dmarc: { policy: 'none' } })), ['pass', null, false, null]);
    assert.deepEqual(decide('spf', outcome({ spf: { result: 'pass' }, dmarc: { policy: 'none' } })), ['pass', null, false, null]);
  });

  test('trusted ARC override needs a passing chain, a trusted newest sealer, and dmarc=pass for the same From domain', () => {
    const good = 'i=1; lists.example; dkim=pass header.d=acme.example; dmarc=pass (p=reject) header.from=Acme.Example';
    assert.deepEqual(decide('dmarc', outcome({ arc: arcPass(good) }), trusted), ['pass', null, true, 'arc']);
    assert.deepEqual(decide('none', outcome({ arc: arcPass(good) }), { trustedArcSealers: ['LISTS.example.'] }), ['pass', null, true, 'arc']);
    assert.deepEqual(decide('dmarc', outcome({ dmarc: { result: 'none', policy: null }, arc: arcPass(good) }), trusted), ['pass', null, true, 'arc']);

    assert.equal(enforceRequire('dmarc', outcome({ arc: arcPass(good) }), nobody).code, 'auth_dmarc_failed', 'untrusted sealer');
    assert.equal(enforceRequire('dmarc', outcome({ arc: arcPass(good, 'sub.lists.example') }), trusted).code, 'auth_dmarc_failed', 'a subdomain of a trusted sealer is another sealer');
    assert.equal(enforceRequire('dmarc', outcome({ arc: { ...arcPass(good), result: 'fail' } }), trusted).code, 'auth_dmarc_failed', 'broken chain');
    assert.equal(enforceRequire('dmarc', outcome({ arc: arcPass('i=1; lists.example; dmarc=fail header.from=acme.example') }), trusted).code, 'auth_dmarc_failed');
    assert.equal(enforceRequire('dmarc', outcome({ arc: arcPass('i=1; lists.example; dmarc=pass header.from=other.example') }), trusted).code, 'auth_dmarc_failed');
    assert.equal(enforceRequire('dmarc', outcome({ arc: arcPass('i=1; lists.example; dkim=pass (dmarc=pass header.from=acme.example)') }), trusted).code, 'auth_dmarc_failed', 'text in a comment is not a result');
  });

  test('temperrors that could change the decision give auth_temporary; ones that cannot do not', () => {
    // DMARC itself unknown: the policy might be reject.
    assert.equal(enforceRequire('none', outcome({ dmarc: { result: 'temperror', policy: null } }), nobody).code, 'auth_temporary');
    // p=reject failure while DKIM or SPF timed out: the identifier might have aligned.
    assert.equal(enforceRequire('none', outcome({ dkim: 'temperror' }), nobody).code, 'auth_temporary');
    assert.equal(enforceRequire('dmarc', outcome({ spf: { result: 'temperror' } }), nobody).code, 'auth_temporary');
    // p=none failure with a timeout under require none: accepted unverified either way.
    assert.deepEqual(decide('none', outcome({ spf: { result: 'temperror' }, dmarc: { policy: 'none' } })), ['pass', null, false, null]);
    // ...but require dmarc could have been satisfied: retry.
    assert.equal(enforceRequire('dmarc', outcome({ spf: { result: 'temperror' }, dmarc: { policy: 'none' } }), nobody).code, 'auth_temporary');
    // ARC could have vouched (trusted sealer, or the chain unreadable).
    assert.equal(enforceRequire('dmarc', outcome({ arc: { result: 'temperror', sealer: 'lists.example' } }), trusted).code, 'auth_temporary');
    assert.equal(enforceRequire('dmarc', outcome({ arc: { result: 'temperror', sealer: 'random.example' } }), trusted).code, 'auth_dmarc_failed', 'an untrusted sealer could not have helped');
    // A DMARC pass is decided: other timeouts do not matter for dmarc/none...
    assert.deepEqual(decide('dmarc', outcome({ dmarc: { result: 'pass' }, dkim: 'temperror' })), ['pass', null, true, 'dmarc']);
    // ...but the mode's own check does.
    assert.equal(enforceRequire('dkim', outcome({ dmarc: { result: 'pass' }, dkim: 'temperror' }), nobody).code, 'auth_temporary');
    assert.equal(enforceRequire('spf', outcome({ dmarc: { result: 'pass' }, spf: { result: 'temperror' } }), nobody).code, 'auth_temporary');
  });
});

describe('parseAuthResults', () => {
  test('reads instance, authserv-id, results and properties; comments and quotes are handled', () => {
    const parsed = parseAuthResults(
      'i=2; mx.lists.example 1;\r\n dkim=pass (good; "signature") header.d=acme.example header.b="ab;c";\r\n spf=none; DMARC=Pass (p=reject) header.from=acme.example',
    );
    assert.equal(parsed.instance, 2);
    assert.equal(parsed.authservId, 'mx.lists.example');
    assert.deepEqual(parsed.entries, [
      { method: 'dkim', result: 'pass', props: { 'header.d': 'acme.example', 'header.b': 'ab;c' } },
      { method: 'spf', result: 'none', props: {} },
      { method: 'dmarc', result: 'pass', props: { 'header.from': 'acme.example' } },
    ]);
  });

  test('a plain A-R value, "none", and garbage do not throw', () => {
    assert.deepEqual(parseAuthResults('mx.example; none'), { instance: null, authservId: 'mx.example', entries: [] });
    assert.deepEqual(parseAuthResults('"quoted id"; arc=pass').authservId, 'quoted id');
    assert.doesNotThrow(() => parseAuthResults('((((;;;"""=== \\'));
    assert.deepEqual(parseAuthResults('').entries, []);
  });
});
