/**
 * `simulate`'s view of secure delivery: for every reply, forward and copy of a dry run's plan,
 * which key and which protection each recipient would get, planned exactly as a worker plans
 * (the same key store, the same checks, the directives of the smime / pgp / pdf_container steps
 * before it), changing nothing and unsealing no private key.
 */
import { IntentmailError } from '../core/errors.ts';
import { silentLogger } from '../core/ports.ts';
import { keyStoreOver } from '../keys/open.ts';
import type { KeyStore } from '../keys/store.ts';
import type { InboundReport } from '../pipeline/inbound.ts';
import type { StepPreview } from '../steps/types.ts';
import { applyMigrations, openDriver } from '../store/driver.ts';
import { maskPhone } from './password-delivery.ts';
import { directiveFor, planProtection, type EncryptMode, type ProtectionDirective, type RecipientPlan } from './protect.ts';

const OUTBOUND = new Set(['reply', 'forward', 'copy']);

/**
 * Adds `protection` to the preview of each outbound step: one line per recipient saying what it
 * would get (or why the step would fail). `previews` are in plan order, one per planned step.
 */
export async function annotateProtection(report: InboundReport, tenant: string, previews: StepPreview[], keys: KeyStore): Promise<void> {
  const steps = report.plan?.steps ?? [];
  const directives: ProtectionDirective[] = [];
  for (let i = 0; i < steps.length && i < previews.length; i++) {
    const step = steps[i];
    const preview = previews[i];
    const directive = directiveFor(step);
    if (directive) {
      directives.push(directive);
      preview.detail = { ...preview.detail, protection: 'applies to the outbound steps after it' };
      continue;
    }
    const to = preview.detail.to;
    const from = preview.detail.from;
    if (!OUTBOUND.has(step.action) || !Array.isArray(to) || typeof from !== 'string') continue;
    const encrypt = typeof step.params.encrypt === 'string' ? (step.params.encrypt as EncryptMode) : undefined;
    const plans = await planProtection({ tenant, from, recipients: to.map(String), encrypt, directives: [...directives], headers: report.parsed?.headers ?? {} }, keys);
    preview.detail = { ...preview.detail, protection: plans.map(describePlan).join('; ') };
  }
}

/** One recipient's plan as a line: protection, key, signature, password channel, or the failure. */
export function describePlan(p: RecipientPlan): string {
  if (p.problem) return `${p.recipient}: would FAIL: ${p.problem}`;
  const parts: string[] = [];
  if (p.encryption === 'smime') parts.push(`S/MIME ${p.smime?.cipher.toUpperCase()} with ${p.smime?.transport === 'rsa-oaep' ? 'RSA-OAEP' : 'RSA PKCS#1 v1.5'} to "${p.key?.subject}" (${p.key?.fingerprint.slice(0, 16)})`);
  else if (p.encryption === 'pgp') parts.push(`PGP/MIME to OpenPGP key ${p.key?.fingerprint}`);
  else if (p.encryption === 'pdf') {
    const to = p.password?.channel === 'sms' ? `SMS to ${maskPhone(p.password.to ?? '')}` : `a separate e-mail to ${p.password?.to}`;
    parts.push(`password PDF (AES-256), password ${p.password?.source === 'generated' ? 'generated' : `from ${p.password?.source}`}, by ${to}`);
  } else parts.push('in clear');
  if (p.signer) parts.push(`signed (${p.sign === 'smime' ? 'S/MIME' : 'OpenPGP'}) as "${p.signer.subject}"`);
  return `${p.recipient}: ${parts.join(', ')}`;
}

/**
 * Opens the tenant key stores' database for `simulate` (migrating it if needed; no audit, no
 * master key: planning never unseals), runs `work`, and closes it again.
 */
export async function withPreviewKeyStore<T>(location: { databaseUrl?: string; dataDir: string }, work: (keys: KeyStore) => Promise<T>): Promise<T> {
  const driver = await openDriver(location);
  try {
    await applyMigrations(driver, location, silentLogger);
    // A zero key: nothing is sealed or unsealed while planning, and a mistake would fail, not leak.
    const keys = keyStoreOver(driver, { masterKey: new Uint8Array(32) });
    return await work(keys);
  } catch (err) {
    if (err instanceof IntentmailError) throw err;
    throw new IntentmailError('storage_unavailable', 'simulate: cannot read the key store', { cause: err });
  } finally {
    await driver.close();
  }
}
