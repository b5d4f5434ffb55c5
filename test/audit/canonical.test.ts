import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/audit/canonical.ts';
import { IntentmailError } from '../../src/core/errors.ts';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

const isInternal = (err: unknown) => err instanceof IntentmailError && err.code === 'internal';

describe('canonicalJson (RFC 8785)', () => {
  test('§3.2.2 example: numbers, string escapes and literals', () => {
    // The input object of RFC 8785 §3.2.2 as JSON text, parsed exactly as a JCS implementation would.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('§3.2.3 sorting by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    assert.equal(
      canonicalJson(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('Appendix B number serialisation', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [hex, expected] of cases) assert.equal(canonicalJson(fromHex(hex)), expected, hex);
    assert.equal(canonicalJson(-0), '0');
    assert.equal(canonicalJson(1e21), '1e+21');
  });

  test('NaN and Infinity (Appendix B 7fffffffffffffff, 7ff0000000000000) are refused', () => {
    assert.throws(() => canonicalJson(fromHex('7fffffffffffffff')), isInternal);
    assert.throws(() => canonicalJson(fromHex('7ff0000000000000')), isInternal);
    assert.throws(() => canonicalJson({ a: [1, -Infinity] }), isInternal);
  });

  test('control characters use lower-case \\u escapes; other characters stay literal', () => {
    assert.equal(canonicalJson('\u0000\u001f\u007f\b\t\n\f\r"\\/é'), '"\\u0000\\u001f\u007f\\b\\t\\n\\f\\r\\"\\\\/é"');
  });

  test('no whitespace, nested objects sorted at every level', () => {
    assert.equal(canonicalJson({ b: [{ z: 1, a: { y: null, x: true } }], a: 'x' }), '{"a":"x","b":[{"a":{"x":true,"y":null},"z":1}]}');
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson({}), '{}');
  });

  test('refuses what is not I-JSON data', () => {
    assert.throws(() => canonicalJson(undefined), isInternal);
    assert.throws(() => canonicalJson({ a: undefined }), isInternal);
    assert.throws(() => canonicalJson([undefined]), isInternal);
    assert.throws(() => canonicalJson(() => 1), isInternal);
    assert.throws(() => canonicalJson(10n), isInternal);
    assert.throws(() => canonicalJson(Symbol('s')), isInternal);
    assert.throws(() => canonicalJson(new Date(0)), isInternal);
    assert.throws(() => canonicalJson(new Map()), isInternal);
    assert.throws(() => canonicalJson('\ud800'), isInternal);
    assert.throws(() => canonicalJson({ '\udc00x': 1 }), isInternal);
  });

  test('refuses nesting past the limit (and therefore cycles)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), isInternal);
    let deep: unknown = 1;
    for (let i = 0; i < 500; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), isInternal);
  });

  test('round-trips: canonical text parses back and re-canonicalises to itself', () => {
    const value = { z: [1.5, 'x', { b: false, a: null }], é: 'ü', A: -12e-9 };
    const text = canonicalJson(value);
    assert.equal(canonicalJson(JSON.parse(text)), text);
  });
});
