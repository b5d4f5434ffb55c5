/**
 * Configuration from the environment (../shared/spec/interface.md, "Configuration"), validated
 * in one place. A bad value stops the router with the variable's name; nothing else in the
 * code base reads `process.env`.
 */
import { z } from 'zod';
import { IntentmailError } from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from '../queue/schedule.ts';

/** The validated configuration the composition root builds everything from. */
export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  intentsDir: string;
  smtpHost: string;
  smtpPort: number;
  httpHost: string;
  httpPort: number;
  publicUrl: string;
  dnsServers: string[] | undefined;
  dnsZoneFile: string | undefined;
  dnsTimeoutMs: number;
  relayUrl: string | undefined;
  adminToken: string | undefined;
  masterKey: string | undefined;
  auditKey: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  hostname: string;
  maxMessageBytes: number;
  maxConnections: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Waits before each retry of a step that failed temporarily, in milliseconds. */
  retrySchedule: readonly number[];
  /** Chains one process runs at once; 0 makes `serve` ingress-only (workers run elsewhere). */
  workerConcurrency: number;
  /** HTTP SMS gateway for `notify: { channel: sms }` (JSON POST `{to, text}`). */
  smsGatewayUrl: string | undefined;
  /** Attachment bytes inlined (base64) in webhook payloads. */
  webhookInlineBytes: number;
  /** From address of outbound mail; unset: `intentmail@<the tenant's first domain>`. */
  mailFrom: string | undefined;
  /** Seconds between the queue's looks for chains whose worker died. */
  workerRecoverySeconds: number;
}

const port = z.coerce.number().int().min(0).max(65535);
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)(:\d{1,5})?$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i;
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Each variable, its schema and default; the key is the environment variable's name. */
const SCHEMA = {
  DATABASE_URL: optional.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL'),
  INTENTMAIL_DATA_DIR: z.string().min(1).default('./.intentmail'),
  INTENTMAIL_INTENTS: z.string().min(1).default('./intents'),
  INTENTMAIL_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  INTENTMAIL_SMTP_PORT: port.default(2525),
  INTENTMAIL_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  INTENTMAIL_HTTP_PORT: port.default(8025),
  INTENTMAIL_PUBLIC_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8025'),
  INTENTMAIL_DNS_SERVERS: optional.refine(
    (v) => v === undefined || v.split(',').every((s) => hostPort.test(s.trim())),
    'must be a comma list of host[:port]',
  ),
  INTENTMAIL_DNS_ZONE: optional,
  INTENTMAIL_DNS_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(LIMITS.DNS_QUERY_MS),
  INTENTMAIL_RELAY_URL: optional.refine((v) => v === undefined || /^smtps?:\/\//.test(v), 'must be an smtp:// or smtps:// URL'),
  INTENTMAIL_ADMIN_TOKEN: optional.refine((v) => v === undefined || v.length >= 24, 'must be at least 24 characters'),
  INTENTMAIL_MASTER_KEY: optional.refine((v) => v === undefined || isBase64Bytes(v, 32), 'must be base64 of exactly 32 bytes'),
  INTENTMAIL_AUDIT_KEY: optional.refine((v) => v === undefined || isBase64Bytes(v, 32), 'must be base64 of a 32-byte Ed25519 seed'),
  INTENTMAIL_TLS_CERT: optional,
  INTENTMAIL_TLS_KEY: optional,
  INTENTMAIL_HOSTNAME: optional,
  INTENTMAIL_MAX_MESSAGE_SIZE: optional.refine((v) => v === undefined || SIZE_RE.test(v), 'must be a size such as 25MB'),
  INTENTMAIL_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100_000).default(LIMITS.MAX_CONNECTIONS),
  INTENTMAIL_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  INTENTMAIL_RETRY_SCHEDULE: optional.refine((v) => v === undefined || scheduleProblem(v) === null, { error: (issue) => scheduleProblem(String(issue.input)) ?? 'invalid value' }),
  INTENTMAIL_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(LIMITS.MAX_WORKER_CONCURRENCY).default(LIMITS.WORKER_CONCURRENCY),
  INTENTMAIL_SMS_GATEWAY_URL: optional.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), 'must be an http:// or https:// URL'),
  INTENTMAIL_WEBHOOK_INLINE_MAX: optional.refine((v) => v === undefined || SIZE_RE.test(v), 'must be a size such as 256KB (0 inlines no attachment content)'),
  INTENTMAIL_WORKER_RECOVERY_INTERVAL: z.coerce.number().int().min(1).max(3600).default(LIMITS.QUEUE_SUPERVISE_S),
  INTENTMAIL_MAIL_FROM: optional.refine((v) => v === undefined || /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/.test(v), 'must be an e-mail address'),
} as const;

/** The environment variable names the router reads (also accepted as `--flags` on `serve`). */
export const CONFIG_VARIABLES = Object.keys(SCHEMA) as (keyof typeof SCHEMA)[];

