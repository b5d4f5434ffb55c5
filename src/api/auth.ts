/**
 * Bearer tokens (RFC 6750) for the admin API. A token reads `im_<id>_<secret>`: the id finds
 * the row, the secret (32 random bytes, base64url) is checked against its stored SHA-256.
 *
 * Why SHA-256 and not a slow password hash (bcrypt, scrypt, Argon2): a slow hash protects
 * low-entropy secrets that people choose, by making each guess of an offline dictionary
 * attack expensive. Our secrets have 256 bits of entropy from the CSPRNG, so even a stolen
 * table of hashes cannot be searched; and every request verifies a token, so a deliberately
 * slow hash would hand anyone who can reach the port a cheap way to burn our CPU.
 *
 * INTENTMAIL_ADMIN_TOKEN is accepted as an all-scope, all-tenant token (id `bootstrap`) to
 * create the first real tokens. Failures all read the same (401) so a caller learns nothing
 * about which tokens exist; comparisons are constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Tenant } from '../policy/types.ts';
import { problem } from './problems.ts';
import { SCOPES, type ApiDeps, type Scope, type TokenRecord } from './ports.ts';

/** The authenticated caller of a request. */
export interface Principal {
  tokenId: string;
  name: string;
  /** null: every tenant. */
  tenant: string | null;
  scopes: ReadonlySet<Scope>;
}

/** Hono environment of the API: the principal set by `authenticate`. */
export interface ApiEnv {
  Variables: { principal: Principal };
}

/** The id of the principal INTENTMAIL_ADMIN_TOKEN authenticates as. */
export const BOOTSTRAP_ID = 'bootstrap';

const TOKEN_RE = /^im_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A new token: its id, the secret's hash to store, and the full text shown once. */
export function newToken(): { id: string; secretHash: string; token: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secretHash: hashSecret(secret), token: `im_${id}_${secret}` };
}

/** Splits a token into id and secret, or null when it is not in our format. */
export function parseToken(text: string): { id: string; secret: string } | null {
  const m = TOKEN_RE.exec(text);
  return m ? { id: m[1], secret: m[2] } : null;
}

/** Lower-case hex SHA-256 of a secret (see the file comment for why not a slow hash). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two strings of any length (compares their SHA-256). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** The audit actor for a principal: `token:<id>`. */
export function actorOf(p: Principal): string {
  return `token:${p.tokenId}`;
}

/** True when the token row can be used at `now`. */
export function tokenUsable(token: TokenRecord, now: Date): boolean {
  return token.revokedAt === null && (token.expiresAt === null || token.expiresAt.getTime() > now.getTime());
}

/** Middleware: resolves the bearer token into the principal, or answers 401. */
export function authenticate(deps: Pick<ApiDeps, 'admin' | 'adminToken' | 'clock'>): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!m) throw problem('unauthorized', header === '' ? 'A bearer token is required (Authorization: Bearer <token>)' : 'The Authorization header is not a bearer token');
    const presented = m[1];
    if (deps.adminToken !== undefined && sameSecret(presented, deps.adminToken)) {
      c.set('principal', { tokenId: BOOTSTRAP_ID, name: 'INTENTMAIL_ADMIN_TOKEN', tenant: null, scopes: new Set(SCOPES) });
      return next();
    }
    const parsed = parseToken(presented);
    const found = parsed ? await deps.admin.findToken(parsed.id) : null;
    // Hash and compare even when the id is unknown, so timing does not tell which ids exist.
    const ok = sameSecret(parsed ? hashSecret(parsed.secret) : '', found?.secretHash ?? '\u0000') && found !== null && tokenUsable(found.token, deps.clock.now());
    if (!ok || !found) throw problem('unauthorized', 'The token is not valid (unknown, revoked or expired)');
    const t = found.token;
    c.set('principal', { tokenId: t.id, name: t.name, tenant: t.tenant, scopes: new Set(t.scopes) });
    return next();
  };
}

/** Middleware: 403 unless the principal holds `scope`. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const p = c.get('principal');
    if (!p.scopes.has(scope)) throw problem('forbidden', `This token lacks the scope ${scope}`, { requiredScope: scope });
    return next();
  };
}

/** The principal of a request (set by `authenticate`). */
export function principalOf(c: Context<ApiEnv>): Principal {
  return c.get('principal');
}

/** True when the principal may see the tenant's data. */
export function canSee(p: Principal, tenant: string): boolean {
  return p.tenant === null || p.tenant === tenant;
}

/**
 * The tenant a request acts on: a tenant-scoped token's own (it may omit `tenant`); an
 * all-tenant token must name one. A tenant the token may not see reads exactly like one
 * that does not exist (404), so existence is never revealed.
 */
export function resolveTenant(p: Principal, tenants: ReadonlyMap<string, Tenant>, requested: string | undefined): Tenant {
  const name = requested ?? p.tenant;
  if (name === null || name === undefined) throw problem('validation_failed', 'tenant is required for a token that is not bound to one tenant', { errors: [{ in: 'query', path: 'tenant', message: 'Required' }] });
  const tenant = canSee(p, name) ? tenants.get(name) : undefined;
  if (tenant === undefined) throw problem('not_found', `No tenant ${name}`);
  return tenant;
}
