/**
 * Builds loaded `Tenant` and `Intent` objects from one validated file each, and reports what only
 * makes sense once the file is read: references to groups and roles, the file name, the lines of
 * steps, and warnings for unset environment variables and unknown template data.
 */
import { gitBlobId } from './blob.ts';
import type { IntentInput, TenantInput } from './schema.ts';
import { envReferences, TEMPLATE_ROOTS, templatePaths } from './template.ts';
import type { Intent, PolicyProblem, Step, Tenant } from './types.ts';
import type { YamlSource } from './yaml-source.ts';

type Path = (string | number)[];

/** A problem at `path` of a file. */
export function problemAt(src: YamlSource, path: readonly (string | number)[], message: string): PolicyProblem {
  return { file: src.file, ...src.locate(path), field: path.join('.'), message };
}

/** The tenant of a validated tenant.yaml (its intents are added by the loader). */
export function buildTenant(src: YamlSource, text: string, t: TenantInput): Tenant {
  const d = t.defaults ?? {};
  return {
    name: t.tenant,
    domains: t.domains,
    origin: { file: src.file, version: gitBlobId(text) },
    defaults: { require: d.require ?? 'dmarc', limits: d.limits ?? {}, trustedArcSealers: d.trusted_arc_sealers ?? [] },
    groups: t.groups ?? {},
    roles: t.roles ?? {},
    members: t.members ?? {},
    keyFiles: (t.keys ?? []).map((k) => ({ path: k.file, ...(k.password ? { passwordEnv: /^\$\{env\.(\w+)\}$/.exec(k.password)![1] } : {}) })),
    intents: new Map(),
  };
}

/** Role bindings must name roles the tenant defines. */
export function checkTenantRefs(src: YamlSource, t: Tenant): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  for (const [member, roles] of Object.entries(t.members)) {
    roles.forEach((role, i) => {
      if (!Object.hasOwn(t.roles, role)) out.push(problemAt(src, ['members', member, i], `role "${role}" is not defined under roles`));
    });
  }
  return out;
}

/** `group:NAME` and `role:NAME` entries must exist in the tenant. */
export function checkSenderRefs(src: YamlSource, intent: IntentInput, tenant: Tenant): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  for (const key of ['senders', 'deny'] as const) {
    (intent[key] ?? []).forEach((entry, i) => {
      const [kind, name] = entry.split(':', 2);
      if (kind === 'group' && !Object.hasOwn(tenant.groups, name)) out.push(problemAt(src, [key, i], `group "${name}" is not defined in tenant.yaml`));
      if (kind === 'role' && !Object.hasOwn(tenant.roles, name)) out.push(problemAt(src, [key, i], `role "${name}" is not defined in tenant.yaml`));
    });
  }
  return out;
}

/** The intent file must be named after the intent: `task.linear.yaml` holds `intent: task.linear`. */
export function checkFileName(src: YamlSource, intent: string): PolicyProblem[] {
  const base = src.file.slice(src.file.lastIndexOf('/') + 1);
  const stem = base.replace(/\.ya?ml$/i, '');
  return stem === intent ? [] : [problemAt(src, ['intent'], `file ${base} holds intent "${intent}": name it ${intent}.yaml`)];
}

/** Sets each step's line from its position in the file; paths follow the YAML (`steps.0.then.1`). */
export function assignLines(src: YamlSource, steps: Step[], prefix: Path): void {
  steps.forEach((step, i) => {
    step.line = src.locate([...prefix, i]).line;
    if (step.kind === 'if') {
      assignLines(src, step.then, [...prefix, i, 'then']);
      assignLines(src, step.else, [...prefix, i, 'else']);
    }
  });
}

/** Every string inside step params, with its path. */
function paramStrings(value: unknown, path: Path, out: { path: Path; text: string }[]): void {
  if (typeof value === 'string') out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => paramStrings(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paramStrings(v, [...path, k], out);
}

/** Warnings for `${env.NAME}` variables that are not set and templates reading data no message has. */
export function stepWarnings(src: YamlSource, steps: Step[], prefix: Path, env: Record<string, string | undefined>): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  steps.forEach((step, i) => {
    if (step.kind === 'if') {
      out.push(...stepWarnings(src, step.then, [...prefix, i, 'then'], env), ...stepWarnings(src, step.else, [...prefix, i, 'else'], env));
      return;
    }
    const found: { path: Path; text: string }[] = [];
    paramStrings(step.params, [...prefix, i, step.action], found);
    for (const s of found) {
      for (const name of envReferences(s.text)) {
        if (!Object.hasOwn(env, name) || env[name] === undefined) out.push(problemAt(src, s.path, `environment variable ${name} is not set`));
      }
      for (const p of templatePaths(s.text)) {
        if (!TEMPLATE_ROOTS.includes(p[0])) out.push(problemAt(src, s.path, `template reads "${p.join('.')}", which no message provides (known: ${TEMPLATE_ROOTS.join(', ')})`));
      }
    }
  });
  return out;
}

/** The loaded intent: level, require and limits fall back to the tenant's defaults. */
export function buildIntent(src: YamlSource, text: string, input: IntentInput, tenant: Tenant): Intent {
  assignLines(src, input.steps, ['steps']);
  return {
    name: input.intent,
    tenant: tenant.name,
    description: input.description ?? '',
    level: input.level ?? 'create',
    senders: input.senders ?? [],
    deny: input.deny ?? [],
    require: input.require ?? tenant.defaults.require,
    limits: { ...tenant.defaults.limits, ...(input.limits ?? {}) },
    steps: input.steps,
    origin: { file: src.file, version: gitBlobId(text) },
  };
}

