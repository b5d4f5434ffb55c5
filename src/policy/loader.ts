/**
 * Loads the policy folder (../shared/spec/intents.md, "Layout"): a folder holding `tenant.yaml`
 * is a tenant, every other `*.yaml`/`*.yml` beside it is one intent. All files are checked and
 * all problems reported at once, each with file, line, column and field; the policy set is
 * returned only when there are none, so the router never starts on a half-valid policy.
 * The core never reads `process.env`: the caller passes the environment to check references against.
 */
import type { z } from 'zod';
import type { PolicyFile } from '../core/ports.ts';
import { LIMITS } from '../core/limits.ts';
import { buildIntent, buildTenant, checkFileName, checkSenderRefs, checkTenantRefs, problemAt, stepWarnings } from './build.ts';
import { fromZodIssues } from './issues.ts';
import { intentSchema, tenantSchema } from './schema.ts';
import type { Intent, PolicyProblem, PolicySet, Tenant } from './types.ts';
import { readYaml, type YamlSource } from './yaml-source.ts';

/** What `loadPolicies` returns: the policy set only when `problems` is empty. */
export interface LoadResult {
  policy: PolicySet | null;
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
}

interface Acc {
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
}

const YAML_FILE = /\.ya?ml$/i;
const TENANT_FILE = 'tenant.yaml';

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Reads a file as YAML unless it is too large; returns null (with a problem) when it cannot be read. */
function readFile(f: PolicyFile, acc: Acc): YamlSource | null {
  const bytes = new TextEncoder().encode(f.text).byteLength;
  if (bytes > LIMITS.MAX_POLICY_FILE_BYTES) {
    acc.problems.push({ file: f.path, line: 1, column: 1, field: '', message: `file is ${bytes} bytes; policy files are at most ${LIMITS.MAX_POLICY_FILE_BYTES}` });
    return null;
  }
  const src = readYaml(f.path, f.text);
  acc.problems.push(...src.problems);
  acc.warnings.push(...src.warnings);
  return src.problems.length === 0 ? src : null;
}

/** Validates data with a zod schema and turns its issues into located problems. */
function validate<S extends z.ZodType>(src: YamlSource, schema: S, acc: Acc): z.output<S> | null {
  const r = schema.safeParse(src.data);
  if (r.success) return r.data;
  for (const issue of fromZodIssues(r.error.issues)) acc.problems.push(problemAt(src, issue.path, issue.message));
  return null;
}

/** Loads a tenant folder's tenant.yaml. */
function loadTenant(f: PolicyFile, acc: Acc): { tenant: Tenant; src: YamlSource } | null {
  const src = readFile(f, acc);
  const input = src && validate(src, tenantSchema, acc);
  if (!src || !input) return null;
  const tenant = buildTenant(src, f.text, input);
  const refs = checkTenantRefs(src, tenant);
  acc.problems.push(...refs);
  return refs.length === 0 ? { tenant, src } : null;
}

/** Loads one intent file of a tenant; `tenant` is null when tenant.yaml itself failed (the intent is still checked). */
function loadIntent(f: PolicyFile, tenant: Tenant | null, env: Record<string, string | undefined>, acc: Acc): Intent | null {
  const src = readFile(f, acc);
  const input = src && validate(src, intentSchema, acc);
  if (!src || !input) return null;
  const own = [...checkFileName(src, input.intent), ...(tenant ? checkSenderRefs(src, input, tenant) : [])];
  acc.problems.push(...own);
  acc.warnings.push(...stepWarnings(src, input.steps, ['steps'], env));
  if (own.length > 0 || !tenant) return null;
  const intent = buildIntent(src, f.text, input, tenant);
  const other = tenant.intents.get(intent.name);
  if (other) {
    acc.problems.push(problemAt(src, ['intent'], `intent "${intent.name}" is already defined in ${other.origin.file}`));
    return null;
  }
  tenant.intents.set(intent.name, intent);
  return intent;
}

/** Adds a tenant to the set unless its name or one of its domains is taken. */
function register(set: PolicySet, tenant: Tenant, src: YamlSource, acc: Acc): void {
  const before = acc.problems.length;
  const same = set.tenants.get(tenant.name);
  if (same) acc.problems.push(problemAt(src, ['tenant'], `tenant "${tenant.name}" is already defined in ${same.origin.file}`));
  tenant.domains.forEach((domain, i) => {
    const owner = set.byDomain.get(domain);
    if (owner) acc.problems.push(problemAt(src, ['domains', i], `domain ${domain} already belongs to tenant "${owner.name}" (${owner.origin.file})`));
  });
  if (acc.problems.length > before) return;
  set.tenants.set(tenant.name, tenant);
  for (const domain of tenant.domains) set.byDomain.set(domain, tenant);
}

/** Groups policy files by folder, keeping only YAML, with `/` separators and no leading `./`. */
function byFolder(files: PolicyFile[]): Map<string, PolicyFile[]> {
  const folders = new Map<string, PolicyFile[]>();
  const sorted = files
    .map((f) => ({ path: f.path.replaceAll('\\', '/').replace(/^(\.\/)+/, ''), text: f.text }))
    .filter((f) => YAML_FILE.test(f.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    const dir = dirOf(f.path);
    folders.set(dir, [...(folders.get(dir) ?? []), f]);
  }
  return folders;
}

/** Loads one folder: a tenant with its intents, or (without tenant.yaml) a problem for each file. */
function loadFolder(set: PolicySet, files: PolicyFile[], env: Record<string, string | undefined>, acc: Acc): void {
  const tenantFile = files.find((f) => baseOf(f.path) === TENANT_FILE);
  if (!tenantFile) {
    for (const f of files) {
      acc.problems.push({ file: f.path, line: 1, column: 1, field: '', message: 'not in a tenant folder: intents live beside a tenant.yaml' });
    }
    return;
  }
  const loaded = loadTenant(tenantFile, acc);
  for (const f of files) if (f !== tenantFile) loadIntent(f, loaded?.tenant ?? null, env, acc);
  if (loaded) register(set, loaded.tenant, loaded.src, acc);
}

/**
 * Loads and checks every policy file. `location` names the folder in messages; `env` holds the
 * environment variables `${env.NAME}` references are checked against (unset ones are warnings).
 */
export function loadPolicies(files: PolicyFile[], location: string, env: Record<string, string | undefined> = {}): LoadResult {
  const acc: Acc = { problems: [], warnings: [] };
  if (files.length > LIMITS.MAX_POLICY_FILES) {
    acc.problems.push({ file: location, line: 1, column: 1, field: '', message: `${files.length} files; a policy folder holds at most ${LIMITS.MAX_POLICY_FILES}` });
    return { policy: null, ...acc };
  }
  const set: PolicySet = { tenants: new Map(), byDomain: new Map(), location };
  for (const folderFiles of byFolder(files).values()) loadFolder(set, folderFiles, env, acc);
  return { policy: acc.problems.length === 0 ? set : null, ...acc };
}
