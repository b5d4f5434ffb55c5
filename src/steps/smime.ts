/**
 * The `smime` step: from here on, the outbound mail of this chain (reply, forward, copy) is
 * S/MIME-signed with the tenant's identity and/or encrypted to each recipient's certificate
 * (src/secure/protect.ts applies it when the mail leaves). The step checks now that the signing
 * identity exists and is usable, so a chain that cannot sign fails here, naming why.
 */
import type { KeyStore } from '../keys/store.ts';
import { directiveFor } from '../secure/protect.ts';
import { stepFailure } from '../secure/step-errors.ts';
import type { StepHandler } from './types.ts';

/** The handler over the tenant key store. */
export function smimeStep(keys: KeyStore): StepHandler {
  return async (message, step, ports) => {
    const sign = step.params.sign === true;
    const encrypt = step.params.encrypt === true;
    try {
      let signer: string | null = null;
      if (sign) {
        const from = ports.fromAddress(message.tenant);
        const found = await keys.signingIdentity(message.tenant.name, from, 'smime');
        if (!found.ok) return { status: 'failed', reason: `S/MIME signing for ${from}: ${found.reasons.join('; ')}` };
        signer = found.key.fingerprint;
      }
      const protection = directiveFor(step);
      const what = [sign ? 'signed' : null, encrypt ? 'encrypted' : null].filter((w) => w !== null).join(' and ');
      return { status: 'done', result: { protection, signer }, summary: `outbound mail of this chain will be S/MIME ${what}` };
    } catch (err) {
      return stepFailure(err);
    }
  };
}
