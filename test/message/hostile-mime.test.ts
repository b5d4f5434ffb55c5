/**
 * Hostile MIME: every shared fixture goes through the guard and then (if it passed) the
 * parser; self-built hostile messages pin each limit at its exact boundary, so the guard is
 * tested even where /work/shared is absent.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LIMITS } from '../../src/core/limits.ts';
import { guardMessage } from '../../src/message/guard.ts';
import { parseContentType } from '../../src/message/content-type.ts';
import { parseMessage } from '../../src/message/parse.ts';

const TESTDATA = new URL('../../../shared/testdata/', import.meta.url);
const MIME = new URL('mime/', TESTDATA);
const haveMime = existsSync(fileURLToPath(MIME));
const SMUGGLING = new URL('smtp-smuggling/eod-sequences.json', TESTDATA);
const haveSmuggling = existsSync(fileURLToPath(SMUGGLING));

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** What an SMTP client does before DATA: every line ending becomes CRLF (RFC 5321 §2.3.8). */
function toCrlf(raw: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(raw[i]);
  }
  return Uint8Array.from(out);
}

/** Counts bare LF and bare CR so the fixtures' line endings are checked, not assumed. */
function lineEndings(raw: Uint8Array): { crlf: number; bareLf: number; bareCr: number } {
  let crlf = 0;
  let bareLf = 0;
  let bareCr = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a) {
      if (i > 0 && raw[i - 1] === 0x0d) crlf++;
      else bareLf++;
    } else if (raw[i] === 0x0d && raw[i + 1] !== 0x0a) {
      bareCr++;
    }
  }
  return { crlf, bareLf, bareCr };
}

interface Row {
  file: string;
  guard: string;
  parse: string;
  ms: number;
}
const results: Row[] = [];

/** Guard, then parse if the guard passed; records the outcome and the time both took. */
async function run(file: string, raw: Uint8Array) {
  const start = performance.now();
  const guard = guardMessage(raw);
  const parsed = guard.status === 'pass' ? await parseMessage(raw) : null;
  const ms = performance.now() - start;
  results.push({ file, guard: `${guard.status}: ${guard.reason}`, parse: parsed === null ? '-' : `${parsed.status}: ${parsed.reason}`, ms });
  return { guard, parsed, ms };
}

after(() => {
  if (results.length === 0) return;
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`hostile MIME: ${results.length} messages, slowest ${slowest.file} ${slowest.ms.toFixed(1)} ms`);
  for (const r of results) console.log(`  ${r.file} | guard ${r.guard} | parse ${r.parse} | ${r.ms.toFixed(1)} ms`);
});

describe('shared generated hostile MIME', { skip: haveMime ? false : 'shared testdata absent' }, () => {
  const dir = new URL('generated/', MIME);
  // What each file must do. Nesting 50 is refused: LIMITS.MAX_MIME_DEPTH is 32 and postal-mime
  // would refuse it with the same limit, so the guard names it first.
  const expected: Record<string, { limit: string } | { parts: number }> = {
    'header-200k-folded-lines.eml': { limit: 'MAX_HEADER_LINES' },
    'header-2MiB-single-line.eml': { limit: 'MAX_HEADER_BYTES' },
    'headers-50000-fields.eml': { limit: 'MAX_HEADER_FIELDS' },
    'linkify-xn-chain.eml': { parts: 0 },
    'nested-depth-2000.eml': { limit: 'MAX_MIME_DEPTH' },
    'nested-depth-50.eml': { limit: 'MAX_MIME_DEPTH' },
    'wide-5000-parts.eml': { limit: 'MAX_MIME_PARTS' },
    'wide-999-parts.eml': { parts: 999 },
  };
  const files = haveMime ? readdirSync(dir).filter((f) => f.endsWith('.eml')).sort() : [];

  test('every generated file has an expectation and CRLF line endings', () => {
    assert.deepEqual(files, Object.keys(expected).sort());
    for (const file of files) {
      const endings = lineEndings(readFileSync(new URL(file, dir)));
      assert.equal(endings.bareLf, 0, `${file} has bare LF`);
      assert.equal(endings.bareCr, 0, `${file} has bare CR`);
      assert.ok(endings.crlf > 0);
    }
  });

  for (const file of files) {
    test(file, async () => {
      const raw = readFileSync(new URL(file, dir));
      const { guard, parsed } = await run(`generated/${file}`, raw);
      const want = expected[file];
      if ('limit' in want) {
        assert.equal(guard.status, 'fail', guard.reason);
        assert.equal(guard.detail?.limit, want.limit);
        assert.ok(guard.reason.includes(String(LIMITS[want.limit as keyof typeof LIMITS])), guard.reason);
        return;
      }
      assert.equal(guard.status, 'pass', guard.reason);
      assert.match(guard.reason, new RegExp(`^structure within limits: ${want.parts} MIME parts`));
      assert.equal(parsed?.status, 'pass', parsed?.reason);
      const message = parsed!.detail!;
      assert.equal(message.subject, 'bomb');
      if (file === 'wide-999-parts.eml') assert.equal(message.text.split('p').length - 1, 999);
      if (file === 'linkify-xn-chain.eml') assert.match(message.body, /^xn--a\.xn--a\./);
    });
  }

  test('the guard refuses the 50-deep message at exactly the depth limit, with its reason', async () => {
    const raw = readFileSync(new URL('nested-depth-50.eml', dir));
    const guard = guardMessage(raw);
    assert.equal(guard.reason, `MIME nesting deeper than ${LIMITS.MAX_MIME_DEPTH} levels (MAX_MIME_DEPTH)`);
    // postal-mime on its own agrees (it would refuse with its own message), so nothing relies on the guard alone.
    const parsed = await parseMessage(raw);
    assert.equal(parsed.status, 'fail');
    assert.match(parsed.reason, /nesting depth of 32/);
  });
});

