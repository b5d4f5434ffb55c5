/**
 * Parsing into facts: subject tags, sensitivity labels, attachments (hashes checked against
 * node:crypto), HTML-only bodies, automation headers, and the address forms.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { LIMITS } from '../../src/core/limits.ts';
import { addressDomain, normalizeAddress, parseIntentAddress } from '../../src/message/address.ts';
import { buildFacts } from '../../src/message/facts.ts';
import { guardMessage } from '../../src/message/guard.ts';
import { htmlToText } from '../../src/message/html-text.ts';
import { parseMessage, subjectTags, type ParsedMessage } from '../../src/message/parse.ts';

const enc = new TextEncoder();

/** Parses a CRLF message after the guard, as the pipeline does, and returns its facts. */
async function parse(text: string): Promise<ParsedMessage> {
  const raw = enc.encode(text);
  const guard = guardMessage(raw);
  assert.equal(guard.status, 'pass', guard.reason);
  const verdict = await parseMessage(raw);
  assert.equal(verdict.status, 'pass', verdict.reason);
  return verdict.detail!;
}

/** Builds a message the way a real client does (nodemailer's composer: CRLF, base64, RFC 2231). */
async function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Uint8Array> {
  const node = new MailComposer(options).compile();
  const built = await new Promise<Buffer>((resolve, reject) => node.build((err, msg) => (err ? reject(err) : resolve(msg))));
  return new Uint8Array(built);
}

describe('subject tags', () => {
  const cases: Array<[string, string[]]> = [
    ['Printer on fire #urgent', ['urgent']],
    ['#NIS2 #urgent', ['nis2', 'urgent']],
    ['Stromausfall (#NIS2) #nis2, #Über-Last_2', ['nis2', 'über-last_2']],
    ['C# code, issue#12, ##double, # alone, #-dash, a-#b', []],
    ['', []],
  ];
  for (const [subject, tags] of cases) {
    test(JSON.stringify(subject), () => assert.deepEqual(subjectTags(subject), tags));
  }

  test('tags are read from the decoded subject (RFC 2047)', async () => {
    const m = await parse('From: a@example.com\r\nSubject: =?utf-8?q?Stromausfall_=23NIS2_=C3=BCber?=\r\n\r\nx\r\n');
    assert.equal(m.subject, 'Stromausfall #NIS2 über');
    assert.deepEqual(m.subjectTags, ['nis2']);
  });
});

describe('sensitivity labels', () => {
  test('Purview msip_labels: names of enabled labels, lower-case', async () => {
    const msip =
      'MSIP_Label_1c2a3b4d-0000-4000-8000-000000000001_Enabled=true;\r\n' +
      ' MSIP_Label_1c2a3b4d-0000-4000-8000-000000000001_SetDate=2025-01-01T00:00:00Z;\r\n' +
      ' MSIP_Label_1c2a3b4d-0000-4000-8000-000000000001_Method=Standard;\r\n' +
      ' MSIP_Label_1c2a3b4d-0000-4000-8000-000000000001_Name=Confidential;\r\n' +
      ' MSIP_Label_1c2a3b4d-0000-4000-8000-000000000001_SiteId=72f988bf-0000-0000-0000-000000000000;\r\n' +
      ' MSIP_Label_99999999-0000-4000-8000-000000000002_Enabled=false;\r\n' +
      ' MSIP_Label_99999999-0000-4000-8000-000000000002_Name=Public;';
    const m = await parse(`From: a@example.com\r\nSubject: q\r\nmsip_labels: ${msip}\r\n\r\nx\r\n`);
    assert.deepEqual(m.labels, ['confidential']);
  });

  test('X-Classification, Sensitivity, VS-NfD and TISAX', async () => {
    const cases: Array<[string, string[]]> = [
      ['X-Classification: Strictly   Confidential\r\n', ['strictly confidential']],
      ['Sensitivity: Company-Confidential\r\n', ['company-confidential']],
      ['X-Classification: VS-NfD\r\n', ['vs-nfd']],
      ['X-Classification: VS - Nur für den Dienstgebrauch\r\n', ['vs - nur für den dienstgebrauch', 'vs-nfd']],
      ['X-Classification: =?utf-8?q?VS_-_Nur_f=C3=BCr_den_Dienstgebrauch?=\r\n', ['vs - nur für den dienstgebrauch', 'vs-nfd']],
      ['X-TISAX-Classification: very   high\r\n', ['tisax', 'tisax:very high']],
      ['X-TISAX-Classification: sehr hoch\r\n', ['tisax', 'tisax:very high']],
      ['X-Classification: TISAX: high\r\n', ['tisax: high', 'tisax', 'tisax:high']],
      ['X-Classification: Internal\r\nX-Classification: internal\r\n', ['internal']],
      ['X-Classification: VSNfD-ish\r\n', ['vsnfd-ish']],
    ];
    for (const [header, labels] of cases) {
      const m = await parse(`From: a@example.com\r\nSubject: q\r\n${header}\r\nx\r\n`);
      assert.deepEqual(m.labels, labels, header);
    }
  });

  test('VS-NfD in the subject is a label; a word merely containing it is not', async () => {
    assert.deepEqual((await parse('Subject: [VS-NfD] Lagebericht\r\n\r\nx\r\n')).labels, ['vs-nfd']);
    assert.deepEqual((await parse('Subject: VS – NfD: Bericht\r\n\r\nx\r\n')).labels, ['vs-nfd']);
    assert.deepEqual((await parse('Subject: CVS-NfDx\r\n\r\nx\r\n')).labels, []);
  });
});

