/**
 * Learning correspondents' keys from inbound mail, only from a sender whose domain
 * authenticated the message (DMARC, or a trusted ARC pass): a valid S/MIME signature adds the
 * signer's certificate (RFC 8551 §2.5.2, with its SMIMECapabilities); an Autocrypt header
 * (Autocrypt Level 1 §2.1) or an attached OpenPGP public key naming the sender adds that key.
 * A message vouches for its own sender only, and for at most LIMITS.MAX_LEARNED_KEYS_PER_MESSAGE
 * keys. Every learned or refused key is audited by the key store.
 */
import { Buffer } from 'node:buffer';
import type * as openpgp from 'openpgp';
import { LIMITS } from '../core/limits.ts';
import { autocryptKey, verifyInboundSignature, type InboundSignatureInput, type InboundVerification } from '../secure/verify.ts';
import { containerContentOf } from '../secure/pdf-container.ts';
import { pgpKeyEmails, readPgpKeys } from '../secure/pgp.ts';
import type { ImportOutcome, KeyStore } from './store.ts';

/** What learning reads about the message (the same as verification, plus the intent for the audit record). */
export interface LearnInput extends InboundSignatureInput {
  intent: string | null;
}

/**
 * Learns the sender's keys from one inbound message and returns what happened to each. Pass the
 * verification when the caller already has it (the verify_signature step); otherwise it is done here.
 */
export async function learnKeysFromMessage(input: LearnInput, keys: KeyStore, now: Date, verification?: InboundVerification): Promise<ImportOutcome[]> {
  if (!input.senderVerified || input.sender === null) return [];
  const sender = input.sender.toLowerCase();
  const context = (source: string) => ({ source, sender, intent: input.intent });
  const outcomes: ImportOutcome[] = [];
  const v = verification ?? (await verifyInboundSignature(input, keys, now));
  if (v.signature === 'valid' && v.smime) {
    outcomes.push(await keys.learnSmimeCertificate(input.tenant, v.smime.cert, v.smime.chain, v.smime.capabilities, context('smime-signature')));
  }
  const autocrypt = await autocryptKey(input.headers, sender);
  if (autocrypt && outcomes.length < LIMITS.MAX_LEARNED_KEYS_PER_MESSAGE) outcomes.push(await keys.learnPgpKey(input.tenant, autocrypt, sender, context('autocrypt')));
  for (const { name, key } of await attachedKeys(input.raw, sender)) {
    if (outcomes.length >= LIMITS.MAX_LEARNED_KEYS_PER_MESSAGE) break;
    if (autocrypt && autocrypt.getFingerprint() === key.getFingerprint()) continue;
    outcomes.push(await keys.learnPgpKey(input.tenant, key, sender, context(`attachment ${name}`)));
  }
  return outcomes;
}

/** OpenPGP public keys attached to the message whose user ids name the sender (application/pgp-keys, RFC 3156 §7, or armored). */
async function attachedKeys(raw: Uint8Array, sender: string): Promise<{ name: string; key: openpgp.PublicKey }[]> {
  // Parsing every attachment of a large message only to find none is a key costs; look first.
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!['application/pgp-keys', 'BEGIN PGP PUBLIC KEY BLOCK', '.asc'].some((s) => bytes.includes(s))) return [];
  let attachments;
  try {
    attachments = (await containerContentOf(raw)).attachments;
  } catch {
    return [];
  }
  const out: { name: string; key: openpgp.PublicKey }[] = [];
  for (const a of attachments) {
    if (a.content.length > LIMITS.MAX_KEY_FILE_BYTES) continue;
    const looksArmored = Buffer.from(a.content.subarray(0, 1024)).toString('latin1').includes('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    if (a.mimeType.toLowerCase() !== 'application/pgp-keys' && !looksArmored) continue;
    try {
      for (const key of await readPgpKeys(a.content)) {
        if (!key.isPrivate() && pgpKeyEmails(key).includes(sender)) out.push({ name: a.filename, key: key as openpgp.PublicKey });
      }
    } catch {
      // Not a key after all: nothing to learn from this attachment.
    }
  }
  return out;
}
