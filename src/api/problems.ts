/**
 * RFC 9457 problem details for every error the HTTP surface answers: route errors
 * (IntentmailError via toProblem), request validation, Hono's own HTTP errors (malformed JSON,
 * media type, body size), unknown routes (404) and known routes with the wrong method (405).
 * No response ever carries a stack trace or an internal message.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { IntentmailError, toProblem, type ErrorCode, type Problem } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';

/** The media type of a problem document (RFC 9457 §3). */
export const PROBLEM_TYPE = 'application/problem+json';

/**
 * Writes a problem document with its status and any extra headers. When the request body was
 * refused unread (401, 403, 413, 415 come before it is read) the connection is closed after
 * the answer: the rest of the body is still in flight, and a client that stops sending on an
 * early answer must not have its next request read as the remainder (RFC 9112 §9.6).
 */
export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  const unread = c.req.raw.body !== null && (!c.req.raw.bodyUsed || problem.status === 413);
  return c.body(JSON.stringify(problem), problem.status as 400, { 'content-type': PROBLEM_TYPE, 'cache-control': 'no-store', ...(unread ? { connection: 'close' } : {}), ...headers });
}

/** Shortcut: a problem for `code` with `detail` and extension members. */
export function problem(code: ErrorCode, detail: string, extensions?: Record<string, unknown>): IntentmailError {
  return new IntentmailError(code, detail, extensions ? { detail: extensions } : undefined);
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** Maps any thrown value to a problem; logs what the client must not see. */
export function errorToProblem(err: unknown, logger: Logger, where: string): Problem {
  if (err instanceof IntentmailError) {
    const p = toProblem(err);
    if (p.status >= 500) logger.error('api request failed', { where, code: err.code, error: err.message, cause: err.cause instanceof Error ? err.cause.message : undefined });
    return p;
  }
  if (err instanceof HTTPException) {
    const code = HTTP_CODES[err.status];
    if (code !== undefined) {
      const detail = err.status === 413 ? 'Request body exceeds its size limit' : err.message || 'Request refused';
      return toProblem(new IntentmailError(code, detail));
    }
  }
  logger.error('api request failed', { where, error: err instanceof Error ? err.message : String(err) });
  return toProblem(err);
}

/** Headers that go with a problem: the bearer challenge for 401 (RFC 6750 §3), Retry-After when known. */
export function problemHeaders(p: Problem): Record<string, string> {
  const headers: Record<string, string> = {};
  if (p.status === 401) headers['www-authenticate'] = 'Bearer realm="intentmail"';
  if (typeof p.retryAfterSeconds === 'number') headers['retry-after'] = String(p.retryAfterSeconds);
  if (Array.isArray(p.allow)) headers.allow = (p.allow as string[]).join(', ');
  return headers;
}

/** A compiled route pattern (`/v1/allowlist/:id`) for the 405 check. */
export interface RouteShape {
  method: string;
  pattern: RegExp;
}

/** Compiles Hono route paths (`:param` segments, no wildcards) into matchers. */
export function routeShapes(routes: { method: string; path: string }[]): RouteShape[] {
  return routes
    .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(`^${r.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`),
    }));
}

/** The methods a path is served with (GET implies HEAD), empty when no route matches it. */
export function allowedMethods(shapes: RouteShape[], path: string): string[] {
  const methods = new Set<string>();
  for (const s of shapes) {
    if (!s.pattern.test(path)) continue;
    methods.add(s.method);
    if (s.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}
