/**
 * The HTTP application: a Hono app (served by Node through @hono/node-server today, by a
 * Worker later) with every route defined by zod schemas, from which /openapi.json (OpenAPI
 * 3.1) is generated and /docs renders it. Order of checks on /v1: bearer token (401) →
 * per-token rate limit (429) → the route's scope (403) → body size (413) → media type (415)
 * → request schema (400) → tenant visibility (404). Every error is an RFC 9457 problem.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { AuditEvent } from '../core/audit-event.ts';
import { LIMITS } from '../core/limits.ts';
import type { Tenant } from '../policy/types.ts';
import { apiAuditEvent, type ApiChange } from './audit-event.ts';
import { authenticate, principalOf, resolveTenant, type ApiEnv } from './auth.ts';
import type { ApiDeps } from './ports.ts';
import { allowedMethods, errorToProblem, problem, problemHeaders, problemResponse, routeShapes } from './problems.ts';
import { TokenBuckets } from './rate-limit.ts';
import { registerAudit } from './routes/audit.ts';
import { registerEntries } from './routes/entries.ts';
import { registerInbound } from './routes/inbound.ts';
import { registerIntents } from './routes/intents.ts';
import { registerMessages } from './routes/messages.ts';
import { registerMeta } from './routes/meta.ts';
import { registerRoles } from './routes/roles.ts';
import { registerTokens } from './routes/tokens.ts';

/** The app type every route module registers on. */
export type ApiApp = OpenAPIHono<ApiEnv>;

/** What route modules share: the dependencies and the small helpers every route uses. */
export interface RouteContext {
  deps: ApiDeps;
  /** The tenant a request acts on (see resolveTenant). */
  tenant(c: Context<ApiEnv>, requested: string | undefined): Tenant;
  /** The audit event of a change made by this request's principal. */
  event(c: Context<ApiEnv>, change: ApiChange): AuditEvent;
  /** Body limit for small JSON bodies (LIMITS.API_JSON_BODY_BYTES). */
  jsonLimit: MiddlewareHandler<ApiEnv>;
  /** Body limit for a named maximum. */
  limit(bytes: number, what: string): MiddlewareHandler<ApiEnv>;
  /** 415 unless the request's media type is one of `types`. */
  mediaType(...types: string[]): MiddlewareHandler<ApiEnv>;
}

/** Builds the application; nothing listens until a runtime adapter serves `app.fetch`. */
export function createApiApp(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const errors = result.error.issues.map((i) => ({ in: result.target, path: i.path.map(String).join('.'), message: i.message }));
      const first = errors[0];
      throw problem('validation_failed', first ? `${first.in} ${first.path || '(root)'}: ${first.message}` : 'Request validation failed', { errors });
    },
  });
  const limit = (bytes: number, what: string): MiddlewareHandler<ApiEnv> =>
    bodyLimit({
      maxSize: bytes,
      onError: () => {
        throw problem('payload_too_large', `${what} is larger than ${bytes} bytes`, { limit: bytes });
      },
    });
  const ctx: RouteContext = {
    deps,
    tenant: (c, requested) => resolveTenant(principalOf(c), deps.policy().tenants, requested),
    event: (c, change) => apiAuditEvent(principalOf(c), deps.clientIp?.(c) ?? null, deps.clock.now(), change),
    jsonLimit: limit(LIMITS.API_JSON_BODY_BYTES, 'A JSON request body'),
    limit,
    mediaType: (...types) => async (c, next) => {
      const essence = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!types.includes(essence)) throw problem('unsupported_media_type', `Content-Type must be ${types.join(' or ')}`, { accepted: types });
      return next();
    },
  };

  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
  });
  const buckets = new TokenBuckets(deps.clock, deps.rateLimit);
  app.use('/v1/*', authenticate(deps), async (c, next) => {
    const taken = buckets.take(principalOf(c).tokenId);
    if (!taken.allowed) {
      const seconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
      throw problem('api_rate_limited', `Too many requests for this token; retry in ${seconds} s`, { retryAfterSeconds: seconds });
    }
    return next();
  });

  registerMeta(app, ctx);
  registerIntents(app, ctx);
  registerEntries(app, ctx, 'allow');
  registerEntries(app, ctx, 'deny');
  registerRoles(app, ctx);
  registerMessages(app, ctx);
  registerAudit(app, ctx);
  registerTokens(app, ctx);
  registerInbound(app, ctx);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token `im_<id>_<secret>` (POST /v1/tokens), or INTENTMAIL_ADMIN_TOKEN',
  });

  const shapes = routeShapes(app.routes);
  app.notFound((c) => {
    const allow = allowedMethods(shapes, c.req.path);
    const p =
      allow.length > 0
        ? errorToProblem(problem('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}`, { allow }), deps.logger, c.req.path)
        : errorToProblem(problem('not_found', `No route for ${c.req.method} ${c.req.path}`), deps.logger, c.req.path);
    return problemResponse(c, p, problemHeaders(p));
  });
  app.onError((err, c) => {
    const p = errorToProblem(err, deps.logger, `${c.req.method} ${c.req.path}`);
    return problemResponse(c, p, problemHeaders(p));
  });
  return app;
}

/** The OpenAPI 3.1 document of the app (what GET /openapi.json serves). */
export function openApiDocument(app: ApiApp): ReturnType<ApiApp['getOpenAPI31Document']> {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'intentmail admin API',
      version: '1',
      description:
        'Run-time administration of the intentmail router: allowlists, deny entries and role bindings around the policies in git; intents (read, validate, simulate); messages (status, re-drive, legal hold, erasure); the audit trail (query, verify, export); API tokens; and HTTP ingress for relays. Errors are RFC 9457 problem details with a stable `code`.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
  });
}
