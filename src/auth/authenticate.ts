/**
 * The authentication stage: SPF (RFC 7208), DKIM (RFC 6376, RFC 8463), DMARC (RFC 9989) and
 * ARC (RFC 8617) for one inbound message, by mailauth 7, with every DNS question going through
 * the Resolver port (never the system resolver). The result is data for the audit record and
 * for enforceRequire (./require.ts); nothing here decides whether the message is accepted.
 */
import { domainToASCII } from 'node:url';
import { authenticate as mailauthAuthenticate } from 'mailauth';
import type { AuthenticateOptions, AuthenticateResult, DKIMResult } from 'mailauth';
import { LIMITS } from '../core/limits.ts';
import type { Clock, DnsAnswer, DnsType, Resolver } from '../core/ports.ts';
import { withDeadline } from '../core/verdict.ts';
import { toMailauthResolver } from './mailauth-resolver.ts';
import { normalizeDnsName } from './static-zone.ts';

/** What the stage needs about one SMTP transaction. */
export interface AuthInput {
  /** The message exactly as received (before we add any header). */
  raw: Uint8Array;
  /** The SMTP client's address; null when unknown (then SPF is `none`: it needs the address, RFC 7208 §4.1). */
  ip: string | null;
  helo: string | null;
  /** The MAIL FROM address; null for the null reverse-path `<>` (SPF then checks HELO, RFC 7208 §2.4). */
  mailFrom: string | null;
  resolver: Resolver;
  /** Our host name: the authserv-id of the Authentication-Results field (RFC 8601 §2.5). */
  mta: string;
  /**
   * Accepted for callers that pin time. mailauth 7's authenticate() does not pass a time to its
   * DKIM verifier (x= expiry, RFC 6376 §3.5), so signature times are judged by the system clock.
   */
  clock?: Clock;
  /** Bound for the whole stage; default LIMITS.AUTH_STAGE_MS. */
  timeoutMs?: number;
}

/** The stage's findings; every result is a lower-case RFC 8601 result keyword. */
export interface AuthOutcome {
  spf: { result: string; domain: string | null };
  dkim: { result: string; signatures: { domain: string; selector: string; result: string; aligned: boolean; algorithm: string }[] };
  dmarc: { result: string; policy: string | null; domain: string | null };
  arc: { result: string; sealer: string | null; authResults: string | null };
  headerFrom: string | null;
  authenticationResults: string;
  temporary: boolean;
  reason: string;
}

/**
 * mailauth's options as the stage uses them, shared with the conformance tests so that they
 * test the mode production runs in. Lenient mode (strict: false) is kept on purpose: strict
 * DMARC parsing ignores a record with a duplicated or upper-case tag, which would silently
 * turn a domain's p=reject into "no policy". rsa-sha1 is refused (RFC 8301 §3.1), BIMI is off.
 */
export const MAILAUTH_OPTIONS = {
  strict: false,
  rejectRsaSha1: true,
  minBitLength: 1024,
  disableBimi: true,
} as const satisfies AuthenticateOptions;

/** ARC instances run from 1 to 50 (RFC 8617 §4.2.1); anything else is not part of a chain. */
const MAX_ARC_INSTANCE = 50;

/** Preference when several DKIM signatures disagree: a pass wins, then a retryable temperror. */
const DKIM_RANK = ['pass', 'temperror', 'fail', 'policy', 'neutral', 'permerror'];

/** Runs SPF, DKIM, DMARC and ARC; never throws. A DNS timeout or a stage timeout is `temporary`, never a pass. */
export async function authenticate(input: AuthInput): Promise<AuthOutcome> {
  const authservId = formatAuthservId(input.mta);
  // Names whose look-up failed temporarily: mailauth reports an ARC key timeout as arc=fail
  // ("all failures are permanent in the scope of ARC"), which must not read as a verdict.
  const temporaryNames = new Set<string>();
  const recording: Resolver = {
    async resolve(name: string, type: DnsType): Promise<DnsAnswer> {
      const answer = await input.resolver.resolve(name, type);
      if (answer.status === 'temperror') temporaryNames.add(normalizeDnsName(name));
      return answer;
    },
  };
  const limit = input.timeoutMs ?? LIMITS.AUTH_STAGE_MS;
  return withDeadline(limit, run(input, authservId, recording, temporaryNames), () =>
    allTemporary(authservId, `authentication did not finish within ${limit} ms`),
  );
}

