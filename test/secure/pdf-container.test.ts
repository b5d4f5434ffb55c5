/**
 * Password PDF containers against qpdf and poppler: AES-256 revision 6 in a PDF 2.0 file, opened
 * with the password and refused without it, the attachment extracted byte-identical by both
 * tools, the body readable as text, and nothing of the message readable in the file itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPdfContainer, containerContentOf, wrapPdfMessage } from '../../src/secure/pdf-container.ts';
import { generatePassword, headerPasswordProblem, passwordFromSeed } from '../../src/secure/passwords.ts';
import { needs, run, Workdir } from './helpers/tools.ts';

const attachment = randomBytes(300 * 1024);
const message = Buffer.from(
  [
    'From: lab@lab.acme.example',
    'To: dr.who@clinic.example',
    'Subject: Befund Müller #NIS2',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="B"',
    '',
    '--B',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Dear colleague,</p><p>the <b>Befund</b> for Frau Müller is attached. Größe: 3 cm.</p><script>alert(1)</script>',
    '--B',
    'Content-Type: application/octet-stream; name="befund.dcm"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="befund.dcm"',
    '',
    attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
    '--B--',
    '',
  ].join('\r\n'),
);

let dir: Workdir;
let pdfPath: string;
let password: string;
let pdf: Uint8Array;

before(async () => {
  dir = new Workdir();
  password = generatePassword();
  pdf = await buildPdfContainer(await containerContentOf(message), password, new Date());
  pdfPath = dir.file('container.pdf', pdf);
});
after(() => dir.remove());

describe('the encrypted container', () => {
  test('is PDF 2.0 with the AES-256 revision 6 security handler', needs('qpdf'), () => {
    assert.equal(Buffer.from(pdf.subarray(0, 8)).toString('latin1'), '%PDF-2.0');
    const r = run('qpdf', [`--password=${password}`, '--show-encryption', pdfPath]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /R = 6/);
    assert.match(r.stdout.toString(), /stream encryption method: AESv3/);
    assert.match(r.stdout.toString(), /string encryption method: AESv3/);
  });

  test('qpdf --decrypt opens it with the password and refuses without or with a wrong one', needs('qpdf'), () => {
    const out = join(dir.path, 'open.pdf');
    assert.equal(run('qpdf', [`--password=${password}`, '--decrypt', pdfPath, out]).status, 0);
    const none = run('qpdf', ['--decrypt', pdfPath, join(dir.path, 'x.pdf')]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /invalid password/);
    assert.notEqual(run('qpdf', [`--password=${password}x`, '--decrypt', pdfPath, join(dir.path, 'y.pdf')]).status, 0);
  });

  test('the attachment comes out byte-identical through qpdf and pdfdetach', needs('qpdf', 'pdfdetach'), () => {
    const list = run('qpdf', [`--password=${password}`, '--list-attachments', pdfPath]);
    assert.match(list.stdout.toString(), /^befund\.dcm ->/m);
    const shown = run('qpdf', [`--password=${password}`, '--show-attachment=befund.dcm', pdfPath]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.ok(shown.stdout.equals(attachment));
    const saved = join(dir.path, 'saved.dcm');
    const detach = run('pdfdetach', ['-upw', password, '-save', '1', '-o', saved, pdfPath]);
    assert.equal(detach.status, 0, detach.stderr);
    assert.ok(readFileSync(saved).equals(attachment));
    assert.notEqual(run('pdfdetach', ['-list', pdfPath]).status, 0);
  });

  test('the HTML body is rendered as readable text; scripts are not', needs('pdftotext'), () => {
    const r = run('pdftotext', ['-upw', password, pdfPath, '-']);
    assert.equal(r.status, 0, r.stderr);
    const text = r.stdout.toString('utf8');
    assert.match(text, /Befund Müller #NIS2/);
    assert.match(text, /the Befund for Frau Müller is attached\. Größe: 3 cm\./);
    assert.match(text, /befund\.dcm \(application\/octet-stream, 307200 bytes\)/);
    assert.doesNotMatch(text, /alert\(1\)/);
  });

  test('nothing of the message is readable in the file: subject, names and text are encrypted', () => {
    const raw = Buffer.from(pdf).toString('latin1');
    for (const secret of ['Befund', 'befund.dcm', 'Müller', 'M\\374ller', 'colleague']) assert.equal(raw.includes(secret), false, secret);
  });
});

describe('the mail around it', () => {
  test('carries the routing fields, a note without the password, and the PDF; drops the password header', () => {
    const withHeader = Buffer.concat([Buffer.from('X-Password: Tr0ub4dor&3-correct-horse\r\n'), message]);
    const wrapped = wrapPdfMessage(withHeader, pdf, 'by SMS', ['X-Password']).toString('utf8');
    assert.match(wrapped, /^To: dr\.who@clinic\.example\r$/m);
    assert.match(wrapped, /^Subject: Befund Müller #NIS2\r$/m);
    assert.match(wrapped, /You receive the password separately \(by SMS\)/);
    assert.match(wrapped, /Content-Type: application\/pdf; name="protected-message.pdf"/);
    assert.doesNotMatch(wrapped, /X-Password|Tr0ub4dor/);
    assert.equal(wrapped.includes(password), false);
  });
});

describe('passwords', () => {
  test('generated passwords are four groups of five unambiguous characters, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      assert.match(p, /^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$/);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });

  test('a seed gives the same password every time, another seed another one', () => {
    const seed = randomBytes(64);
    assert.equal(passwordFromSeed(seed), passwordFromSeed(Buffer.from(seed)));
    assert.notEqual(passwordFromSeed(seed), passwordFromSeed(randomBytes(64)));
  });

  test('header passwords must be long and printable', () => {
    assert.match(headerPasswordProblem('short') ?? '', /shorter than 16/);
    assert.match(headerPasswordProblem('a-long-password-with\u0007bell') ?? '', /control characters/);
    assert.equal(headerPasswordProblem('Tr0ub4dor&3-correct-horse'), null);
  });
});
