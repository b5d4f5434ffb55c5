/**
 * Zod schemas shared by the routes: the problem document, common query parameters, time
 * stamps, and the problem responses every route documents. Request schemas are strict
 * (an unknown field is a 400, so a typo such as `expires_at` never silently does nothing).
 */
import { z } from '@hono/zod-openapi';
import { LIMITS } from '../core/limits.ts';
import { SCOPES } from './ports.ts';

/** RFC 9457 problem details with our stable `code` (and `type` = https://intentmail.dev/problems/<code>). */
export const ProblemSchema = z
  .looseObject({
    type: z.string().openapi({ example: 'https://intentmail.dev/problems/not_found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'not_found' }),
  })
  .openapi('Problem');

/** An RFC 3339 time stamp with an offset, as accepted in requests. */
export const Rfc3339 = z.iso.datetime({ offset: true }).openapi({ example: '2026-12-31T23:00:00Z' });

/** A time stamp in responses (always UTC, `Z`). */
export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-22T08:00:00.000Z' });

/** Tenant selector: a tenant-scoped token may omit it. */
export const TenantQuery = z.string().min(1).max(100).optional().openapi({ description: 'Tenant name; a tenant-scoped token may omit it', example: 'acme' });

/** A scope name. */
export const ScopeSchema = z.enum(SCOPES).openapi('Scope');

/** A page size (1 … API_PAGE_MAX, default API_PAGE_DEFAULT). */
export const LimitQuery = z.coerce.number().int().min(1).max(LIMITS.API_PAGE_MAX).optional().openapi({ description: `Page size (default ${LIMITS.API_PAGE_DEFAULT}, at most ${LIMITS.API_PAGE_MAX})` });

/** Free text that ends up in the audit record: bounded, and well-formed Unicode (canonical JSON refuses lone surrogates). */
export const Note = z
  .string()
  .max(LIMITS.API_NOTE_CHARS)
  .refine((s) => !/\p{Cs}/u.test(s), 'must be well-formed Unicode text');

/** An address-like entry: at most 64 + 1 + 255 octets (RFC 5321 §4.5.3.1.1 and §4.5.3.1.2), plus a `group:`/`role:` prefix. */
export const Address = z.string().min(1).max(64 + 1 + 255 + 6);

/** `{id}` path parameter. */
export const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: 'id', in: 'path' }, example: '0b9e7c1e-5f0e-4a43-9a0e-2f4b0e6c1d10' }) });

/** A `message/rfc822` request body (raw RFC 5322 bytes). */
export const RawMessageBody = {
  content: {
    'message/rfc822': { schema: z.string().openapi({ format: 'binary', description: 'The raw RFC 5322 message (CRLF line endings; a body with only LF is converted)' }) },
  },
  required: true,
};

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Validation failed (problem `validation_failed`, with `errors`)',
  401: 'No or invalid bearer token (`unauthorized`)',
  403: 'The token lacks the scope (`forbidden`, with `requiredScope`)',
  404: 'No such resource, or one of a tenant the token may not see (`not_found`)',
  409: 'Conflict with the resource state',
  410: 'Gone',
  413: 'Request body over its limit (`payload_too_large`)',
  415: 'Unsupported media type',
  429: 'Too many requests for this token (`api_rate_limited`, with Retry-After)',
};

/** The documented problem responses for the given statuses (401, 403 and 429 are added to every authenticated route). */
export function problemResponses(...statuses: number[]): Record<number, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }> {
  const out: Record<number, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }> = {};
  for (const s of new Set([...statuses, 401, 403, 429])) {
    out[s] = { description: PROBLEM_TEXT[s] ?? 'Problem', content: { 'application/problem+json': { schema: ProblemSchema } } };
  }
  return out;
}

/** Security requirement of every /v1 route. */
export const BEARER = [{ bearer: [] as string[] }];

/** ISO text of a date, or null. */
export function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}
