/**
 * The parser threads give exactly what src/message/parse.ts gives on the main thread: text, HTML,
 * quoted-printable and base64 parts, attachments with their SHA-256, nested messages, and header
 * maps without a prototype (a header named `constructor` stays a header).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { buildMessage } from '../helpers/dkim.ts';
import { parseMessage } from '../../src/message/parse.ts';
import { startParsePool, type ParsePool } from '../../src/runner/parse-pool.ts';

const MAILPARSER = new URL('../../../shared/testdata/mime/mailparser/', import.meta.url);
let pool: ParsePool;

const samples: [string, Buffer][] = [
  ['plain', Buffer.from(buildMessage({ from: 'a@acme.example', to: 'b@in.acme.example', subject: 'Grüße #tag', text: 'line one\nline two\n'.repeat(300) }))],
  [
    'attachments',
    Buffer.from(
      buildMessage({
        from: 'a@acme.example',
        to: 'b@in.acme.example',
        subject: 'files',
        text: 'see attached',
        attachments: [
          { filename: 'a.txt', contentType: 'text/plain', content: 'hello' },
          { filename: 'b.bin', contentType: 'application/octet-stream', content: Buffer.alloc(5000, 7) },
        ],
      }),
    ),
  ],
  [
    'qp and odd headers',
    Buffer.from(
      'From: a@acme.example\r\nTo: b@in.acme.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nConstructor: x\r\n__proto__: y\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nsoft break\r\n',
    ),
  ],
];

describe('parser threads', () => {
  before(() => {
    pool = startParsePool(2);
  });
  after(() => pool.close());

  test('the same ParsedMessage as the main-thread parser', async () => {
    for (const [name, raw] of samples) {
      const here = await parseMessage(raw);
      const there = await pool.parse(new Uint8Array(raw));
      assert.deepEqual(there, here, name);
    }
  });

  test('header maps keep no prototype', async () => {
    const v = await pool.parse(new Uint8Array(samples[2][1]));
    assert.equal(Object.getPrototypeOf(v.detail!.headers), null);
    assert.deepEqual(v.detail!.headers.constructor, ['x']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v.detail!.headers, '__proto__')?.value, ['y']);
    assert.equal(v.detail!.subject, 'café');
  });

  test('the mailparser regression messages parse identically', { skip: existsSync(MAILPARSER) ? false : 'shared testdata not present' }, async () => {
    for (const file of readdirSync(MAILPARSER).filter((f) => f.endsWith('.eml'))) {
      const raw = readFileSync(new URL(file, MAILPARSER));
      assert.deepEqual(await pool.parse(new Uint8Array(raw)), await parseMessage(raw), file);
    }
  });
});
