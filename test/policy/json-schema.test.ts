import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { policyJsonSchemas } from '../../src/policy/json-schema.ts';

type Schema = Record<string, unknown> | boolean;

/** Keywords of JSON Schema 2020-12 (core, applicator, validation, meta-data) that a generated schema may use. */
const KNOWN = new Set([
  '$schema', '$id', '$ref', '$defs', '$comment', 'title', 'description', 'default', 'examples', 'type', 'enum', 'const',
  'properties', 'required', 'additionalProperties', 'propertyNames', 'patternProperties', 'items', 'prefixItems',
  'anyOf', 'oneOf', 'allOf', 'not', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'uniqueItems',
]);

/** Checks that every (sub)schema only uses known keywords and every $ref resolves. */
function checkWellFormed(root: Record<string, unknown>, s: Schema, path = '#'): void {
  if (typeof s === 'boolean') return;
  for (const [k, v] of Object.entries(s)) {
    assert.ok(KNOWN.has(k), `unknown keyword ${k} at ${path}`);
    if (k === '$ref') assert.ok(resolve(root, v as string), `dangling $ref ${String(v)} at ${path}`);
    if (k === 'pattern') assert.doesNotThrow(() => new RegExp(v as string, 'u'), `pattern at ${path}`);
    if (['properties', '$defs', 'patternProperties'].includes(k)) for (const [n, sub] of Object.entries(v as object)) checkWellFormed(root, sub as Schema, `${path}/${k}/${n}`);
    if (['items', 'additionalProperties', 'propertyNames', 'not'].includes(k) && typeof v === 'object') checkWellFormed(root, v as Schema, `${path}/${k}`);
    if (['anyOf', 'oneOf', 'allOf'].includes(k)) (v as Schema[]).forEach((sub, i) => checkWellFormed(root, sub, `${path}/${k}/${i}`));
  }
}

function resolve(root: Record<string, unknown>, ref: string): Schema | undefined {
  if (ref === '#') return root;
  const m = /^#\/\$defs\/(.+)$/.exec(ref);
  return m ? ((root.$defs as Record<string, Schema>)[m[1]]) : undefined;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** A small validator for the keywords zod emits; returns the first error or null. */
function validate(root: Record<string, unknown>, s: Schema, v: unknown, at = '$'): string | null {
  if (s === true) return null;
  if (s === false) return `${at}: not allowed`;
  if (typeof s.$ref === 'string') return validate(root, resolve(root, s.$ref)!, v, at);
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string);
    const t = typeOf(v);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return `${at}: expected ${types.join('|')}, got ${t}`;
  }
  if (Array.isArray(s.enum) && !s.enum.includes(v)) return `${at}: not one of ${s.enum.join(', ')}`;
  if ('const' in s && s.const !== v) return `${at}: expected ${String(s.const)}`;
  if (typeof s.pattern === 'string' && typeof v === 'string' && !new RegExp(s.pattern, 'u').test(v)) return `${at}: does not match ${s.pattern}`;
  if (typeof s.minLength === 'number' && typeof v === 'string' && v.length < s.minLength) return `${at}: too short`;
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) return `${at}: too few items`;
    if (s.items !== undefined) for (let i = 0; i < v.length; i++) { const e = validate(root, s.items as Schema, v[i], `${at}[${i}]`); if (e) return e; }
  }
  if (typeOf(v) === 'object') {
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) return `${at}: too few properties`;
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) return `${at}: too many properties`;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in obj)) return `${at}: missing ${r}`;
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const k of keys) {
      if (s.propertyNames !== undefined) { const e = validate(root, s.propertyNames as Schema, k, `${at}.${k}(name)`); if (e) return e; }
      const sub = Object.hasOwn(props, k) ? props[k] : (s.additionalProperties as Schema | undefined) ?? true;
      const e = validate(root, sub, obj[k], `${at}.${k}`);
      if (e) return e;
    }
  }
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub: Schema) => validate(root, sub, v, at) === null)) return `${at}: matches no alternative`;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((sub: Schema) => validate(root, sub, v, at) === null).length !== 1) return `${at}: must match exactly one alternative`;
  return null;
}

const schemas = policyJsonSchemas();
const tenant = schemas.tenant as Record<string, unknown>;
const intent = schemas.intent as Record<string, unknown>;
const SPEC = new URL('../../../shared/spec/intents.md', import.meta.url);
const INTENTS = fileURLToPath(new URL('../../intents/acme', import.meta.url));

describe('policyJsonSchemas', () => {
  test('draft 2020-12 schemas that use only known keywords and resolvable $refs', () => {
    for (const s of [tenant, intent]) {
      assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
      assert.equal(s.type, 'object');
      assert.equal(s.additionalProperties, false);
      checkWellFormed(s, s);
      assert.doesNotThrow(() => JSON.parse(JSON.stringify(s)));
    }
    assert.deepEqual(intent.required, ['intent', 'steps']);
  });

  test('the spec examples validate', { skip: existsSync(SPEC) ? false : 'shared spec not present' }, () => {
    const blocks = [...readFileSync(SPEC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as Record<string, unknown>);
    for (const b of blocks) assert.equal(validate('tenant' in b ? tenant : intent, 'tenant' in b ? tenant : intent, b), null);
  });

  test('every example file in intents/acme validates', () => {
    for (const f of readdirSync(INTENTS).filter((n) => n.endsWith('.yaml'))) {
      const data = parse(readFileSync(`${INTENTS}/${f}`, 'utf8'));
      const s = f === 'tenant.yaml' ? tenant : intent;
      assert.equal(validate(s, s, data), null, f);
    }
  });

  test('mistakes an editor should flag', () => {
    const base = { intent: 'task.x', steps: [{ stop: null }] };
    assert.equal(validate(intent, intent, base), null);
    const bad: unknown[] = [
      { ...base, steps: [{ frobnicate: {} }] },
      { ...base, steps: [{ webhook: { url: 'https://x.example', retries: 3 } }] },
      { ...base, steps: [{ webhook: { url: 'https://x.example' }, reply: { text: 'x' } }] },
      { ...base, steps: [{ if: { 'sender.phone': 'x' }, then: [{ stop: {} }] }] },
      { ...base, steps: [{ if: { all: [{ tls: true, sender: 'a' }] }, then: [{ stop: {} }] }] },
      { ...base, level: 'admin' },
      { ...base, extra: 1 },
      { intent: 'task.x' },
    ];
    for (const b of bad) assert.notEqual(validate(intent, intent, b), null, JSON.stringify(b));
    assert.notEqual(validate(tenant, tenant, { tenant: 'a', domains: ['x.example'], roles: { dev: { 'task.*': ['publish'] } } }), null);
  });
});