describe('shared mailparser regression messages', { skip: haveMime ? false : 'shared testdata absent' }, () => {
  const dir = new URL('mailparser/', MIME);
  const files = haveMime ? readdirSync(dir).filter((f) => f.endsWith('.eml')).sort() : [];

  test('the fixture set is the expected one', () => {
    assert.ok(files.length >= 10, `only ${files.length} files`);
  });

  for (const file of files) {
    test(file, async () => {
      const original = readFileSync(new URL(file, dir));
      const endings = lineEndings(original);
      if (endings.bareLf > 0) {
        // As stored (Unix line endings) the guard refuses it on SMTP input, but accepts it when reading files.
        const strict = guardMessage(original);
        assert.equal(strict.status, 'fail');
        assert.equal(strict.detail?.limit, 'bare_line_ending');
        assert.equal(guardMessage(original, { allowBareLf: true }).status, 'pass');
      }
      const raw = toCrlf(original);
      const { guard, parsed } = await run(`mailparser/${file}`, raw);
      assert.equal(guard.status, 'pass', guard.reason);
      assert.equal(parsed?.status, 'pass', parsed?.reason);
      assert.ok(parsed!.detail!.body.length <= LIMITS.MAX_BODY_CONDITION_CHARS);
    });
  }

  test('large_text.eml: the body considered by conditions is capped', { skip: files.includes('large_text.eml') ? false : 'fixture absent' }, async () => {
    const parsed = await parseMessage(toCrlf(readFileSync(new URL('large_text.eml', dir))));
    assert.equal(parsed.status, 'pass');
    assert.ok(parsed.detail!.text.length > LIMITS.MAX_BODY_CONDITION_CHARS);
    assert.equal(parsed.detail!.body.length, LIMITS.MAX_BODY_CONDITION_CHARS);
  });
});

describe('SMTP smuggling end-of-data sequences', { skip: haveSmuggling ? false : 'shared testdata absent' }, () => {
  test('every sequence with a bare CR or LF is refused as bare_line_ending', () => {
    const data = JSON.parse(readFileSync(SMUGGLING, 'utf8')) as {
      smtpsmug_tests: Record<string, string>;
      smtp_smuggling_tools_inbound: string[];
      smtp_smuggling_tools_outbound: string[];
    };
    const sequences = [...Object.values(data.smtpsmug_tests), ...data.smtp_smuggling_tools_inbound, ...data.smtp_smuggling_tools_outbound];
    // These contain only CRLF line endings (the NUL variants attack servers that drop NULs).
    const crlfOnly = new Set(['\r\n\u0000.\r\n', '\r\n.\u0000\r\n']);
    let refused = 0;
    for (const seq of sequences) {
      const raw = bytes(`From: a@example.com\r\nSubject: s\r\n\r\nhello${seq}MAIL FROM:<evil@example.com>\r\n`);
      const verdict = guardMessage(raw);
      if (crlfOnly.has(seq)) {
        assert.equal(verdict.status, 'pass', JSON.stringify(seq));
      } else {
        assert.equal(verdict.status, 'fail', JSON.stringify(seq));
        assert.equal(verdict.detail?.limit, 'bare_line_ending');
        refused++;
      }
    }
    assert.ok(refused >= 20);
  });
});