async function run(input: AuthInput, authservId: string, resolver: Resolver, temporaryNames: Set<string>): Promise<AuthOutcome> {
  const ip = input.ip !== null && isIpAddress(input.ip) ? input.ip : null;
  let result: AuthenticateResult;
  try {
    const raw = Buffer.from(input.raw.buffer, input.raw.byteOffset, input.raw.byteLength);
    result = await mailauthAuthenticate(raw, {
      ...MAILAUTH_OPTIONS,
      ip: ip ?? undefined,
      helo: input.helo ?? undefined,
      sender: input.mailFrom ?? undefined,
      mta: input.mta,
      resolver: toMailauthResolver(resolver) as AuthenticateOptions['resolver'],
    });
  } catch (err) {
    // A parser failure on hostile input must not become a way around a domain's p=reject: it
    // is reported as temporary (451, the sender retries) rather than as "no policy".
    return allTemporary(authservId, `authentication failed: ${(err as Error)?.message ?? String(err)}`);
  }
  return summarize(result, ip, authservId, temporaryNames);
}

function summarize(result: AuthenticateResult, ip: string | null, authservId: string, temporaryNames: Set<string>): AuthOutcome {
  const parts: string[] = [];

  const signed = (result.dkim?.results ?? []).filter((r: DKIMResult) => typeof r.signingDomain === 'string' && r.signingDomain !== '');
  const signatures = signed.map((r) => ({
    domain: r.signingDomain!.toLowerCase(),
    selector: r.selector ?? '',
    result: r.status.result,
    aligned: typeof r.status.aligned === 'string' && r.status.aligned !== '',
    algorithm: r.algo ?? '',
  }));
  const dkimResult = signatures.length === 0 ? 'none' : (DKIM_RANK.find((rank) => signatures.some((s) => s.result === rank)) ?? signatures[0].result);
  for (const r of result.dkim?.results ?? []) if (r.info) parts.push(r.info);

  let spf: AuthOutcome['spf'];
  if (ip === null) {
    // check_host() needs the client address (RFC 7208 §4.1); without one (e.g. a relay that
    // did not say) there is nothing to check, which is "none", not a temporary failure.
    spf = { result: 'none', domain: null };
    parts.push(`spf=none (${authservId}: no client IP address to check)`);
  } else if (result.spf) {
    spf = { result: result.spf.status.result, domain: result.spf.domain ?? null };
    parts.push(result.spf.info);
  } else {
    spf = { result: 'none', domain: null };
  }

  const arcChain = readArcHeaders(result);
  let arcResult = result.arc ? result.arc.status.result : 'none';
  if (arcResult === 'fail' && arcChain.keyNames.some((name) => temporaryNames.has(name))) {
    arcResult = 'temperror';
  }
  if (result.arc && result.arc.info) parts.push(result.arc.info);
  const arc = { result: arcResult, sealer: arcChain.sealer, authResults: arcChain.authResults };

  let dmarc: AuthOutcome['dmarc'];
  if (result.dmarc) {
    const status = result.dmarc.status.result;
    const known = ['pass', 'fail', 'none', 'temperror'].includes(status) ? status : 'permerror';
    dmarc = {
      result: known,
      policy: known === 'pass' || known === 'fail' ? (result.dmarc.policy ?? null) : null,
      domain: result.dmarc.status.header?.from?.toLowerCase() ?? null,
    };
    parts.push(result.dmarc.info);
  } else {
    // RFC 9989 §5.3.1: no single Author Domain (no From, several domains, several From
    // fields), so DMARC cannot be evaluated; §11.5 suggests treating the message as suspicious.
    const why = result.dmarcSkipReason ?? 'no-author-domain';
    dmarc = { result: 'permerror', policy: null, domain: null };
    parts.push(`dmarc=permerror (${why})`);
  }

  const fromList = (result.dkim?.headerFrom ?? []).filter((a) => typeof a === 'string' && a !== '');
  const headerFrom = fromList.length === 1 ? fromList[0].toLowerCase() : null;

  const temporary = [spf.result, dkimResult, dmarc.result, arc.result].includes('temperror');
  const reason =
    `spf=${spf.result}${spf.domain ? ` (${spf.domain})` : ''} dkim=${dkimResult}` +
    `${signatures.length ? ` (${signatures.map((s) => `${s.domain}:${s.result}`).join(', ')})` : ''}` +
    ` dmarc=${dmarc.result}${dmarc.policy ? ` (p=${dmarc.policy})` : ''}${dmarc.domain ? ` from ${dmarc.domain}` : ''}` +
    ` arc=${arc.result}${arc.sealer ? ` (sealer ${arc.sealer})` : ''}${temporary ? '; a DNS look-up failed temporarily' : ''}`;

  return {
    spf,
    dkim: { result: dkimResult, signatures },
    dmarc,
    arc,
    headerFrom,
    authenticationResults: formatAuthResultsField(authservId, parts),
    temporary,
    reason: oneLine(reason),
  };
}

