/**
 * The command line as an operator runs it (a child process on the pinned Node): policy
 * validate, simulate on the README's samples, configuration refusals that name the variable.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePolicyFolder } from '../helpers/router.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'src/cli/main.ts');

function cli(args: string[], env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'intentmail-cli-'));
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', INTENTMAIL_DATA_DIR: dataDir, INTENTMAIL_DNS_SERVERS: '127.0.0.1:9', INTENTMAIL_DNS_TIMEOUT_MS: '200', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('intentmail policy validate', () => {
  test('the shipped example tenant is valid', () => {
    const r = cli(['policy', 'validate', 'intents']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^acme: in\.acme\.example/m);
    assert.match(r.stdout, /ok: 1 tenant\(s\)/);
  });

  test('a bad file is named with line and field, exit 1', () => {
    const dir = writePolicyFolder({
      'acme/tenant.yaml': 'tenant: acme\ndomains: [in.acme.example]\n',
      'acme/task.linear.yaml': 'intent: task.linear\nsenders: ["@acme.example"]\nsteps:\n  - webhook:\n      url: "https://x.example/hook"\n      retries: 3\n',
    });
    const r = cli(['policy', 'validate', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /acme\/task\.linear\.yaml:6:\d+: steps\.0\.webhook\.retries: /);
  });

  test('policy schema exports JSON Schemas', () => {
    const r = cli(['policy', 'schema']);
    assert.equal(r.code, 0, r.stderr);
    const schemas = JSON.parse(r.stdout);
    assert.ok(schemas.tenant && schemas.intent);
  });
});

describe('intentmail simulate', () => {
  const zone = { INTENTMAIL_DNS_ZONE: join(ROOT, 'examples/dns/zone.yaml') };

  test('the README sample: authenticated, allowlisted, the steps that would run', () => {
    const r = cli(['simulate', 'examples/mail/ticket.eml', '--to', 'task.linear@in.acme.example', '--from', 'alice@acme.example', '--ip', '127.0.0.1', '--helo', 'mail.acme.example'], zone);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SPF pass/);
    assert.match(r.stdout, /DKIM pass/);
    assert.match(r.stdout, /DMARC pass/);
    assert.match(r.stdout, /Access\s+permitted/);
    assert.match(r.stdout, /webhook/);
    assert.match(r.stdout, /Decision\s+250 2\.6\.0/);
  });

  test('--json gives the machine-readable report', () => {
    const r = cli(['simulate', 'examples/mail/ticket.eml', '--to', 'task.linear@in.acme.example', '--from', 'alice@acme.example', '--ip', '127.0.0.1', '--json'], zone);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.accepted, true);
    assert.equal(report.auth.dmarc.result, 'pass');
    assert.equal(report.access.permitted, true);
    assert.ok(report.plan.steps.length > 0);
  });

  test('the spoofed CEO sample is refused with 550 5.7.26 and says why', () => {
    const r = cli(['simulate', 'examples/mail/spoofed-ceo.eml', '--to', 'task.linear@in.acme.example', '--from', 'ceo@acme.example', '--ip', '203.0.113.9'], zone);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Decision\s+550 5\.7\.26/);
    assert.match(r.stdout, /DMARC fail/);
  });

  test('the analyst export sample is refused by the role deny', () => {
    const r = cli(['simulate', 'examples/mail/export-denied.eml', '--to', 'export.data@in.acme.example', '--from', 'bob@acme.example', '--ip', '127.0.0.1'], zone);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Decision\s+550 5\.7\.1/);
  });

  test('an unknown intent is refused at RCPT', () => {
    const r = cli(['simulate', 'examples/mail/ticket.eml', '--to', 'nope@in.acme.example'], zone);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /550 5\.1\.1/);
  });
});

describe('configuration is validated before anything starts', () => {
  test('a bad variable is named', () => {
    const r = cli(['serve'], { INTENTMAIL_SMTP_PORT: 'not-a-port' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INTENTMAIL_SMTP_PORT/);
  });

  test('a bad master key is named', () => {
    const r = cli(['serve'], { INTENTMAIL_MASTER_KEY: 'c2hvcnQ=' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INTENTMAIL_MASTER_KEY/);
  });

  test('a broken policy folder stops serve with file:line', () => {
    const dir = writePolicyFolder({ 'acme/tenant.yaml': 'tenant: acme\ndomains: in.acme.example\n' });
    const r = cli(['serve', '--intents', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /acme\/tenant\.yaml:2:\d+: domains/);
  });

  test('unknown command exits 2 with usage', () => {
    const r = cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: intentmail/);
  });
});
