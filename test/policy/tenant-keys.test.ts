/**
 * tenant.yaml `keys:` (extension): key files inside the tenant folder, passwords only from the
 * environment; anything else is a located problem.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicies } from '../../src/policy/loader.ts';

const tenant = (keys: string) => `tenant: acme\ndomains: [in.acme.example]\nkeys:\n${keys}`;

test('key files load with their password variable', () => {
  const r = loadPolicies([{ path: 'acme/tenant.yaml', text: tenant('  - file: keys/signing.p12\n    password: "${env.ACME_P12_PASSWORD}"\n  - file: partners/bob.cer\n') }], 'intents', { ACME_P12_PASSWORD: 'x' });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.policy?.tenants.get('acme')?.keyFiles, [{ path: 'keys/signing.p12', passwordEnv: 'ACME_P12_PASSWORD' }, { path: 'partners/bob.cer' }]);
});

test('an inline password is refused at its line', () => {
  const r = loadPolicies([{ path: 'acme/tenant.yaml', text: tenant('  - file: keys/signing.p12\n    password: hunter2\n') }], 'intents');
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].line, 5);
  assert.equal(r.problems[0].field, 'keys.0.password');
  assert.match(r.problems[0].message, /environment/);
});

test('a path leaving the tenant folder is refused', () => {
  for (const file of ['../other/key.pem', '/etc/ssl/private/key.pem']) {
    const r = loadPolicies([{ path: 'acme/tenant.yaml', text: tenant(`  - file: "${file}"\n`) }], 'intents');
    assert.equal(r.problems.length, 1, file);
    assert.equal(r.problems[0].field, 'keys.0.file');
  }
});
