/**
 * Turns an AuthOutcome into accept/refuse for an intent's `require` mode. The rules, in order:
 *
 * Verified sender. `verified` is true when DMARC passed (RFC 9989: an aligned SPF or DKIM pass
 * for the RFC5322.From domain), or when DMARC failed or found no policy but a valid ARC chain
 * vouches for the message (RFC 8617 §7.2, a local-policy override): the chain passes, its
 * newest ARC-Seal was made by a domain in `trustedArcSealers`, and that sealer's
 * ARC-Authentication-Results recorded `dmarc=pass` for the same header-From domain. An
 * untrusted sealer's word counts for nothing: anyone can run a sealer.
 *
 * Enforcement, first match wins:
 *  (a) A DNS temperror that could change the decision gives `temperror` / auth_temporary
 *      (451 4.4.3): the sender retries, and a timeout is never read as a pass or a "no policy".
 *      "Could change": DMARC itself is temperror (the policy is unknown); DMARC failed while an
 *      SPF or DKIM look-up timed out (that identifier might have aligned); the ARC chain could
 *      not be checked while it could have verified the sender; or the mode's own check (DKIM
 *      for `dkim`, SPF for `spf`) is temperror with nothing else passing it.
 *  (b) DMARC fail under the domain's p=quarantine or p=reject (sp=/np= for subdomains), with no
 *      trusted ARC override: auth_dmarc_failed whatever `require` says. We honour the domain
 *      owner: a spoof is refused in the SMTP session rather than quarantined (RFC 9989 §5.8).
 *  (c) The mode: `dmarc` needs `verified`; `dkim` needs one passing DKIM signature (any
 *      domain); `spf` needs SPF pass; `none` accepts, with `verified` still false unless the
 *      sender was verified as above. So with `require: none`, a p=none DMARC failure is
 *      accepted-but-unverified and a p=reject failure is refused.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { Verdict } from '../core/verdict.ts';
import { fail, pass, temperror } from '../core/verdict.ts';
import type { RequireMode } from '../policy/types.ts';
import { parseAuthResults } from './auth-results.ts';
import type { AuthOutcome } from './authenticate.ts';
import { normalizeDnsName } from './static-zone.ts';

/** The decision plus what the audit and the access stage need: was the sender verified, and how. */
export interface RequireVerdict {
  verdict: Verdict;
  code: ErrorCode | null;
  verified: boolean;
  via: 'dmarc' | 'arc' | null;
}

const ENFORCING = new Set(['quarantine', 'reject']);

/** Applies the rules above; pure, so `simulate` and the SMTP session decide identically. */
export function enforceRequire(mode: RequireMode, outcome: AuthOutcome, opts: { trustedArcSealers: string[] }): RequireVerdict {
  const { spf, dkim, dmarc, arc } = outcome;
  const fromDomain = authorDomain(outcome);
  const dmarcPass = dmarc.result === 'pass';
  const arcOverride = !dmarcPass && (dmarc.result === 'fail' || dmarc.result === 'none') && trustedArcVouches(outcome, fromDomain, opts.trustedArcSealers);
  const verified = dmarcPass || arcOverride;
  const via: RequireVerdict['via'] = dmarcPass ? 'dmarc' : arcOverride ? 'arc' : null;
  const result = (verdict: Verdict, code: ErrorCode | null): RequireVerdict => ({ verdict, code, verified, via });

  // (a) Temporary failures that could change the decision.
  if (!verified) {
    const sealerTrusted = arc.sealer !== null && isTrusted(arc.sealer, opts.trustedArcSealers);
    const arcCouldVerify = arc.result === 'temperror' && (dmarc.result === 'fail' || dmarc.result === 'none') && (sealerTrusted || arc.sealer === null);
    const dmarcUnknown = dmarc.result === 'temperror' || (dmarc.result === 'fail' && (spf.result === 'temperror' || dkim.result === 'temperror'));
    const matters = mode === 'dmarc' || dmarc.result === 'temperror' || (dmarc.result === 'fail' && ENFORCING.has(dmarc.policy ?? ''));
    if ((dmarcUnknown || arcCouldVerify) && matters) {
      return result(temperror(`temporary DNS failure while checking the sender: ${outcome.reason}`), 'auth_temporary');
    }
  }
  if (mode === 'dkim' && dkim.result === 'temperror') {
    return result(temperror(`temporary DNS failure while checking DKIM: ${outcome.reason}`), 'auth_temporary');
  }
  if (mode === 'spf' && spf.result === 'temperror') {
    return result(temperror(`temporary DNS failure while checking SPF: ${outcome.reason}`), 'auth_temporary');
  }

  // (b) The domain owner's enforcing DMARC policy.
  if (!verified && dmarc.result === 'fail' && ENFORCING.has(dmarc.policy ?? '')) {
    return result(fail(`DMARC failed for ${fromDomain ?? 'the From domain'} and its policy is ${dmarc.policy}`), 'auth_dmarc_failed');
  }

  // (c) What the intent requires.
  switch (mode) {
    case 'dmarc':
      if (!verified) return result(fail(`DMARC did not pass (dmarc=${dmarc.result}) and no trusted ARC sealer vouches for the sender`), 'auth_dmarc_failed');
      return result(pass(via === 'arc' ? `sender verified by trusted ARC sealer ${arc.sealer}` : 'DMARC pass'), null);
    case 'dkim':
      if (!dkim.signatures.some((s) => s.result === 'pass')) return result(fail(`no passing DKIM signature (dkim=${dkim.result})`), 'auth_dkim_failed');
      return result(pass('DKIM pass'), null);
    case 'spf':
      if (spf.result !== 'pass') return result(fail(`SPF did not pass (spf=${spf.result})`), 'auth_spf_failed');
      return result(pass('SPF pass'), null);
    case 'none':
      return result(pass(verified ? `no check required; sender verified via ${via}` : 'no check required; sender not verified'), null);
  }
}

/** The RFC5322.From domain: DMARC's header.from, else the domain of the single From address. */
function authorDomain(outcome: AuthOutcome): string | null {
  if (outcome.dmarc.domain) return normalizeDnsName(outcome.dmarc.domain);
  const from = outcome.headerFrom;
  if (!from || !from.includes('@')) return null;
  return normalizeDnsName(from.slice(from.lastIndexOf('@') + 1));
}

function isTrusted(sealer: string, trusted: string[]): boolean {
  const name = normalizeDnsName(sealer);
  return trusted.some((entry) => normalizeDnsName(entry) === name);
}

/** RFC 8617 §7.2: a passing chain, sealed last by a trusted domain that saw dmarc=pass for this From domain. */
function trustedArcVouches(outcome: AuthOutcome, fromDomain: string | null, trusted: string[]): boolean {
  const { arc } = outcome;
  if (arc.result !== 'pass' || arc.sealer === null || arc.authResults === null || fromDomain === null) return false;
  if (!isTrusted(arc.sealer, trusted)) return false;
  return parseAuthResults(arc.authResults).entries.some(
    (entry) => entry.method === 'dmarc' && entry.result === 'pass' && normalizeDnsName(entry.props['header.from'] ?? '') === fromDomain,
  );
}
