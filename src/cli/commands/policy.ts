/**
 * `intentmail policy validate [DIR]` and `intentmail policy schema`: check the policy folder
 * the way `serve` loads it, and export JSON Schemas for editors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblems } from '../../app/compose.ts';
import { loadPolicies } from '../../policy/loader.ts';
import { policyJsonSchemas } from '../../policy/json-schema.ts';
import { folderPolicySource } from '../../adapters/node/policy-folder.ts';

/** Dispatches the `policy` sub-commands. */
export async function policyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'validate') return validate(rest);
  if (sub === 'schema') return schema(rest);
  process.stderr.write('usage: intentmail policy validate [DIR] [--strict] | policy schema [--out DIR]\n');
  return 2;
}

async function validate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { strict: { type: 'boolean' } } });
  const dir = positionals[0] ?? process.env.INTENTMAIL_INTENTS ?? './intents';
  const source = folderPolicySource(dir);
  const result = loadPolicies(await source.list(), source.location, process.env);
  if (result.warnings.length > 0) process.stderr.write(`${formatProblems(source.location, result.warnings).replace(/^/gm, 'warning: ')}\n`);
  const problems = values.strict ? [...result.problems, ...result.warnings] : result.problems;
  if (problems.length > 0 || !result.policy) {
    process.stderr.write(`${formatProblems(source.location, problems)}\n`);
    process.stderr.write(`${problems.length} problem(s) in ${source.location}\n`);
    return 1;
  }
  const tenants = [...result.policy.tenants.values()];
  for (const t of tenants) {
    process.stdout.write(`${t.name}: ${t.domains.join(', ')} — ${t.intents.size} intent(s): ${[...t.intents.keys()].sort().join(', ')}\n`);
  }
  process.stdout.write(`ok: ${tenants.length} tenant(s), ${tenants.reduce((n, t) => n + t.intents.size, 0)} intent(s) in ${source.location}\n`);
  return 0;
}

async function schema(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const schemas = policyJsonSchemas();
  if (!values.out) {
    process.stdout.write(`${JSON.stringify(schemas, null, 2)}\n`);
    return 0;
  }
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'tenant.schema.json'), `${JSON.stringify(schemas.tenant, null, 2)}\n`);
  writeFileSync(join(values.out, 'intent.schema.json'), `${JSON.stringify(schemas.intent, null, 2)}\n`);
  process.stdout.write(`wrote ${values.out}/tenant.schema.json and ${values.out}/intent.schema.json\n`);
  return 0;
}
