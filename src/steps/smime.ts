/**
 * The `smime` step: from here on, the outbound mail of this chain is S/MIME-signed with the
 * tenant's identity and/or encrypted to each recipient's certificate (RFC 8551); see
 * src/steps/protection-step.ts.
 */
import type { KeyStore } from '../keys/store.ts';
import { protectionStep } from './protection-step.ts';
import type { StepHandler } from './types.ts';

/** The handler over the tenant key store. */
export function smimeStep(keys: KeyStore): StepHandler {
  return protectionStep(keys, 'smime', { key: 'S/MIME', format: 'S/MIME' });
}
