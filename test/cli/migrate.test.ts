/**
 * `intentmail migrate` applies the migrations once; a second run applies none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { testStoreOptions } from '../helpers/db.ts';

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;

test('migrate applies pending migrations, then none', async () => {
  const db = await testStoreOptions();
  try {
    const env = { PATH: process.env.PATH ?? '', INTENTMAIL_DATA_DIR: db.dataDir, ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}) };
    const first = spawnSync(process.execPath, [CLI, 'migrate'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(first.status, 0, first.stderr);
    const applied = Number(/migrations applied: (\d+)/.exec(first.stdout)?.[1]);
    assert.ok(applied >= 1, first.stdout);
    const second = spawnSync(process.execPath, [CLI, 'migrate'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /migrations applied: 0/);
  } finally {
    await db.cleanup();
  }
});
