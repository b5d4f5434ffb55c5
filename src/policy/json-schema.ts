/**
 * JSON Schemas (draft 2020-12) of the policy files, for editors (yaml-language-server:
 * `# yaml-language-server: $schema=intent.schema.json`). They are generated from the same zod
 * schemas the loader uses; only steps and conditions are described as plain alternatives here,
 * because the loader parses those by their key to give precise errors.
 */
import { z } from 'zod';
import { ACTION_NAMES, ACTION_PARAMS } from './actions.ts';
import { FIXED_FIELDS } from './fields.ts';
import { intentShape, tenantSchema } from './schema.ts';
import { STEP_NAME } from './steps.ts';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Condition field names: the fixed ones, `header.NAME` and `steps.NAME.result…`. */
const FIELD_KEY = new RegExp(
  `^(?:${FIXED_FIELDS.map(escape).join('|')}|header\\.[\\x21-\\x39\\x3b-\\x7e]+|steps\\.[A-Za-z][A-Za-z0-9_-]*\\.result(?:\\.[A-Za-z0-9_-]+)*)$`,
);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const matcher = z.union([
  scalar,
  z
    .strictObject({
      eq: scalar.optional(),
      in: z.array(scalar).optional(),
      contains: z.string().optional(),
      matches: z.string().optional(),
      gt: z.union([z.string(), z.number()]).optional(),
      gte: z.union([z.string(), z.number()]).optional(),
      lt: z.union([z.string(), z.number()]).optional(),
      lte: z.union([z.string(), z.number()]).optional(),
      exists: z.boolean().optional(),
    })
    .meta({ minProperties: 1, maxProperties: 1 }),
]);

const condition: z.ZodType = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(condition).min(1) }),
    z.strictObject({ any: z.array(condition).min(1) }),
    z.strictObject({ not: condition }),
    z.record(z.string().regex(FIELD_KEY), matcher).meta({ minProperties: 1, maxProperties: 1 }),
  ]),
);

/** `{ ACTION: params, name? }` for one action; params may be omitted when none are required. */
function actionStep(action: (typeof ACTION_NAMES)[number]) {
  const params = ACTION_PARAMS[action];
  const value = params.safeParse({}).success ? params.nullable() : params;
  return z.strictObject({ name: z.string().regex(STEP_NAME).optional(), [action]: value });
}

const step: z.ZodType = z.lazy(() =>
  z.union([
    ...ACTION_NAMES.map(actionStep),
    z.strictObject({ if: condition, then: z.array(step).min(1), else: z.array(step).optional() }),
  ]),
);

/** JSON Schemas of tenant.yaml and of an intent file, describing the files as written (sizes as `25MB`). */
export function policyJsonSchemas(): { tenant: object; intent: object } {
  const options = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' } as const;
  return {
    tenant: { ...z.toJSONSchema(tenantSchema, options), title: 'intentmail tenant.yaml' },
    intent: { ...z.toJSONSchema(intentShape(z.array(step).min(1)), options), title: 'intentmail intent' },
  };
}
