/**
 * S/MIME 4.0 messages (RFC 8551): signing as multipart/signed with a detached
 * application/pkcs7-signature (§3.5.3), encryption as application/pkcs7-mime enveloped-data or
 * authEnveloped-data (§3.3), sign-then-encrypt for both (§3.6), and the inbound side: finding an
 * S/MIME signature in a received message and checking it (cms.ts does the cryptography).
 */
import { Buffer } from 'node:buffer';
import { IntentmailError } from '../core/errors.ts';
import { contentInfoType, envelopedData, signedData, verifySignedData, type CmsRecipient, type CmsSigner, type CmsVerification, type ContentCipher } from './cms.ts';
import { assembleMessage, base64Lines, fieldValue, headerFields, multipartBody, multipartParts, newBoundary, parseContentType, splitEntity, splitForProtection, toCrlf } from './mime.ts';
import { OID } from './oids.ts';

/** What to do to an outbound message. */
export interface SmimeOptions {
  signer?: CmsSigner;
  recipients?: CmsRecipient[];
  cipher?: ContentCipher;
  now: Date;
}

/** A MIME entity as content fields and body; `bytes` is the canonical form that gets signed or encrypted. */
interface Entity {
  fields: string[];
  body: Buffer;
}

function entityBytes(e: Entity): Buffer {
  return Buffer.concat([Buffer.from(`${e.fields.join('\r\n')}\r\n\r\n`, 'latin1'), e.body]);
}

/** Wraps a content entity in multipart/signed with a detached CMS signature (RFC 8551 §3.5.3). */
export function signEntity(entity: Buffer, signer: CmsSigner, now: Date): Entity {
  const der = signedData(entity, signer, { detached: true, signingTime: now });
  const boundary = newBoundary('smime');
  const sigPart = Buffer.concat([
    Buffer.from('Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n', 'latin1'),
    base64Lines(der),
  ]);
  return {
    fields: [`Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="${boundary}"`],
    body: multipartBody(boundary, 'This is a cryptographically signed message in MIME format.', [entity, sigPart.subarray(0, sigPart.length - 2)]),
  };
}

/** Encrypts a content entity into application/pkcs7-mime (RFC 8551 §3.3). */
export function encryptEntity(entity: Buffer, recipients: CmsRecipient[], cipher: ContentCipher): Entity {
  const { der, smimeType } = envelopedData(entity, recipients, cipher);
  return {
    fields: [`Content-Type: application/pkcs7-mime; smime-type=${smimeType}; name="smime.p7m"`, 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="smime.p7m"'],
    body: base64Lines(der),
  };
}

/**
 * Signs and/or encrypts a complete RFC 5322 message. The routing and subject fields stay
 * outside; the content entity (Content-* fields and body) is what is signed and encrypted.
 */
export function protectSmime(raw: Uint8Array, opts: SmimeOptions): Buffer {
  if (!opts.signer && (!opts.recipients || opts.recipients.length === 0)) throw new IntentmailError('internal', 'protectSmime needs a signer, recipients, or both');
  const { outer, entity } = splitForProtection(raw);
  let current: Entity | null = null;
  let bytes = entity;
  if (opts.signer) {
    current = signEntity(bytes, opts.signer, opts.now);
    bytes = entityBytes(current);
  }
  if (opts.recipients && opts.recipients.length > 0) current = encryptEntity(bytes, opts.recipients, opts.cipher ?? 'aes-256-cbc');
  return assembleMessage(outer, current!.fields, current!.body);
}

/** What an inbound message carries in the way of S/MIME. */
export type SmimeFinding =
  | { kind: 'none' }
  | { kind: 'encrypted' }
  | { kind: 'signed'; verification: CmsVerification };

/**
 * Finds and checks an S/MIME signature on a received message: top-level multipart/signed with
 * an application/(x-)pkcs7-signature part, or application/(x-)pkcs7-mime signed-data (opaque).
 * Encrypted messages are reported as such (we hold no decryption keys for inbound mail).
 */
export function findSmimeSignature(raw: Uint8Array): SmimeFinding {
  const { header, body } = splitEntity(toCrlf(raw));
  const ct = parseContentType(fieldValue(headerFields(header), 'content-type'));
  if (ct.type === 'multipart/signed') {
    const protocol = (ct.params.protocol ?? '').toLowerCase();
    if (protocol !== 'application/pkcs7-signature' && protocol !== 'application/x-pkcs7-signature') return { kind: 'none' };
    const parts = ct.params.boundary ? multipartParts(body, ct.params.boundary) : null;
    if (parts === null || parts.length !== 2) return { kind: 'signed', verification: structural('multipart/signed does not have exactly two parts') };
    const der = decodePart(parts[1]);
    if (der === null) return { kind: 'signed', verification: structural('the signature part is not base64') };
    return { kind: 'signed', verification: verifySignedData(der, parts[0]) };
  }
  if (ct.type === 'application/pkcs7-mime' || ct.type === 'application/x-pkcs7-mime') {
    const der = decodePart(toCrlf(raw));
    if (der === null) return { kind: 'signed', verification: structural('the S/MIME body is not base64') };
    const type = contentInfoType(der);
    if (type === OID.envelopedData || type === OID.authEnvelopedData) return { kind: 'encrypted' };
    return { kind: 'signed', verification: verifySignedData(der, null) };
  }
  return { kind: 'none' };
}

function structural(reason: string): CmsVerification {
  return { status: 'invalid', reason, signer: null, certificates: [], signingTime: null, content: null, capabilities: [] };
}

/** Decodes a part's body by its Content-Transfer-Encoding (base64, or binary as is). */
function decodePart(part: Buffer): Buffer | null {
  const { header, body } = splitEntity(part);
  const cte = (fieldValue(headerFields(header), 'content-transfer-encoding') ?? '').toLowerCase();
  if (cte === 'base64') {
    const text = body.toString('latin1').replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    return Buffer.from(text, 'base64');
  }
  return body;
}