/** Parses the environment into a Config or throws naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>, defaults: { hostname: string }): Config {
  const values: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const raw = env[name];
    const parsed = SCHEMA[name].safeParse(raw === '' ? undefined : raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'invalid value';
      throw new IntentmailError('config_invalid', `${name}: ${why}`, { detail: { variable: name } });
    }
    values[name] = parsed.data;
  }
  const v = values as { [K in keyof typeof SCHEMA]: z.output<(typeof SCHEMA)[K]> };
  if ((v.INTENTMAIL_TLS_CERT === undefined) !== (v.INTENTMAIL_TLS_KEY === undefined)) {
    const missing = v.INTENTMAIL_TLS_CERT === undefined ? 'INTENTMAIL_TLS_CERT' : 'INTENTMAIL_TLS_KEY';
    throw new IntentmailError('config_invalid', `${missing}: must be set together with ${missing === 'INTENTMAIL_TLS_CERT' ? 'INTENTMAIL_TLS_KEY' : 'INTENTMAIL_TLS_CERT'}`, {
      detail: { variable: missing },
    });
  }
  const maxMessageBytes = v.INTENTMAIL_MAX_MESSAGE_SIZE === undefined ? LIMITS.MAX_MESSAGE_BYTES : parseSizeValue(v.INTENTMAIL_MAX_MESSAGE_SIZE);
  return {
    databaseUrl: v.DATABASE_URL,
    dataDir: v.INTENTMAIL_DATA_DIR,
    intentsDir: v.INTENTMAIL_INTENTS,
    smtpHost: v.INTENTMAIL_SMTP_HOST,
    smtpPort: v.INTENTMAIL_SMTP_PORT,
    httpHost: v.INTENTMAIL_HTTP_HOST,
    httpPort: v.INTENTMAIL_HTTP_PORT,
    publicUrl: v.INTENTMAIL_PUBLIC_URL,
    dnsServers: v.INTENTMAIL_DNS_SERVERS?.split(',').map((s) => s.trim()),
    dnsZoneFile: v.INTENTMAIL_DNS_ZONE,
    dnsTimeoutMs: v.INTENTMAIL_DNS_TIMEOUT_MS,
    relayUrl: v.INTENTMAIL_RELAY_URL,
    adminToken: v.INTENTMAIL_ADMIN_TOKEN,
    masterKey: v.INTENTMAIL_MASTER_KEY,
    auditKey: v.INTENTMAIL_AUDIT_KEY,
    tlsCert: v.INTENTMAIL_TLS_CERT,
    tlsKey: v.INTENTMAIL_TLS_KEY,
    hostname: v.INTENTMAIL_HOSTNAME ?? defaults.hostname,
    maxMessageBytes,
    maxConnections: v.INTENTMAIL_MAX_CONNECTIONS,
    logLevel: v.INTENTMAIL_LOG_LEVEL,
    retrySchedule: parseRetrySchedule(v.INTENTMAIL_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE),
    workerConcurrency: v.INTENTMAIL_WORKER_CONCURRENCY,
    smsGatewayUrl: v.INTENTMAIL_SMS_GATEWAY_URL,
    webhookInlineBytes: v.INTENTMAIL_WEBHOOK_INLINE_MAX === undefined ? LIMITS.WEBHOOK_INLINE_BYTES : parseSizeValue(v.INTENTMAIL_WEBHOOK_INLINE_MAX),
    mailFrom: v.INTENTMAIL_MAIL_FROM?.toLowerCase(),
    workerRecoverySeconds: v.INTENTMAIL_WORKER_RECOVERY_INTERVAL,
  };
}

/** Turns `--smtp-port 2526` / `--smtp-port=2526` flags into INTENTMAIL_SMTP_PORT etc. (DATABASE_URL is `--database-url`). */
export function flagsToEnv(args: string[]): { env: Record<string, string>; rest: string[] } {
  const env: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const name = m ? flagVariable(m[1]) : undefined;
    if (!m || !name) {
      rest.push(arg);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new IntentmailError('config_invalid', `--${m[1]} needs a value`, { detail: { variable: name } });
    env[name] = value;
  }
  return { env, rest };
}

function flagVariable(flag: string): (typeof CONFIG_VARIABLES)[number] | undefined {
  const upper = flag.toUpperCase().replace(/-/g, '_');
  return CONFIG_VARIABLES.find((v) => v === upper || v === `INTENTMAIL_${upper}`);
}

/** Why a retry schedule is not usable, or null. */
function scheduleProblem(text: string): string | null {
  try {
    parseRetrySchedule(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^INTENTMAIL_RETRY_SCHEDULE: /, '') : 'invalid value';
  }
}

function isBase64Bytes(value: string, bytes: number): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  return Buffer.from(value, 'base64').length === bytes;
}

function parseSizeValue(text: string): number {
  const m = SIZE_RE.exec(text.trim())!;
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'B').toUpperCase()]);
}
