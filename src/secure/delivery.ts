/**
 * Secure delivery as the action chain plugs it in: the `smime`, `pgp`, `pdf_container` and
 * `verify_signature` handlers and the protect seam of reply / forward / copy, all over one
 * tenant key store, plus the key facts (`key.smime`, `key.pgp`) and key learning the runner
 * reads per message. The composition root builds the key store on the store's own driver.
 */
import { learnKeysFromMessage } from '../keys/learn.ts';
import type { ImportOutcome, KeyPresence, KeyStore } from '../keys/store.ts';
import { pdfContainerStep } from '../steps/pdf-container.ts';
import { pgpStep } from '../steps/pgp.ts';
import { smimeStep } from '../steps/smime.ts';
import type { Protect, StepHandler, StepMessage } from '../steps/types.ts';
import { verifySignatureStep } from '../steps/verify-signature.ts';
import { keyStoreProtect } from './protect.ts';

/** What the chain needs from secure delivery. */
export interface SecureDelivery {
  /** For `stepHandlers(extra)` (src/steps/registry.ts). */
  handlers: Record<string, StepHandler>;
  /** For StepPorts.protect. */
  protect: Protect;
  /** The `key.smime` / `key.pgp` facts for the party a reply goes to (buildFacts `keys`). */
  keyPresence: (tenant: string, address: string | null) => Promise<KeyPresence>;
  /** Learns the sender's keys from an authenticated message (once per message, before its steps). */
  learn: (message: StepMessage) => Promise<ImportOutcome[]>;
}

/** Secure delivery over a key store. */
export function secureDelivery(keys: KeyStore): SecureDelivery {
  return {
    handlers: { smime: smimeStep(keys), pgp: pgpStep(keys), pdf_container: pdfContainerStep(), verify_signature: verifySignatureStep(keys) },
    protect: keyStoreProtect(keys),
    keyPresence: async (tenant, address) => (address === null ? { smime: 'missing', pgp: 'missing' } : keys.keyPresence(tenant, address)),
    learn: (m) =>
      learnKeysFromMessage(
        { tenant: m.tenant.name, intent: m.intent.name, raw: m.raw, sender: m.facts.sender, senderVerified: m.facts.senderVerified, headers: m.facts.headers },
        keys,
        m.receivedAt,
      ),
  };
}
