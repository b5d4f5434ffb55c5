/**
 * The shared body of the `smime` and `pgp` steps: from here on, the outbound mail of this chain
 * (reply, forward, copy) is signed with the tenant's identity and/or encrypted to each
 * recipient's key (src/secure/protect.ts applies it when the mail leaves). Signing is checked
 * now, so a chain that cannot sign fails at this step, naming why.
 */
import type { KeyStore } from '../keys/store.ts';
import { directiveFor } from '../secure/protect.ts';
import { stepFailure } from '../secure/step-errors.ts';
import type { StepHandler } from './types.ts';

/** A protection step for one technology over the tenant key store; `names` word its failure reasons and summaries. */
export function protectionStep(keys: KeyStore, kind: 'smime' | 'pgp', names: { key: string; format: string }): StepHandler {
  return async (message, step, ports) => {
    const sign = step.params.sign === true;
    const encrypt = step.params.encrypt === true;
    try {
      let signer: string | null = null;
      if (sign) {
        const from = ports.fromAddress(message.tenant);
        const found = await keys.signingIdentity(message.tenant.name, from, kind);
        if (!found.ok) return { status: 'failed', reason: `${names.key} signing for ${from}: ${found.reasons.join('; ')}` };
        signer = found.key.fingerprint;
      }
      const protection = directiveFor(step);
      const what = [sign ? 'signed' : null, encrypt ? 'encrypted' : null].filter((w) => w !== null).join(' and ');
      return { status: 'done', result: { protection, signer }, summary: `outbound mail of this chain will be ${names.format} ${what}` };
    } catch (err) {
      return stepFailure(err);
    }
  };
}
