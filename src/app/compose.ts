/**
 * The composition root: the one place that turns validated configuration into adapters and
 * wires them into the core's ports. Everything that can be wrong with the configuration is
 * found here, before a port is opened, and reported with the variable or file it concerns.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { type Clock, type Logger, type Resolver, type SignatureVerifier, type Signer, systemClock } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import type { Config } from '../config/env.ts';
import type { PolicyProblem, PolicySet } from '../policy/types.ts';
import { loadPolicies } from '../policy/loader.ts';
import { cachingResolver } from '../auth/caching-resolver.ts';
import { zoneResolver } from '../auth/static-zone.ts';
import { ed25519Signer, ed25519Verifier } from '../audit/keys.ts';
import type { PipelineDeps } from '../pipeline/inbound.ts';
import { folderPolicySource } from '../adapters/node/policy-folder.ts';
import { loadOrCreateKey } from '../adapters/node/key-files.ts';
import { systemDnsServers, udpResolver } from '../adapters/dns/udp-resolver.ts';
import { loadZoneFile } from '../adapters/dns/zone-file.ts';
import { startSmtpListener, type SmtpListener, type SmtpTimeouts } from '../adapters/smtp/listener.ts';
import { nodeClientIp, startHttpServer, swaggerUiAssets, type HttpListener } from '../adapters/http/server.ts';
import { openStoreWithAdmin } from '../store/admin-store.ts';
import { createApiApp, type ApiApp } from '../api/app.ts';
import type { AdminStore, JobControl, RateLimitOptions } from '../api/ports.ts';
import { drizzleStoreOf } from '../store/drizzle-store.ts';
import { openDriver } from '../store/driver.ts';
import { startQueue } from '../queue/boss.ts';
import { createJobControl } from '../queue/control.ts';
import { nudgingStore, startRelay, type Relay } from '../queue/relay.ts';
import { startWorkers } from '../queue/workers.ts';
import { ChainRunner } from '../runner/chain.ts';
import { startParsePool, type ParsePool } from '../runner/parse-pool.ts';
import { stepHandlers } from '../steps/registry.ts';
import type { Protect, StepHandler } from '../steps/types.ts';
import { relayMailer } from '../adapters/mail/relay.ts';
import { httpSmsGateway } from '../adapters/mail/sms-gateway.ts';
import { keyStoreOver } from '../keys/open.ts';
import type { KeyStore } from '../keys/store.ts';
import { importTenantKeyFiles } from '../keys/tenant-files.ts';
import { secureDelivery, type SecureDelivery } from '../secure/delivery.ts';

/** Everything a command needs, built from one Config. */
export interface App {
  config: Config;
  /** The environment the configuration came from (policy `${env.NAME}` references are checked against it). */
  env: Record<string, string | undefined>;
  logger: Logger;
  clock: Clock;
  policy: PolicySet;
  resolver: Resolver;
  /** The master key and the audit signing key, created in the data dir on first use when not configured. */
  keys(): { masterKey: Uint8Array; signer: Signer; verifier: SignatureVerifier };
  /** Opens the store on first use (simulate and policy validate never need one). */
  store(): Promise<Store>;
  /** The admin API's run-time data (tokens, entries, bindings) over the same database as `store()`. */
  admin(): Promise<AdminStore>;
  pipeline(): Promise<PipelineDeps>;
  close(): Promise<void>;
}