// ---------------------------------------------------------------------------------------
// Self-built hostile messages: each limit at its exact boundary.

const HEAD = 'From: a@example.com\r\nTo: b@example.net\r\nSubject: built\r\nMIME-Version: 1.0\r\n';

/** A chain of `levels` nested multiparts with a text leaf at depth `levels`. */
function nested(levels: number): Uint8Array {
  let open = `${HEAD}Content-Type: multipart/mixed; boundary="b0"\r\n\r\n`;
  for (let i = 1; i < levels; i++) open += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
  open += `--b${levels - 1}\r\nContent-Type: text/plain\r\n\r\nleaf\r\n`;
  let close = '';
  for (let i = levels - 1; i >= 0; i--) close += `--b${i}--\r\n`;
  return bytes(open + close);
}

/** One multipart with `count` text parts; `param` is how the boundary is declared. */
function wide(count: number, param = 'boundary="x"'): Uint8Array {
  const parts: string[] = [`${HEAD}Content-Type: multipart/mixed; ${param}\r\n\r\n`];
  for (let i = 0; i < count; i++) parts.push(`--x\r\nContent-Type: text/plain\r\n\r\np${i}\r\n`);
  parts.push('--x--\r\n');
  return bytes(parts.join(''));
}

describe('guard: built hostile inputs', () => {
  test('nesting: 32 levels pass and parse, 33 are refused', async () => {
    const ok = nested(LIMITS.MAX_MIME_DEPTH);
    assert.equal(guardMessage(ok).status, 'pass');
    const parsed = await parseMessage(ok);
    assert.equal(parsed.status, 'pass', parsed.reason);
    assert.equal(parsed.detail!.text.trim(), 'leaf');
    const deep = guardMessage(nested(LIMITS.MAX_MIME_DEPTH + 1));
    assert.deepEqual(deep, { status: 'fail', reason: 'MIME nesting deeper than 32 levels (MAX_MIME_DEPTH)', detail: { limit: 'MAX_MIME_DEPTH' } });
  });

  test('nesting 2000 deep is refused quickly without recursion', () => {
    const verdict = guardMessage(nested(2000));
    assert.equal(verdict.detail?.limit, 'MAX_MIME_DEPTH');
  });

  test('parts: 1000 pass, 1001 are refused', async () => {
    const ok = wide(LIMITS.MAX_MIME_PARTS);
    assert.equal(guardMessage(ok).status, 'pass');
    assert.equal((await parseMessage(ok)).status, 'pass');
    const many = guardMessage(wide(LIMITS.MAX_MIME_PARTS + 1));
    assert.deepEqual(many, { status: 'fail', reason: 'more than 1000 MIME parts (MAX_MIME_PARTS)', detail: { limit: 'MAX_MIME_PARTS' } });
    assert.equal(guardMessage(wide(5000)).detail?.limit, 'MAX_MIME_PARTS');
  });

  test('a boundary declared through RFC 2231 continuations is followed like postal-mime follows it', async () => {
    const param = "boundary*0*=utf-8''%78; boundary*1=\"\"";
    assert.deepEqual(parseContentType(`multipart/mixed; ${param}`), { type: 'multipart/mixed', boundary: 'x' });
    assert.equal(guardMessage(wide(LIMITS.MAX_MIME_PARTS + 1, param)).detail?.limit, 'MAX_MIME_PARTS');
    const small = wide(3, param);
    assert.match(guardMessage(small).reason, /^structure within limits: 3 MIME parts, \d+ header bytes, \d+ parser lines$/);
    const parsed = await parseMessage(small);
    assert.equal(parsed.detail!.text.replace(/\s+/g, ' ').trim(), 'p0 p1 p2');
  });

  test('Content-Type parameters: quotes, escapes, comments, first occurrence wins', () => {
    assert.deepEqual(parseContentType(' Multipart/Alternative (comment; boundary=no) ; boundary="a\\"b;c"; boundary=second'), { type: 'multipart/alternative', boundary: 'a"b;c' });
    assert.deepEqual(parseContentType('multipart/mixed; boundary=abc (trailing comment)'), { type: 'multipart/mixed', boundary: 'abc' });
    assert.deepEqual(parseContentType('text/plain; charset=utf-8'), { type: 'text/plain', boundary: null });
    assert.deepEqual(parseContentType('multipart/mixed; boundary="x" junk'), { type: 'multipart/mixed', boundary: 'x' });
  });

  test('only the first Content-Type counts: a second multipart header declares nothing', () => {
    const parts = ['--x\r\n\r\np\r\n'.repeat(LIMITS.MAX_MIME_PARTS + 5)];
    const raw = bytes(`${HEAD}Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n${parts.join('')}--x--\r\n`);
    const verdict = guardMessage(raw);
    assert.equal(verdict.status, 'pass', verdict.reason);
    assert.match(verdict.reason, /: 0 MIME parts/);
  });

  test('a delimiter with trailing junk is not a delimiter; trailing blanks are allowed', () => {
    const junk = bytes(`${HEAD}Content-Type: multipart/mixed; boundary=x\r\n\r\n${'--xjunk\r\n'.repeat(2000)}--x \t\r\n\r\nonly part\r\n--x--\r\n`);
    const verdict = guardMessage(junk);
    assert.equal(verdict.status, 'pass');
    assert.match(verdict.reason, /: 1 MIME parts/);
  });

  test('an outer delimiter closes inner multiparts: siblings do not deepen the tree', () => {
    // 40 sibling multiparts, each left unclosed: nesting stays at 2, not 41.
    let body = '';
    for (let i = 0; i < 40; i++) body += `--outer\r\nContent-Type: multipart/mixed; boundary="in${i}"\r\n\r\n--in${i}\r\n\r\nx\r\n`;
    const raw = bytes(`${HEAD}Content-Type: multipart/mixed; boundary=outer\r\n\r\n${body}--outer--\r\n`);
    const verdict = guardMessage(raw);
    assert.equal(verdict.status, 'pass', verdict.reason);
    assert.match(verdict.reason, /: 80 MIME parts/);
  });

  test('message/rfc822 bodies are entered: their header and parts count, and they nest', () => {
    const inner = `From: c@example.org\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nx\r\n--in--\r\n`;
    const raw = bytes(`${HEAD}Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\nContent-Type: message/rfc822\r\n\r\n${inner}--out--\r\n`);
    // parts: the rfc822 part, the message inside it, and its one text part.
    assert.match(guardMessage(raw).reason, /: 3 MIME parts/);
    // A base64 message/rfc822 body (forbidden by RFC 2046 §5.2.1) is opaque, not a header section.
    const encoded = bytes(`${HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${'QUJD\r\n'.repeat(300_000)}`);
    assert.equal(guardMessage(encoded).status, 'pass');
    // Chained forwards count towards the depth limit.
    let chain = '';
    for (let i = 0; i < LIMITS.MAX_MIME_DEPTH + 1; i++) chain += 'Content-Type: message/rfc822\r\n\r\n';
    assert.equal(guardMessage(bytes(`${HEAD}${chain}From: x@example.com\r\n\r\nbody\r\n`)).detail?.limit, 'MAX_MIME_DEPTH');
  });

  test('multipart/digest parts default to message/rfc822 (RFC 2046 §5.1.5)', () => {
    const raw = bytes(`${HEAD}Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nFrom: x@example.com\r\nSubject: inner\r\n\r\nhi\r\n--d--\r\n`);
    assert.match(guardMessage(raw).reason, /: 2 MIME parts, \d+ header bytes/);
  });

  test('header bytes are summed over all parts', () => {
    // 24 parts, each with a 48 KiB header: every part alone is small, together over 1 MiB.
    const field = `X-Pad: ${'a'.repeat(48 * 1024)}\r\n`;
    let body = '';
    for (let i = 0; i < 24; i++) body += `--x\r\n${field}\r\nx\r\n`;
    const raw = bytes(`${HEAD}Content-Type: multipart/mixed; boundary=x\r\n\r\n${body}--x--\r\n`);
    assert.deepEqual(guardMessage(raw), {
      status: 'fail',
      reason: `header sections larger than ${LIMITS.MAX_HEADER_BYTES} bytes in total (MAX_HEADER_BYTES)`,
      detail: { limit: 'MAX_HEADER_BYTES' },
    });
    const single = bytes(`${HEAD}X-Big: ${'a'.repeat(LIMITS.MAX_HEADER_BYTES)}\r\n\r\nbody\r\n`);
    assert.equal(guardMessage(single).detail?.limit, 'MAX_HEADER_BYTES');
  });

  test('top-level header fields: 2000 pass, 2001 are refused', () => {
    const withFields = (n: number): Uint8Array => {
      let h = '';
      for (let i = 0; i < n; i++) h += `X-F${i}: v\r\n`;
      return bytes(`${h}\r\nbody\r\n`);
    };
    assert.equal(guardMessage(withFields(LIMITS.MAX_HEADER_FIELDS)).status, 'pass');
    assert.deepEqual(guardMessage(withFields(LIMITS.MAX_HEADER_FIELDS + 1)), {
      status: 'fail',
      reason: 'more than 2000 fields in the message header (MAX_HEADER_FIELDS)',
      detail: { limit: 'MAX_HEADER_FIELDS' },
    });
  });

  test('top-level header lines count folded continuations: 20000 pass, 20001 are refused', () => {
    const withLines = (n: number): Uint8Array => bytes(`Subject: s\r\nX-Folded: a\r\n${' b\r\n'.repeat(n - 2)}\r\nbody\r\n`);
    assert.equal(guardMessage(withLines(LIMITS.MAX_HEADER_LINES)).status, 'pass');
    assert.deepEqual(guardMessage(withLines(LIMITS.MAX_HEADER_LINES + 1)), {
      status: 'fail',
      reason: 'more than 20000 lines in the message header (MAX_HEADER_LINES)',
      detail: { limit: 'MAX_HEADER_LINES' },
    });
    assert.equal(guardMessage(withLines(200_000)).detail?.limit, 'MAX_HEADER_LINES');
  });

  test('bare LF and bare CR anywhere are refused; allowBareLf accepts LF only', () => {
    const lfInBody = bytes('Subject: s\r\n\r\nline one\nline two\r\n');
    assert.deepEqual(guardMessage(lfInBody), {
      status: 'fail',
      reason: 'bare LF at byte 22: lines must end in CRLF (RFC 5321 §2.3.8)',
      detail: { limit: 'bare_line_ending' },
    });
    assert.equal(guardMessage(lfInBody, { allowBareLf: true }).status, 'pass');
    const crInHeader = bytes('Subject: s\rBcc: x@example.com\r\n\r\nbody\r\n');
    assert.equal(guardMessage(crInHeader).reason, 'bare CR at byte 10: CR is only allowed before LF (RFC 5321 §2.3.8)');
    assert.equal(guardMessage(crInHeader, { allowBareLf: true }).detail?.limit, 'bare_line_ending');
    assert.equal(guardMessage(bytes('Subject: s\r\n\r\nends in CR\r')).detail?.limit, 'bare_line_ending');
    assert.equal(guardMessage(bytes('Subject: s\r\n\r\nCR CR LF\r\r\n')).detail?.limit, 'bare_line_ending');
    assert.equal(guardMessage(bytes('\nSubject: s\r\n')).detail?.limit, 'bare_line_ending');
    assert.equal(guardMessage(bytes('Subject: s\r\n\r\nno final line ending')).status, 'pass');
  });

  test('parser lines: unencoded body lines count, 250000 pass and one more is refused', () => {
    const plain = (n: number): Uint8Array => bytes(`Subject: s\r\n\r\n${'x\r\n'.repeat(n)}`);
    const ok = guardMessage(plain(LIMITS.MAX_PARSER_LINES));
    assert.equal(ok.status, 'pass', ok.reason);
    assert.match(ok.reason, /, 250000 parser lines$/);
    assert.deepEqual(guardMessage(plain(LIMITS.MAX_PARSER_LINES + 1)), {
      status: 'fail',
      reason: 'more than 250000 body lines for the MIME parser to buffer (MAX_PARSER_LINES)',
      detail: { limit: 'MAX_PARSER_LINES' },
    });
    // 2 MiB of empty lines: tiny, but minutes of parser work without this limit.
    assert.equal(guardMessage(bytes(`Subject: s\r\n\r\n${'\r\n'.repeat(1024 * 1024)}`)).detail?.limit, 'MAX_PARSER_LINES');
  });

  test('parser lines: base64 costs one per = run, quoted-printable nothing', () => {
    const part = (cte: string, line: string, n: number): Uint8Array =>
      bytes(`${HEAD}Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${`${line}\r\n`.repeat(n)}--x--\r\n`);
    assert.equal(guardMessage(part('base64', 'QUJDREVGR0hJSktM', 400_000)).status, 'pass');
    assert.equal(guardMessage(part('quoted-printable', 'plain text', 400_000)).status, 'pass');
    assert.equal(guardMessage(part('base64', 'QQ==QQ==', LIMITS.MAX_PARSER_LINES / 2)).status, 'pass');
    assert.equal(guardMessage(part('base64', 'QQ== QQ==', LIMITS.MAX_PARSER_LINES / 2 + 1)).detail?.limit, 'MAX_PARSER_LINES');
    // A transfer encoding postal-mime does not decode is buffered line by line.
    assert.equal(guardMessage(part('8bit', 'x', LIMITS.MAX_PARSER_LINES + 1)).detail?.limit, 'MAX_PARSER_LINES');
  });

  test('parser lines: a message/rfc822 body is read again by the nested parser', () => {
    const forwarded = (n: number, disposition = ''): Uint8Array =>
      bytes(`${HEAD}Content-Type: message/rfc822\r\n${disposition}\r\nSubject: inner\r\n\r\n${'x\r\n'.repeat(n)}`);
    const half = LIMITS.MAX_PARSER_LINES / 2;
    // Each inner body line costs two: copied by the outer parser, buffered by the inner one.
    assert.equal(guardMessage(forwarded(half - 5)).status, 'pass');
    assert.equal(guardMessage(forwarded(half)).detail?.limit, 'MAX_PARSER_LINES');
  });

  test('parser lines: an encoded inline message/rfc822 counts its decoded line breaks for every parser level', () => {
    const inner = `Subject: hidden\r\n\r\n${'\r\n'.repeat(70_000)}`;
    const b64 = Buffer.from(inner).toString('base64').replace(/.{76}/g, '$&\r\n');
    const wrapped = (disposition: string): Uint8Array =>
      bytes(`${HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n${disposition}\r\n${b64}\r\n`);
    // 70002 decoded line breaks x 4 parser levels (LIMITS.MAX_RFC822_DEPTH + 1) > 250000.
    assert.equal(guardMessage(wrapped('')).detail?.limit, 'MAX_PARSER_LINES');
    assert.equal(guardMessage(wrapped('Content-Disposition: inline\r\n')).detail?.limit, 'MAX_PARSER_LINES');
    // As an attachment postal-mime does not parse it, so only the base64 itself counts.
    assert.equal(guardMessage(wrapped('Content-Disposition: attachment; filename=x.eml\r\n')).status, 'pass');
    // Quoted-printable: hard line breaks and =0A escapes.
    const qp = bytes(`${HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${'=0A=0a=0A=0a=\r\n'.repeat(20_000)}end\r\n`);
    assert.equal(guardMessage(qp).detail?.limit, 'MAX_PARSER_LINES');
  });

  test('a message over MAX_MESSAGE_BYTES is refused before it is scanned', () => {
    const raw = new Uint8Array(LIMITS.MAX_MESSAGE_BYTES + 1).fill(0x61);
    assert.equal(guardMessage(raw).detail?.limit, 'MAX_MESSAGE_BYTES');
  });

  test('nothing throws on arbitrary bytes, and the parser refuses rather than throws', async () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = bytes('-\r\n:; ="abx\t(boundary)multipart/mixed;');
    for (let round = 0; round < 200; round++) {
      const raw = new Uint8Array(rand() % 4000);
      for (let i = 0; i < raw.length; i++) raw[i] = rand() % 4 === 0 ? rand() % 256 : alphabet[rand() % alphabet.length];
      const verdict = guardMessage(raw, { allowBareLf: round % 2 === 0 });
      assert.ok(verdict.status === 'pass' || verdict.status === 'fail');
      const parsed = await parseMessage(raw);
      assert.ok(parsed.status === 'pass' || parsed.status === 'fail');
    }
  });
});
