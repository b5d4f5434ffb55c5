import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderPolicySource } from '../../src/adapters/node/policy-folder.ts';
import { IntentmailError } from '../../src/core/errors.ts';
import { LIMITS } from '../../src/core/limits.ts';
import { gitBlobId } from '../../src/policy/blob.ts';
import { loadPolicies } from '../../src/policy/loader.ts';
import { readYaml } from '../../src/policy/yaml-source.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmail-policy-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('gitBlobId equals git hash-object', () => {
  const texts = ['', 'a', 'tenant: acme\n', 'Grüße ✓ 🚀\r\nline two\r\n', '\uFEFFintent: with.bom\n', 'no newline at end'];
  texts.forEach((text, i) => {
    test(`text ${i} (${JSON.stringify(text).slice(0, 24)})`, () => {
      const file = join(dir, `blob-${i}.txt`);
      writeFileSync(file, text, 'utf8');
      const git = execFileSync('git', ['hash-object', '--no-filters', file], { encoding: 'utf8' }).trim();
      assert.equal(gitBlobId(text), git);
    });
  });
  test('the loader records the blob id of each example file as its version', async () => {
    const root = fileURLToPath(new URL('../../intents', import.meta.url));
    const source = folderPolicySource(root);
    const { policy } = loadPolicies(await source.list(), root);
    const intent = policy!.tenants.get('acme')!.intents.get('task.linear')!;
    const git = execFileSync('git', ['hash-object', '--no-filters', join(root, intent.origin.file)], { encoding: 'utf8' }).trim();
    assert.equal(intent.origin.version, git);
    assert.equal(policy!.tenants.get('acme')!.origin.version, execFileSync('git', ['hash-object', '--no-filters', join(root, 'acme/tenant.yaml')], { encoding: 'utf8' }).trim());
  });
});

describe('folderPolicySource', () => {
  test('reads YAML recursively with relative / paths; skips dotfiles, node_modules and other files', async () => {
    const root = join(dir, 'intents');
    for (const d of ['acme', 'beta/nested', '.git', 'node_modules/x', 'acme/.hidden']) mkdirSync(join(root, d), { recursive: true });
    const files: Record<string, string> = {
      'acme/tenant.yaml': 'tenant: acme\n', 'acme/a.b.yml': 'x: 1\n', 'acme/README.md': '#', 'beta/nested/deep.YAML': 'y: 2\n',
      '.git/config.yaml': 'no', 'node_modules/x/p.yaml': 'no', 'acme/.hidden/h.yaml': 'no', 'acme/.dot.yaml': 'no',
    };
    for (const [p, t] of Object.entries(files)) writeFileSync(join(root, p), t);
    symlinkSync(join(root, 'acme/tenant.yaml'), join(root, 'beta/linked.yaml'));
    symlinkSync(join(root, 'acme'), join(root, 'beta/loop'));
    const source = folderPolicySource(root);
    assert.equal(source.location, root);
    const list = await source.list();
    assert.deepEqual(list.map((f) => f.path), ['acme/a.b.yml', 'acme/tenant.yaml', 'beta/linked.yaml', 'beta/nested/deep.YAML']);
    assert.equal(list.find((f) => f.path === 'beta/linked.yaml')?.text, 'tenant: acme\n');
  });
  test('a missing folder is a configuration error that names it', async () => {
    await assert.rejects(folderPolicySource(join(dir, 'nope')).list(), (e: unknown) => e instanceof IntentmailError && e.code === 'config_invalid' && e.message.includes('nope'));
  });
  test('an oversized file is read just past the limit, so the loader refuses it by name', async () => {
    const root = join(dir, 'big');
    mkdirSync(join(root, 'acme'), { recursive: true });
    writeFileSync(join(root, 'acme/tenant.yaml'), `# ${'x'.repeat(LIMITS.MAX_POLICY_FILE_BYTES * 2)}\n`);
    const list = await folderPolicySource(root).list();
    assert.equal(list[0].text.length, LIMITS.MAX_POLICY_FILE_BYTES + 1);
    const r = loadPolicies(list, root);
    assert.deepEqual(r.problems.map((p) => p.file), ['acme/tenant.yaml']);
    assert.match(r.problems[0].message, /at most/);
  });
});

describe('readYaml locates paths', () => {
  const text = [
    'intent: x',                          // 1
    'steps:',                             // 2
    '  - webhook:',                       // 3
    '      url: &u "https://a.example"',  // 4
    '      headers: { A: b, "C d": e }',  // 5
    '  - { reply: { text: hi } }',        // 6
    'other: *u',                          // 7
    'list: [one, two,',                   // 8
    '  three]',                           // 9
  ].join('\n');
  const src = readYaml('f.yaml', text);
  const table: [(string | number)[], number, number][] = [
    [[], 1, 1],
    [['intent'], 1, 1],
    [['steps', 0], 3, 5],
    [['steps', 0, 'webhook', 'url'], 4, 7],
    [['steps', 0, 'webhook', 'headers', 'C d'], 5, 24],
    [['steps', 1, 'reply', 'text'], 6, 16],
    [['other'], 7, 1],
    [['list', 2], 9, 3],
    [['steps', 0, 'webhook', 'missing'], 3, 5],
    [['steps', 7], 2, 1],
  ];
  for (const [path, line, column] of table) {
    test(`${path.join('.') || '(root)'} → ${line}:${column}`, () => assert.deepEqual(src.locate(path), { line, column }));
  }
  test('data is plain JS with aliases resolved', () => {
    assert.deepEqual(src.problems, []);
    assert.equal((src.data as Record<string, unknown>).other, 'https://a.example');
  });
});