describe('attachments', () => {
  test('filename, type, size and sha256 of the decoded content', async () => {
    const pdf = randomBytes(70_000);
    const csv = Buffer.from('a;b\r\n1;2\r\n');
    const raw = await compose({
      from: 'Alice <alice@acme.example>',
      to: 'task.linear+ABC-12@in.acme.example',
      subject: 'files',
      text: 'see attached',
      attachments: [
        { filename: 'Prüfbericht 2025.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'data.csv', content: csv, contentType: 'text/csv' },
      ],
    });
    assert.equal(guardMessage(raw).status, 'pass');
    const verdict = await parseMessage(raw);
    assert.equal(verdict.status, 'pass', verdict.reason);
    const m = verdict.detail!;
    assert.deepEqual(m.attachments, [
      { filename: 'Prüfbericht 2025.pdf', mimeType: 'application/pdf', size: pdf.length, sha256: createHash('sha256').update(pdf).digest('hex') },
      { filename: 'data.csv', mimeType: 'text/csv', size: csv.length, sha256: createHash('sha256').update(csv).digest('hex') },
    ]);
    assert.equal(m.body.trim(), 'see attached');
    assert.equal(m.headerFrom, 'alice@acme.example');
    assert.equal(m.headerFromName, 'Alice');
    assert.deepEqual(m.to, ['task.linear+abc-12@in.acme.example']);
  });
});

describe('bodies', () => {
  test('an HTML-only message gets its body from the HTML, safely stripped', async () => {
    const html =
      '<html><head><title>T</title><style>p{color:red}</style></head><body>' +
      '<p>Hello&nbsp;<b>World</b> &amp; co &#8364;5 &#x41;</p><script>alert("x<p>")</script>' +
      '<!-- hidden --><div title="a>b">Line two</div><p>Tom&apos;s &unknown; &lt;tag&gt;</p></body></html>';
    const m = await parse(`From: a@example.com\r\nSubject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`);
    assert.equal(m.text, '');
    assert.equal(m.html?.trim(), html);
    assert.equal(m.body, "Hello World & co €5 A\n\nLine two\n\nTom's &unknown; <tag>");
  });

  test('a text part wins over HTML', async () => {
    const raw = await compose({ from: 'a@example.com', to: 'b@example.net', subject: 's', text: 'plain words', html: '<p>html words</p>' });
    const m = (await parseMessage(raw)).detail!;
    assert.equal(m.body.trim(), 'plain words');
    assert.match(m.html ?? '', /html words/);
  });

  test('htmlToText edge cases', () => {
    assert.equal(htmlToText('a<br>b<br/>c', 100), 'a\nb\nc');
    assert.equal(htmlToText('<p>x</p><p></p><p></p><p>y</p>', 100), 'x\n\ny');
    assert.equal(htmlToText('keep <unterminated', 100), 'keep');
    assert.equal(htmlToText('1 < 2 and 3 > 2', 100), '1 < 2 and 3 > 2');
    assert.equal(htmlToText('<SCRIPT type=x>bad()</SCRIPT >ok<style>never closed', 100), 'ok');
    assert.equal(htmlToText('&constructor; &#0; &#xD800; &#x10FFFF;', 100), '&constructor; \u{10ffff}');
    assert.equal(htmlToText('<p>abcdef</p>', 3), 'abc');
    assert.equal(htmlToText('<p>'.repeat(100_000) + 'x', 100), 'x');
  });

  test('the body considered by conditions is capped', async () => {
    const long = 'word '.repeat(LIMITS.MAX_BODY_CONDITION_CHARS / 4);
    const m = await parse(`Subject: big\r\n\r\n${long}\r\n`);
    assert.equal(m.body.length, LIMITS.MAX_BODY_CONDITION_CHARS);
  });
});

describe('header facts', () => {
  test('automation and list headers, ids, addresses, header map', async () => {
    const m = await parse(
      'From: "Ops Bot" <Bot@Example.COM>\r\n' +
        'To: Team: Alice <ALICE@acme.example>, bob@acme.example;, carol@acme.example\r\n' +
        'Cc: not an address, dave@acme.example\r\n' +
        'Reply-To: <Replies@Example.com>\r\n' +
        'Subject: report\r\n' +
        'Message-ID: <m1@example.com>\r\n' +
        'In-Reply-To: <m0@example.com>\r\n' +
        'References: <a@example.com>\r\n <b@example.com> <m0@example.com>\r\n' +
        'Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n' +
        'Auto-Submitted: Auto-Generated; owner-email="x@example.com"\r\n' +
        'List-Id: Ops Reports <Ops-Reports.Example.COM>\r\n' +
        'Precedence: Bulk\r\n' +
        'X-Intent-Action: archive\r\n' +
        'X-Multi: one\r\n' +
        'X-Multi: two\r\n' +
        '__proto__: polluted\r\n' +
        'X-Encoded: =?utf-8?q?line=0D=0ABcc:_evil@example.com?=\r\n' +
        '\r\nbody\r\n',
    );
    assert.equal(m.headerFrom, 'bot@example.com');
    assert.equal(m.headerFromName, 'Ops Bot');
    assert.deepEqual(m.to, ['alice@acme.example', 'bob@acme.example', 'carol@acme.example']);
    assert.deepEqual(m.cc, ['dave@acme.example']);
    assert.equal(m.replyTo, 'replies@example.com');
    assert.equal(m.messageId, '<m1@example.com>');
    assert.equal(m.inReplyTo, '<m0@example.com>');
    assert.deepEqual(m.references, ['<a@example.com>', '<b@example.com>', '<m0@example.com>']);
    assert.equal(m.date, '2025-07-01T10:00:00.000Z');
    assert.equal(m.autoSubmitted, 'auto-generated');
    assert.equal(m.listId, 'ops-reports.example.com');
    assert.equal(m.precedence, 'bulk');
    assert.deepEqual(m.headers['x-intent-action'], ['archive']);
    assert.deepEqual(m.headers['x-multi'], ['one', 'two']);
    assert.deepEqual(m.headers['__proto__'], ['polluted']);
    assert.equal(Object.getPrototypeOf(m.headers), null);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // A decoded encoded-word cannot smuggle a line break into a header value.
    assert.equal(m.headers['x-encoded'][0], 'line  Bcc: evil@example.com');
  });

  test('absent headers are null, not empty strings', async () => {
    const m = await parse('Subject: s\r\n\r\nx\r\n');
    assert.equal(m.headerFrom, null);
    assert.equal(m.headerFromName, null);
    assert.equal(m.replyTo, null);
    assert.equal(m.messageId, null);
    assert.equal(m.autoSubmitted, null);
    assert.equal(m.listId, null);
    assert.equal(m.precedence, null);
    assert.deepEqual(m.references, []);
    assert.deepEqual(m.to, []);
  });

  test('a parser error is a fail verdict, never an exception', async () => {
    // Past postal-mime's own nesting limit (here without the guard in front).
    let raw = 'Content-Type: multipart/mixed; boundary=b0\r\n\r\n';
    for (let i = 1; i < 40; i++) raw += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary=b${i}\r\n\r\n`;
    const verdict = await parseMessage(enc.encode(raw));
    assert.equal(verdict.status, 'fail');
    assert.match(verdict.reason, /^message could not be parsed: Maximum MIME nesting depth of 32 levels exceeded/);
    assert.equal(verdict.detail, undefined);
  });
});

describe('facts', () => {
  test('buildFacts combines parsed message and pipeline results; keys default to missing', async () => {
    const parsed = await parse('From: a@example.com\r\nSubject: Fire #urgent\r\nX-Classification: Internal\r\n\r\nhelp\r\n');
    const facts = buildFacts({
      parsed,
      recipient: 'Task.Linear+ABC-12@In.Acme.Example',
      addressDetail: 'ABC-12',
      sender: 'A@Example.com',
      senderVerified: true,
      senderGroups: ['engineering'],
      senderRoles: ['developer'],
      size: 1234,
      auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
      tls: true,
    });
    assert.deepEqual(facts, {
      sender: 'a@example.com',
      senderVerified: true,
      senderGroups: ['engineering'],
      senderRoles: ['developer'],
      recipient: 'task.linear+abc-12@in.acme.example',
      subject: 'Fire #urgent',
      subjectTags: ['urgent'],
      headers: parsed.headers,
      labels: ['internal'],
      attachments: [],
      body: 'help\n',
      size: 1234,
      auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
      tls: true,
      keys: { smime: 'missing', pgp: 'missing' },
      steps: {},
      addressDetail: 'ABC-12',
    });
    const withKeys = buildFacts({ parsed, recipient: 'x@y.example', addressDetail: null, sender: null, senderVerified: false, senderGroups: [], senderRoles: [], size: 1, auth: { spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' }, tls: false, keys: { smime: 'present', pgp: 'missing' } });
    assert.deepEqual(withKeys.keys, { smime: 'present', pgp: 'missing' });
    assert.equal(withKeys.sender, null);
  });
});

describe('addresses', () => {
  const intentCases: Array<[string, ReturnType<typeof parseIntentAddress>]> = [
    ['task.linear+ABC-12@in.acme.example', { local: 'task.linear+abc-12', intent: 'task.linear', detail: 'ABC-12', domain: 'in.acme.example' }],
    ['<Task.Linear@IN.Acme.Example.>', { local: 'task.linear', intent: 'task.linear', detail: null, domain: 'in.acme.example' }],
    ['  summary.analytics@in.acme.example ', { local: 'summary.analytics', intent: 'summary.analytics', detail: null, domain: 'in.acme.example' }],
    ['task+a+b@x.example', { local: 'task+a+b', intent: 'task', detail: 'a+b', domain: 'x.example' }],
    ['task@Bücher.Example', { local: 'task', intent: 'task', detail: null, domain: 'bücher.example' }],
    ['"task.linear"@in.acme.example', null],
    ['"a@b"@in.acme.example', null],
    ['@in.acme.example', null],
    ['task@', null],
    ['task', null],
    ['+abc@in.acme.example', null],
    ['task+@in.acme.example', null],
    ['task..linear@in.acme.example', null],
    ['.task@in.acme.example', null],
    ['task@in..acme.example', null],
    ['task@-in.acme.example', null],
    ['task@[192.0.2.1]', null],
    ['ta sk@in.acme.example', null],
    ['task\u0000@in.acme.example', null],
    ['task\u0085@in.acme.example', null],
    ['task@in.acme.example\r\n', { local: 'task', intent: 'task', detail: null, domain: 'in.acme.example' }],
    ['task@in.acme\u0007.example', null],
    ['task@in\u00a0acme.example', null],
    [`${'a'.repeat(65)}@x.example`, null],
    [`a@${'b'.repeat(64)}.example`, null],
  ];
  for (const [input, expected] of intentCases) {
    test(`parseIntentAddress ${JSON.stringify(input)}`, () => assert.deepEqual(parseIntentAddress(input), expected));
  }

  const normalCases: Array<[string, string | null]> = [
    ['Alice@ACME.example', 'alice@acme.example'],
    [' <bob@acme.example.> ', 'bob@acme.example'],
    ['"alice"@acme.example', 'alice@acme.example'],
    ['"John Doe"@acme.example', '"john doe"@acme.example'],
    ['"a\\"b"@acme.example', '"a\\"b"@acme.example'],
    ['Alice <alice@acme.example>', null],
    ['alice', null],
    ['alice@', null],
    ['', null],
    ['"unterminated@acme.example', null],
    ['a"b@acme.example', null],
  ];
  for (const [input, expected] of normalCases) {
    test(`normalizeAddress ${JSON.stringify(input)}`, () => assert.equal(normalizeAddress(input), expected));
  }

  test('addressDomain', () => {
    assert.equal(addressDomain('Alice@Sub.ACME.example.'), 'sub.acme.example');
    assert.equal(addressDomain('<a@b.example>'), 'b.example');
    assert.equal(addressDomain('"x@y"@z.example'), 'z.example');
    assert.equal(addressDomain('no-at-sign'), '');
  });
});
