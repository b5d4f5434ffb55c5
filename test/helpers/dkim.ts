/**
 * Real signing for the authentication tests: DKIM keys, DKIM signatures (mailauth's dkimSign),
 * ARC sets (mailauth's sealMessage) and plain RFC 5322 messages to sign.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';

/** A DKIM key pair as PEM (PKCS#8 private, SPKI public). */
export interface DkimKey {
  type: 'rsa' | 'ed25519';
  privateKey: string;
  publicKey: string;
}

/** RSA modulus for test keys: 2048 is what senders publish today (RFC 8301 §3.2 requires ≥ 1024). */
const RSA_BITS = 2048;

/** Generates a fresh DKIM key pair. */
export function generateDkimKey(type: 'rsa' | 'ed25519' = 'rsa'): DkimKey {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: RSA_BITS, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
      : generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { type, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** Signing parameters; `algorithm` follows the key when absent. */
export interface SignOptions {
  domain: string;
  selector: string;
  privateKey: string | Buffer;
  algorithm?: 'rsa-sha256' | 'ed25519-sha256' | 'rsa-sha1';
  signTime?: Date;
  expires?: Date;
  headerList?: string[];
}

/** DKIM-signs `raw` and returns the signed message (DKIM-Signature prepended); throws if mailauth made no signature. */
export async function signMessage(raw: string | Buffer, opts: SignOptions): Promise<Buffer> {
  const input = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  const result = await dkimSign(input, {
    signingDomain: opts.domain,
    selector: opts.selector,
    privateKey: opts.privateKey,
    canonicalization: 'relaxed/relaxed',
    ...(opts.signTime ? { signTime: opts.signTime } : {}),
    ...(opts.expires ? { expires: opts.expires } : {}),
    ...(opts.headerList ? { headerList: opts.headerList } : {}),
    signatureData: [
      {
        signingDomain: opts.domain,
        selector: opts.selector,
        privateKey: opts.privateKey,
        ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
      },
    ],
  });
  if (!result.signatures) {
    throw new Error(`dkimSign made no signature: ${result.errors.map((e) => e.err?.message).join('; ')}`);
  }
  return Buffer.concat([Buffer.from(result.signatures), input]);
}

/** ARC sealing parameters (RFC 8617 §5.1): `authResults` is what the sealer saw, without `i=N;`. */
export interface SealOptions {
  domain: string;
  selector: string;
  privateKey: string | Buffer;
  authResults: string;
  /** Chain validation status; default `none` for the first set and `pass` after that. */
  cv?: 'none' | 'pass' | 'fail';
  signTime?: Date;
}

/** Adds one ARC set (AAR, AMS, AS) on top of `raw`; throws if mailauth made none. */
export async function arcSeal(raw: string | Buffer, opts: SealOptions): Promise<Buffer> {
  const input = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  const headerEnd = input.indexOf('\r\n\r\n');
  const header = input.subarray(0, headerEnd < 0 ? input.length : headerEnd).toString('binary');
  const cv = opts.cv ?? (/^arc-seal:/im.test(header) ? 'pass' : 'none');
  const sealed = await sealMessage(input, {
    signingDomain: opts.domain,
    selector: opts.selector,
    privateKey: opts.privateKey,
    authResults: opts.authResults,
    cv,
    ...(opts.signTime ? { signTime: opts.signTime } : {}),
  });
  if (!sealed || sealed.length === 0) throw new Error('sealMessage made no ARC set');
  return Buffer.concat([sealed, input]);
}

/** An attachment for buildMessage. */
export interface TestAttachment {
  filename: string;
  contentType: string;
  content: string | Buffer;
}

/** Message fields for buildMessage; `headers` are added verbatim after the standard ones. */
export interface MessageSpec {
  from: string;
  to: string;
  subject: string;
  text: string;
  headers?: Record<string, string>;
  attachments?: TestAttachment[];
  date?: Date;
  messageId?: string;
}

/** Builds an RFC 5322 message with CRLF line endings (multipart/mixed when there are attachments). */
export function buildMessage(spec: MessageSpec): string {
  const domain = spec.from.includes('@') ? spec.from.slice(spec.from.lastIndexOf('@') + 1).replace(/>.*$/, '') : 'example.invalid';
  const lines = [
    `From: ${spec.from}`,
    `To: ${spec.to}`,
    `Subject: ${encodeHeader(spec.subject)}`,
    `Date: ${(spec.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${spec.messageId ?? `<${randomBytes(8).toString('hex')}@${domain}>`}`,
    'MIME-Version: 1.0',
    ...Object.entries(spec.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  ];
  const text = toCrlf(spec.text.endsWith('\n') ? spec.text : `${spec.text}\n`);
  if (!spec.attachments?.length) {
    lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
    return `${lines.join('\r\n')}\r\n\r\n${text}`;
  }
  const boundary = `=_b${randomBytes(8).toString('hex')}`;
  lines.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
  const parts = [`--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}`];
  for (const attachment of spec.attachments) {
    const body = Buffer.isBuffer(attachment.content) ? attachment.content : Buffer.from(attachment.content);
    const base64 = body.toString('base64').replace(/.{1,76}/g, '$&\r\n');
    parts.push(
      `--${boundary}\r\nContent-Type: ${attachment.contentType}; name="${attachment.filename}"\r\n` +
        `Content-Disposition: attachment; filename="${attachment.filename}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64}`,
    );
  }
  return `${lines.join('\r\n')}\r\n\r\n${parts.join('')}--${boundary}--\r\n`;
}

function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** RFC 2047 B-encoding for a non-ASCII subject. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value).toString('base64')}?=`;
}
