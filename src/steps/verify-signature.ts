/**
 * The `verify_signature` step: checks the inbound message's S/MIME or PGP/MIME signature
 * (src/secure/verify.ts), learns the sender's keys from a verified message (src/keys/learn.ts),
 * and records the result for the `signature` condition (`valid`, `invalid` or `none`) and in the
 * audit trail. An invalid signature is a finding, not a step failure: conditions decide.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../core/audit-event.ts';
import { learnKeysFromMessage } from '../keys/learn.ts';
import type { KeyStore } from '../keys/store.ts';
import { verifyInboundSignature, type SignatureResult } from '../secure/verify.ts';
import { stepFailure } from '../secure/step-errors.ts';
import type { StepHandler, StepInvocation, StepMessage } from './types.ts';

/** The handler over the tenant key store. */
export function verifySignatureStep(keys: KeyStore): StepHandler {
  return async (message, step, ports) => {
    try {
      const now = ports.clock.now();
      const input = { tenant: message.tenant.name, raw: message.raw, sender: message.facts.sender, senderVerified: message.facts.senderVerified, headers: message.facts.headers };
      const verification = await verifyInboundSignature(input, keys, now);
      const learned = await learnKeysFromMessage({ ...input, intent: message.intent.name }, keys, now, verification);
      await ports.audit(signatureAudit(message, step, verification, now));
      const result = {
        check: 'signature',
        signature: verification.signature,
        kind: verification.kind,
        reason: verification.reason,
        signer: verification.signer,
        learned: learned.filter((o) => o.status !== 'refused').map((o) => ({ kind: o.kind, fingerprint: o.fingerprint })),
      };
      return { status: 'done', result, summary: `signature ${verification.signature}: ${verification.reason}` };
    } catch (err) {
      return stepFailure(err);
    }
  };
}

function signatureAudit(m: StepMessage, step: StepInvocation, v: SignatureResult, now: Date): AuditEvent {
  return {
    eventId: randomUUID(),
    timestamp: now.toISOString(),
    tenant: m.tenant.name,
    actor: { email: m.facts.sender, verified: m.facts.senderVerified, ip: m.envelope.clientIp, helo: m.envelope.helo },
    action: { type: 'signature.verify', target: m.facts.sender, intent: m.intent.name, parameters: { step: step.path, kind: v.kind, signer: v.signer ? { ...v.signer, addresses: [...v.signer.addresses] } : null } },
    authentication: null,
    authorization: { permitted: true, role: null, policy: { file: m.intent.origin.file, version: m.intent.origin.version }, reason: v.reason },
    result: { status: v.signature, resourceId: v.signer?.fingerprint ?? null },
  };
}
