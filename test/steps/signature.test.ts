import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { secretKey, signWebhook, verifyWebhook } from '../../src/steps/signature.ts';
import { SECRET, SECRET_2 } from './fixtures.ts';

const VECTOR = new URL('../../../shared/testdata/webhooks/standard-webhooks-v1-vector.json', import.meta.url);

describe('Standard Webhooks signatures', () => {
  test('the published v1 vector: same signature, and the flipped one is refused', { skip: existsSync(VECTOR) ? false : 'shared testdata not present' }, () => {
    const v = JSON.parse(readFileSync(VECTOR, 'utf8')) as Record<string, string | number>;
    const signature = signWebhook({ id: String(v['webhook-id']), timestamp: Number(v['webhook-timestamp']), body: String(v.payload), secrets: [String(v.secret)] });
    assert.equal(signature, v['expected_webhook-signature']);
    const at = new Date(Number(v['webhook-timestamp']) * 1000);
    const base = { id: String(v['webhook-id']), timestamp: String(v['webhook-timestamp']), body: String(v.payload), secrets: [String(v.secret)], now: at };
    assert.deepEqual(verifyWebhook({ ...base, signature }), { ok: true });
    assert.equal(verifyWebhook({ ...base, signature: String(v.negative_example_last_char_flipped) }).ok, false);
    assert.equal(verifyWebhook({ ...base, signature, body: `${v.payload} ` }).ok, false, 'a changed body fails');
    assert.equal(verifyWebhook({ ...base, signature, now: new Date(at.getTime() + 301_000) }).ok, false, 'outside the 5 minute tolerance');
  });

  test('key rotation: one signature per secret; a receiver knowing either accepts', () => {
    const input = { id: 'msg_1', timestamp: 1_700_000_000, body: '{"a":1}' };
    const header = signWebhook({ ...input, secrets: [SECRET, SECRET_2] });
    assert.equal(header.split(' ').length, 2);
    assert.ok(header.split(' ').every((s) => s.startsWith('v1,')));
    const now = new Date(1_700_000_000_000);
    for (const s of [SECRET, SECRET_2]) assert.equal(verifyWebhook({ id: 'msg_1', timestamp: '1700000000', body: '{"a":1}', signature: header, secrets: [s], now }).ok, true);
    assert.equal(verifyWebhook({ id: 'msg_1', timestamp: '1700000000', body: '{"a":1}', signature: header, secrets: ['whsec_' + Buffer.alloc(32, 7).toString('base64')], now }).ok, false);
  });

  test('secrets: whsec_ prefix optional, base64 required, at least 24 bytes', () => {
    assert.ok('key' in secretKey(SECRET));
    assert.ok('key' in secretKey(SECRET.slice(6)));
    assert.match((secretKey('whsec_not base64!') as { problem: string }).problem, /base64/);
    assert.match((secretKey('whsec_' + Buffer.alloc(8).toString('base64')) as { problem: string }).problem, /at least 24 bytes/);
  });
});
