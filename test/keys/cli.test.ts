/**
 * `intentmail keys` as an operator runs it (a child process on the pinned Node, the embedded
 * database in a temp data dir): import, list, remove, refusals with reasons and exit codes,
 * and the audit chain that covers every change.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY, makeCert, makeChain, makePkcs12 } from '../secure/helpers/pki.ts';
import { Workdir } from '../secure/helpers/tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'src/cli/main.ts');
let dataDir: string;
let files: Workdir;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', INTENTMAIL_DATA_DIR: dataDir, INTENTMAIL_DNS_SERVERS: '127.0.0.1:9', INTENTMAIL_LOG_LEVEL: 'error', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'intentmail-keys-cli-'));
  files = new Workdir();
});
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  files.remove();
});

describe('intentmail keys', () => {
  test('import, list, remove, with refusals named and audited', () => {
    const { ca, leaf } = makeChain('bob@example.org');
    const expired = makeCert({ cn: 'old', email: 'old@example.org', issuer: ca, notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const { ca: ourCa, leaf: ours } = makeChain('intentmail@in.acme.example');
    const p12 = files.file('ours.p12', makePkcs12(ours, [ourCa], 'pfx-secret'));

    // One import with good, expired and PKCS#12 material: the good ones go in, the refusal is named, exit 1.
    const imported = cli(['keys', 'import', '--tenant', 'acme', files.file('ca.pem', ca.pem), files.file('bob.cer', leaf.der), files.file('our-ca.pem', ourCa.pem), files.file('old.pem', expired.pem), p12, '--password', 'pfx-secret']);
    assert.equal(imported.code, 1, imported.stdout + imported.stderr);
    assert.match(imported.stdout, /^imported\s+x509_ca /m);
    assert.match(imported.stdout, /^imported\s+smime_cert [0-9a-f-]{36} bob@example.org /m);
    assert.match(imported.stdout, /^refused\s+old\.pem "CN=old.*": certificate "CN=old.*" expired on /m);
    assert.match(imported.stdout, /^imported\s+smime_identity .* intentmail@in\.acme\.example /m);

    const listed = cli(['keys', 'list', '--tenant', 'acme', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as { id: string; kind: string; addresses: string[]; hasSecret: boolean }[];
    assert.deepEqual(entries.map((e) => e.kind).sort(), ['smime_cert', 'smime_identity', 'x509_ca', 'x509_ca']);
    assert.equal(entries.find((e) => e.kind === 'smime_identity')?.hasSecret, true);
    const bob = entries.find((e) => e.kind === 'smime_cert')!;

    const removed = cli(['keys', 'remove', '--tenant', 'acme', bob.id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `removed ${bob.id}\n`);

    // simulate --keys: the README's ticket from alice takes the "no S/MIME certificate" branch (pdf_container,
    // password by SMS); with her number stored, the reply would leave as a password PDF, the password by SMS.
    assert.equal(cli(['keys', 'phone', '--tenant', 'acme', 'alice@acme.example', '+4917012345678']).code, 0);
    const sim = cli(['simulate', 'examples/mail/ticket.eml', '--to', 'task.linear@in.acme.example', '--from', 'alice@acme.example', '--ip', '127.0.0.1', '--helo', 'mail.acme.example', '--keys'], {
      INTENTMAIL_DNS_ZONE: join(ROOT, 'examples/dns/zone.yaml'),
    });
    assert.equal(sim.code, 0, sim.stdout + sim.stderr);
    assert.match(sim.stdout, /protection: applies to the outbound steps after it/);
    assert.match(sim.stdout, /protection: alice@acme\.example: password PDF \(AES-256\), password generated, by SMS to \+49170\*\*\*\*678/);

    const verify = cli(['audit', 'verify', '--tenant', 'acme']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // Seven key records: three imports, the CA again inside the PKCS#12 (updated), the identity, one refusal, one removal.
    assert.match(verify.stdout, /acme: 7 record\(s\)/);
  });

  test('usage errors: no tenant, unknown tenant', () => {
    assert.equal(cli(['keys', 'list']).code, 2);
    const unknown = cli(['keys', 'list', '--tenant', 'nosuch']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /tenant "nosuch" is not in the policy folder/);
  });
});
