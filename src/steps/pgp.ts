/**
 * The `pgp` step: from here on, the outbound mail of this chain is PGP/MIME-signed with the
 * tenant's OpenPGP key and/or encrypted to each recipient's key (RFC 3156; applied by
 * src/secure/protect.ts when the mail leaves). Signing is checked now: a missing or expired
 * signing key fails the step, naming why.
 */
import type { KeyStore } from '../keys/store.ts';
import { directiveFor } from '../secure/protect.ts';
import { stepFailure } from '../secure/step-errors.ts';
import type { StepHandler } from './types.ts';

/** The handler over the tenant key store. */
export function pgpStep(keys: KeyStore): StepHandler {
  return async (message, step, ports) => {
    const sign = step.params.sign === true;
    const encrypt = step.params.encrypt === true;
    try {
      let signer: string | null = null;
      if (sign) {
        const from = ports.fromAddress(message.tenant);
        const found = await keys.signingIdentity(message.tenant.name, from, 'pgp');
        if (!found.ok) return { status: 'failed', reason: `OpenPGP signing for ${from}: ${found.reasons.join('; ')}` };
        signer = found.key.fingerprint;
      }
      const protection = directiveFor(step);
      const what = [sign ? 'signed' : null, encrypt ? 'encrypted' : null].filter((w) => w !== null).join(' and ');
      return { status: 'done', result: { protection, signer }, summary: `outbound mail of this chain will be PGP/MIME ${what}` };
    } catch (err) {
      return stepFailure(err);
    }
  };
}
