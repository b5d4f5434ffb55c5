/**
 * The `pgp` step: from here on, the outbound mail of this chain is PGP/MIME-signed with the
 * tenant's OpenPGP key and/or encrypted to each recipient's key (RFC 3156); see
 * src/steps/protection-step.ts.
 */
import type { KeyStore } from '../keys/store.ts';
import { protectionStep } from './protection-step.ts';
import type { StepHandler } from './types.ts';

/** The handler over the tenant key store. */
export function pgpStep(keys: KeyStore): StepHandler {
  return protectionStep(keys, 'pgp', { key: 'OpenPGP', format: 'PGP/MIME' });
}
