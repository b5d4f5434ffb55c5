/**
 * Rebuilds, for a chain pass, what the pipeline knew about a message when it was accepted: the
 * decrypted bytes (held only for the pass), the parsed message, the facts conditions read and
 * the authentication outcome, from the stored row.
 */
import type { AuthOutcome } from '../auth/authenticate.ts';
import { senderGroups, senderRoles } from '../access/identity.ts';
import { openMessage } from '../crypto/envelope.ts';
import { buildFacts, type MessageFacts } from '../message/facts.ts';
import { parseMessage, type ParsedMessage } from '../message/parse.ts';
import type { Intent, Tenant } from '../policy/types.ts';
import type { Verdict } from '../core/verdict.ts';
import type { ChainRow } from './repo.ts';

type Row = NonNullable<ChainRow>;

/** The stored authentication summary back in the AuthOutcome shape (missing parts read as `none`). */
export function authOutcomeOf(row: Pick<Row, 'authentication' | 'headerFrom'>, raw: Uint8Array): AuthOutcome {
  const a = row.authentication as Partial<AuthOutcome> & { reason?: string };
  const head = new TextDecoder('latin1').decode(raw.subarray(0, Math.min(raw.byteLength, 64 * 1024)));
  const ar = /^Authentication-Results:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*/im.exec(head)?.[0] ?? '';
  return {
    spf: a.spf ?? { result: 'none', domain: null },
    dkim: a.dkim ?? { result: 'none', signatures: [] },
    dmarc: a.dmarc ?? { result: 'none', policy: null, domain: null },
    arc: a.arc ?? { result: 'none', sealer: null, authResults: null },
    headerFrom: row.headerFrom,
    authenticationResults: ar.replace(/^Authentication-Results:\s*/i, ''),
    temporary: false,
    reason: typeof a.reason === 'string' ? a.reason : '',
  };
}

/** The decrypted, parsed message and its facts, or why it cannot be had. */
export async function openChainMessage(
  row: Row,
  tenant: Tenant,
  masterKey: Uint8Array,
  parse: (raw: Uint8Array) => Promise<Verdict<ParsedMessage>> = parseMessage,
): Promise<{ raw: Uint8Array; parsed: ParsedMessage; facts: MessageFacts; auth: AuthOutcome } | { problem: string; erased?: boolean }> {
  if (row.erasedAt !== null || row.wrappedKey === null || row.wrappedKey.byteLength === 0) return { problem: 'the message was erased', erased: true };
  let raw: Uint8Array;
  try {
    raw = openMessage({ ciphertext: row.ciphertext, wrappedKey: row.wrappedKey, keyId: row.keyId }, masterKey);
  } catch (err) {
    return { problem: `the stored message cannot be opened: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = await parse(raw);
  if (parsed.status !== 'pass' || !parsed.detail) return { problem: `the stored message cannot be parsed: ${parsed.reason}` };
  const auth = authOutcomeOf(row, raw);
  const sender = row.headerFrom;
  const facts = buildFacts({
    parsed: parsed.detail,
    recipient: row.recipient,
    addressDetail: row.addressDetail,
    sender,
    senderVerified: row.senderVerified,
    senderGroups: senderGroups(tenant, sender),
    senderRoles: senderRoles(tenant, sender),
    size: row.size,
    auth: { spf: auth.spf.result, dkim: auth.dkim.result, dmarc: auth.dmarc.result, arc: auth.arc.result },
    tls: row.tls,
  });
  return { raw, parsed: parsed.detail, facts, auth };
}

/** The intent a job was planned for: the loaded one, or (after a policy change removed it) one rebuilt from the job's own plan. */
export function intentOf(tenant: Tenant, row: Pick<Row, 'intent' | 'tenant' | 'plan'>): Intent {
  const loaded = tenant.intents.get(row.intent);
  if (loaded) return loaded;
  const policy = (row.plan.policy ?? { file: '', version: '' }) as { file: string; version: string };
  return {
    name: row.intent,
    tenant: row.tenant,
    description: '',
    level: 'create',
    senders: [],
    deny: [],
    require: tenant.defaults.require,
    limits: {},
    steps: [],
    origin: policy,
  };
}