/** Domains and selectors come from the message: keep the audit's reason a single printable line. */
function oneLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ');
}

/** The outcome when the stage could not finish: every check temperror, so the verdict is 451. */
function allTemporary(authservId: string, why: string): AuthOutcome {
  const comment = why.replace(/[()\\\r\n]/g, ' ').slice(0, 200);
  return {
    spf: { result: 'temperror', domain: null },
    dkim: { result: 'temperror', signatures: [] },
    dmarc: { result: 'temperror', policy: null, domain: null },
    arc: { result: 'temperror', sealer: null, authResults: null },
    headerFrom: null,
    authenticationResults: formatAuthResultsField(authservId, [`dkim=temperror (${comment})`, 'spf=temperror', 'dmarc=temperror']),
    temporary: true,
    reason: oneLine(why),
  };
}

interface ArcHeaders {
  sealer: string | null;
  authResults: string | null;
  /** Key names (`s._domainkey.d`) of every ARC-Seal and ARC-Message-Signature. */
  keyNames: string[];
}

/** Reads the ARC sets from the parsed header (RFC 8617 §4.1): the newest seal's d= and AAR value. */
function readArcHeaders(result: AuthenticateResult): ArcHeaders {
  const rows = result.dkim?.headers?.parsed ?? [];
  let newestSeal = 0;
  let sealer: string | null = null;
  let newestAar = 0;
  let authResults: string | null = null;
  const keyNames: string[] = [];
  for (const row of rows) {
    if (row.key !== 'arc-seal' && row.key !== 'arc-message-signature' && row.key !== 'arc-authentication-results') continue;
    const text = row.line.toString('binary');
    const value = text
      .slice(text.indexOf(':') + 1)
      .replace(/\r?\n[ \t]/g, ' ')
      .trim();
    if (row.key === 'arc-authentication-results') {
      const instance = Number(/^i\s*=\s*(\d{1,2})\s*;/i.exec(value)?.[1] ?? 0);
      if (instance > newestAar) {
        newestAar = instance;
        authResults = value;
      }
      continue;
    }
    const tags = new Map<string, string>();
    for (const tag of value.split(';')) {
      const eq = tag.indexOf('=');
      if (eq > 0) tags.set(tag.slice(0, eq).trim().toLowerCase(), tag.slice(eq + 1).replace(/\s+/g, ''));
    }
    const domain = tags.get('d')?.toLowerCase();
    const selector = tags.get('s')?.toLowerCase();
    if (domain && selector) keyNames.push(normalizeDnsName(`${selector}._domainkey.${domain}`));
    const instance = Number(tags.get('i') ?? 0);
    if (row.key === 'arc-seal' && Number.isInteger(instance) && instance <= MAX_ARC_INSTANCE && instance > newestSeal && domain) {
      newestSeal = instance;
      sealer = normalizeDnsName(domain);
    }
  }
  return { sealer, authResults, keyNames };
}

/** `Authentication-Results: id;` then one resinfo per line, folded under 78 columns where it can be (RFC 5322 §2.1.1). */
function formatAuthResultsField(authservId: string, parts: string[]): string {
  const body = parts.map((part) => fold(part.replace(/\s+/g, ' ').trim()));
  return `Authentication-Results: ${authservId};\r\n ${body.join(';\r\n ')}\r\n`;
}

function fold(text: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > 76) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\r\n  ');
}

/** RFC 8601 §2.2: authserv-id is a value (token or quoted-string), a host name in A-labels (RFC 8616). */
function formatAuthservId(mta: string): string {
  const ascii = domainToASCII(mta.trim()) || mta.trim();
  if (/^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/.test(ascii)) return ascii;
  return `"${ascii.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1')}"`;
}

/** IPv4 dotted quad or an IPv6 address (checked with the WHATWG URL parser, no node:net in the core). */
function isIpAddress(ip: string): boolean {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(ip)) return true;
  if (!ip.includes(':') || /[^0-9a-fA-F:.]/.test(ip)) return false;
  try {
    return new URL(`http://[${ip}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}