/** Formats policy problems as `file:line:column: field: message` lines. */
export function formatProblems(location: string, problems: PolicyProblem[]): string {
  return problems.map((p) => `${location}/${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n');
}

/** Loads the policy folder or throws naming every problem (the router refuses to start on them). */
export async function loadPolicyFolder(dir: string, env: Record<string, string | undefined>, logger: Logger): Promise<PolicySet> {
  const source = folderPolicySource(dir);
  const files = await source.list();
  const result = loadPolicies(files, source.location, env);
  // Unset ${env.NAME} references are expected on a fresh clone: one line names them all.
  const unset = result.warnings.filter((w) => /environment variable \S+ is not set/.test(w.message));
  if (unset.length > 0) {
    const names = [...new Set(unset.map((w) => /environment variable (\S+)/.exec(w.message)![1]))];
    logger.warn(`policy: ${names.length} environment variable(s) referenced by steps are not set; those steps will fail until they are: ${names.join(', ')}`);
  }
  for (const w of result.warnings) if (!unset.includes(w)) logger.warn(`policy: ${formatProblems(source.location, [w])}`);
  if (!result.policy || result.problems.length > 0) {
    throw new IntentmailError('policy_invalid', `policy folder ${source.location} has ${result.problems.length} problem(s):\n${formatProblems(source.location, result.problems)}`);
  }
  return result.policy;
}

/** Builds the resolver: the configured or system DNS servers, cached per TTL, with an optional static zone overlay. */
export function buildResolver(config: Config, clock: Clock): Resolver {
  const servers = config.dnsServers ?? systemDnsServers();
  if (servers.length === 0) throw new IntentmailError('config_invalid', 'INTENTMAIL_DNS_SERVERS: no DNS servers configured and none found on the system', { detail: { variable: 'INTENTMAIL_DNS_SERVERS' } });
  const cached = cachingResolver(udpResolver({ servers, timeoutMs: config.dnsTimeoutMs }), clock);
  if (!config.dnsZoneFile) return cached;
  let zone;
  try {
    zone = loadZoneFile(config.dnsZoneFile);
  } catch (err) {
    throw new IntentmailError('config_invalid', `INTENTMAIL_DNS_ZONE: cannot load ${config.dnsZoneFile}: ${err instanceof Error ? err.message : String(err)}`, { detail: { variable: 'INTENTMAIL_DNS_ZONE' } });
  }
  return zoneResolver(zone, cached);
}

/** Builds the application from configuration; opens nothing that listens. */
export async function buildApp(config: Config, opts: { logger: Logger; env: Record<string, string | undefined>; clock?: Clock }): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger;
  const policy = await loadPolicyFolder(config.intentsDir, opts.env, logger);
  const resolver = buildResolver(config, clock);
  let keys: ReturnType<App['keys']> | null = null;
  const getKeys = () => {
    if (keys) return keys;
    const masterKey = loadOrCreateKey(config.dataDir, 'master.key', 'INTENTMAIL_MASTER_KEY', config.masterKey, logger);
    const signer = ed25519Signer(loadOrCreateKey(config.dataDir, 'audit-signing.key', 'INTENTMAIL_AUDIT_KEY', config.auditKey, logger));
    keys = { masterKey, signer, verifier: ed25519Verifier({ [signer.keyId]: signer.publicKey }) };
    return keys;
  };
  let stores: Promise<{ store: Store; admin: AdminStore }> | null = null;
  const openStores = () => (stores ??= openStoreWithAdmin({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, signer: getKeys().signer, clock, logger }));
  const getStore = async () => (await openStores()).store;
  const getAdmin = async () => (await openStores()).admin;
  return {
    config,
    env: opts.env,
    logger,
    clock,
    policy,
    resolver,
    keys: getKeys,
    store: getStore,
    admin: getAdmin,
    pipeline: async () => {
      const admin = await getAdmin();
      const grants = (tenant: string, intent: string) => admin.runtimeGrants(tenant, intent);
      return { resolver, store: await getStore(), clock, logger, masterKey: getKeys().masterKey, mta: config.hostname, maxMessageBytes: config.maxMessageBytes, grants };
    },
    close: async () => {
      if (stores) await (await stores).store.close();
    },
  };
}

/** Options of the action chain in this process (tests shorten its timers; secure delivery adds handlers). */
export interface ChainOptions {
  /** Chains run at once (default INTENTMAIL_WORKER_CONCURRENCY; 0: no workers here, control surface only). */
  concurrency?: number;
  /** Handlers for actions beyond the built-in ones (smime, pgp, pdf_container, filelink, …). */
  handlers?: Record<string, StepHandler>;
  /** Encryption of replies and forwards (default: `encrypt: none` only). */
  protect?: Protect;
  /** Added to a step's timeout to form its claim (default LIMITS.STEP_LEASE_MARGIN_MS). */
  leaseMarginMs?: number;
  /** How often the queue looks for jobs of dead workers, in seconds (default INTENTMAIL_WORKER_RECOVERY_INTERVAL). */
  superviseIntervalSeconds?: number;
  /** How often idle workers poll when no notification arrives, in seconds. */
  pollingIntervalSeconds?: number;
}

/** The action chain in this process: the control surface, and (with workers) the outbox relay and the queue workers. */
export interface Chain {
  control: ReturnType<typeof createJobControl>;
  /** Null when this process runs no workers. */
  relay: Relay | null;
  /** Parses messages on the parser threads (the pipeline and the runner share them). */
  parse: (raw: Uint8Array) => ReturnType<ParsePool['parse']>;
  /** `key.smime` / `key.pgp` from the tenant key store, for the accept-time plan. */
  keyPresence: SecureDelivery['keyPresence'];
  stop(): Promise<void>;
}

/**
 * Starts the action chain: pg-boss on the store's database, the outbox relay that queues
 * accepted jobs, and worker loops that run the steps (`serve` and `worker`).
 */
export async function startChain(app: App, opts: ChainOptions = {}): Promise<Chain> {
  const { config, logger, clock } = app;
  const store = drizzleStoreOf(await app.store());
  const driver = store.driver;
  const control = createJobControl(driver.db);
  const parser = startParsePool(LIMITS.PARSE_THREADS);
  const parse = (raw: Uint8Array) => parser.parse(raw);
  const concurrency = opts.concurrency ?? config.workerConcurrency;
  // Secure delivery (smime, pgp, pdf_container, verify_signature; encrypt: on outbound mail) over the tenant key store on this database.
  const keyStore = keyStoreOver(driver, { masterKey: app.keys().masterKey, clock, audit: async (event) => void (await store.appendAudit(event)) });
  const secure = secureDelivery(keyStore);
  await importPolicyKeyFiles(app, keyStore);
  if (concurrency === 0) return { control, relay: null, parse, keyPresence: secure.keyPresence, stop: () => parser.close() };
  const queue = await startQueue(driver, logger, { superviseIntervalSeconds: opts.superviseIntervalSeconds ?? config.workerRecoverySeconds });
  // On a server the chains get a pool of their own: SMTP accepts waiting on the audit-chain lock
  // must not hold every connection the workers need. PGlite is one session for everyone.
  const own = driver.kind === 'postgres' ? await openDriver({ databaseUrl: driver.url!, dataDir: config.dataDir }) : null;
  const db = own?.db ?? driver.db;
  const mailer = config.relayUrl ? relayMailer(config.relayUrl, { hostname: config.hostname }) : null;
  const runner = new ChainRunner({
    db,
    appendAudit: (tx, tenant, events) => store.appendAuditInTx(tx, tenant, events),
    queue,
    policy: () => app.policy,
    masterKey: app.keys().masterKey,
    handlers: stepHandlers({ ...secure.handlers, ...opts.handlers }),
    ports: {
      clock,
      logger,
      mailer,
      fetch: globalThis.fetch,
      hostname: config.hostname,
      fromAddress: (tenant) => config.mailFrom ?? `intentmail@${tenant.domains[0]}`,
      env: app.env,
      audit: async (event) => {
        await store.appendAudit(event);
      },
      sms: config.smsGatewayUrl ? httpSmsGateway(config.smsGatewayUrl) : null,
      protect: opts.protect ?? secure.protect,
      webhookInlineBytes: config.webhookInlineBytes,
    },
    env: app.env,
    retrySchedule: config.retrySchedule,
    clock,
    logger,
    leaseMarginMs: opts.leaseMarginMs,
    parse,
    keyPresence: secure.keyPresence,
    learn: secure.learn,
  });
  const relay = startRelay({ db, queue, logger });
  const workers = await startWorkers({ queue, runner, db, concurrency, logger, clock, audit: (event) => store.appendAudit(event), pollingIntervalSeconds: opts.pollingIntervalSeconds });
  logger.info('workers started', { concurrency, relay: mailer ? 'configured' : 'none (mail steps fail until INTENTMAIL_RELAY_URL is set)' });
  return {
    control,
    relay,
    parse,
    keyPresence: secure.keyPresence,
    stop: async () => {
      await workers.stop();
      await relay.stop();
      await queue.stop();
      mailer?.close();
      await own?.close();
      await parser.close();
    },
  };
}

/**
 * Imports the key files each tenant.yaml names (idempotent: keyed by fingerprint). A missing
 * file or password variable stops start-up; expired or revoked material is refused, logged
 * and audited, and the router runs without it.
 */
async function importPolicyKeyFiles(app: App, keyStore: KeyStore): Promise<void> {
  for (const tenant of app.policy.tenants.values()) {
    if (tenant.keyFiles.length === 0) continue;
    const dir = join(app.config.intentsDir, dirname(tenant.origin.file));
    for (const outcome of await importTenantKeyFiles(keyStore, tenant.name, dir, tenant.keyFiles, app.env)) {
      const fields = { tenant: tenant.name, file: outcome.file, kind: outcome.kind, fingerprint: outcome.fingerprint, reason: outcome.reason };
      if (outcome.status === 'refused') app.logger.warn('key file refused', fields);
      else app.logger.info(`key file ${outcome.status}`, fields);
    }
  }
}

/** Options of `startServing` beyond the configuration. */
export interface ServeOptions {
  /** The action chain's options (workers run in `serve` unless INTENTMAIL_WORKER_CONCURRENCY is 0). */
  chain?: ChainOptions;
  timeouts?: Partial<SmtpTimeouts>;
  /** Per-token API rate limit (default LIMITS.API_RATE_BURST / API_RATE_PER_SECOND). */
  apiRateLimit?: RateLimitOptions;
  /** The action-chain queue's control surface for message status and re-drive; null/absent until the queue runs here. */
  jobs?: JobControl | null;
}

/** The running router: SMTP ingress and the HTTP listener. */
export interface Running {
  smtp: SmtpListener;
  http: HttpListener;
  /** The action chain running in this process. */
  chain: Chain;
  /** The HTTP application the listener serves (its route list is what /openapi.json must cover). */
  api: ApiApp;
  close(): Promise<void>;
}

/** Starts the listeners of `serve`. */
export async function startServing(app: App, opts: ServeOptions = {}): Promise<Running> {
  const { config } = app;
  const tls = config.tlsCert && config.tlsKey ? readTls(config.tlsCert, config.tlsKey) : undefined;
  const store = await app.store();
  const chain = await startChain(app, opts.chain);
  // Every local accept nudges the outbox relay, so a chain starts without waiting for its poll.
  const pipeline = await app.pipeline();
  const deps = { ...pipeline, parse: chain.parse, keyPresence: chain.keyPresence, ...(chain.relay ? { store: nudgingStore(pipeline.store!, chain.relay) } : {}) };
  const smtp = await startSmtpListener({
    host: config.smtpHost,
    port: config.smtpPort,
    hostname: config.hostname,
    tls,
    maxConnections: config.maxConnections,
    policy: () => app.policy,
    deps,
    logger: app.logger,
    timeouts: opts.timeouts,
  });
  const api = createApiApp({
    policy: () => app.policy,
    policySource: folderPolicySource(config.intentsDir),
    env: app.env,
    store,
    admin: await app.admin(),
    pipeline: deps,
    verifier: app.keys().verifier,
    masterKey: app.keys().masterKey,
    jobs: opts.jobs ?? chain.control,
    adminToken: config.adminToken,
    clock: app.clock,
    logger: app.logger,
    maxMessageBytes: config.maxMessageBytes,
    rateLimit: opts.apiRateLimit,
    docs: swaggerUiAssets(),
    clientIp: nodeClientIp,
  });
  const http = await startHttpServer({ host: config.httpHost, port: config.httpPort, fetch: api.fetch, logger: app.logger });
  // Sign the chain heads periodically so a quiet tenant's last records are covered too.
  const checkpointTimer = setInterval(() => {
    void store.auditTenants().then((tenants) => Promise.all(tenants.map((t) => store.checkpoint(t)))).catch((err: unknown) => {
      app.logger.warn('audit checkpoint failed', { error: err instanceof Error ? err.message : String(err) });
    });
  }, 10_000);
  checkpointTimer.unref();
  return {
    smtp,
    http,
    chain,
    api,
    close: async () => {
      clearInterval(checkpointTimer);
      await smtp.close();
      await http.close();
      await chain.stop();
      for (const t of await store.auditTenants()) await store.checkpoint(t);
    },
  };
}

function readTls(certPath: string, keyPath: string): { key: Buffer; cert: Buffer } {
  const read = (path: string, variable: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new IntentmailError('config_invalid', `${variable}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { detail: { variable } });
    }
  };
  return { cert: read(certPath, 'INTENTMAIL_TLS_CERT'), key: read(keyPath, 'INTENTMAIL_TLS_KEY') };
}
