/**
 * The running router for the admin API tests: SMTP and HTTP listeners started through
 * test/helpers/router.ts, DNS from a real local DNS server, the store on PGlite (or PostgreSQL
 * with DATABASE_URL). Two tenants (acme and globex) so every route's isolation can be tested,
 * a bootstrap admin token, and a small fetch wrapper for real HTTP requests.
 */
import assert from 'node:assert/strict';
import { startDnsServer } from '../helpers/dns-server.ts';
import { buildMessage, signMessage } from '../helpers/dkim.ts';
import { testStoreOptions } from '../helpers/db.ts';
import { startRouter, writePolicyFolder, type TestRouter } from '../helpers/router.ts';
import { makeKeys, makeZone, POLICY } from '../e2e/fixtures.ts';

/** The bootstrap token every harness starts with (INTENTMAIL_ADMIN_TOKEN). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** A second tenant: its own domain, group and intent. */
export const GLOBEX: Record<string, string> = {
  'globex/tenant.yaml': `
tenant: globex
domains: [in.globex.example]
defaults:
  require: dmarc
groups:
  staff: ["@globex.example"]
roles:
  clerk: { "ticket.*": [create] }
`,
  'globex/ticket.open.yaml': `
intent: ticket.open
level: create
senders: ["group:staff"]
steps:
  - stop: {}
`,
};

/** A response read whole: status, headers, JSON (when it is JSON) and text. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // Tests read whatever the route returned; assertions check the shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** Options of one request. */
export interface Call {
  token?: string | null;
  json?: unknown;
  body?: string | Buffer | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
}

/** A started router with helpers. */
export interface Harness {
  router: TestRouter;
  base: string;
  keys: ReturnType<typeof makeKeys>;
  /** One HTTP request; `token` defaults to the admin token, null sends none. */
  call(method: string, path: string, opts?: Call): Promise<Answer>;
  /** A DKIM-signed message (acme.example selector mail, partner.example selector sel). */
  signed(domain: 'acme' | 'partner', from: string, to: string, subject: string): Promise<Buffer>;
  /** Creates a token with the admin token and returns its text and id. */
  token(body: { name?: string; tenant?: string | null; scopes: string[]; expiresAt?: string }): Promise<{ token: string; id: string }>;
  stop(): Promise<void>;
}

/** Starts DNS, a fresh database and the router with both tenants. */
export async function startHarness(opts: { env?: Record<string, string> } = {}): Promise<Harness> {
  const keys = makeKeys();
  const dns = await startDnsServer(makeZone(keys));
  const db = await testStoreOptions();
  const router = await startRouter({
    INTENTMAIL_INTENTS: writePolicyFolder({ ...POLICY, ...GLOBEX }),
    INTENTMAIL_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    INTENTMAIL_DNS_TIMEOUT_MS: '300',
    INTENTMAIL_DATA_DIR: db.dataDir,
    INTENTMAIL_MAX_MESSAGE_SIZE: '2MB',
    INTENTMAIL_ADMIN_TOKEN: ADMIN_TOKEN,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    ...opts.env,
  });
  const base = `http://127.0.0.1:${router.httpPort}`;
  const call: Harness['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] = o.type ?? 'application/json';
    } else if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : new Uint8Array(o.body);
      if (o.type) headers['content-type'] = o.type;
    }
    const res = await fetch(`${base}${path}`, { method, headers, body });
    const text = await res.text();
    let json: unknown = null;
    if (/json/.test(res.headers.get('content-type') ?? '') && text !== '' && !/ndjson/.test(res.headers.get('content-type') ?? '')) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    router,
    base,
    keys,
    call,
    async signed(domain, from, to, subject) {
      const raw = buildMessage({ from, to, subject, text: `Body of ${subject}` });
      return signMessage(raw, { domain: `${domain}.example`, selector: domain === 'acme' ? 'mail' : 'sel', privateKey: keys[domain].privateKey });
    },
    async token(body) {
      const r = await call('POST', '/v1/tokens', { json: { name: body.name ?? 'test', ...body } });
      assert.equal(r.status, 201, r.text);
      return { token: r.json.token as string, id: r.json.id as string };
    },
    async stop() {
      await router.stop();
      await dns.close();
      await db.cleanup();
    },
  };
}

/** Asserts an RFC 9457 problem with the given status and code. */
export function assertProblem(r: Answer, status: number, code: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.json.code, code, r.text);
  assert.equal(r.json.type, `https://intentmail.dev/problems/${code}`);
  assert.equal(r.json.status, status);
  assert.equal(typeof r.json.title, 'string');
  assert.equal(typeof r.json.detail, 'string');
  assert.doesNotMatch(r.text, /\bat .+\.ts:\d+/, 'no stack trace in a problem');
}
