/**
 * Byte-level header edits on a raw message that must not disturb the body or any other header
 * byte (DKIM signatures over them must keep verifying).
 */

const CRLF = '\r\n';

/** Splits at the first empty line (RFC 5322 §2.1); a message without a body has an empty body. */
function splitHeader(raw: Uint8Array): { header: string; body: Uint8Array } {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { header: buf.toString('latin1'), body: new Uint8Array(0) };
  return { header: buf.subarray(0, end + 2).toString('latin1'), body: buf.subarray(end + 2) };
}

/**
 * Removes Authentication-Results fields that claim to be ours: RFC 8601 §5 requires a receiver
 * to delete fields carrying its own authserv-id before adding its own, or a sender could forge them.
 */
export function removeOwnAuthenticationResults(raw: Uint8Array, authservId: string): Uint8Array {
  const { header, body } = splitHeader(raw);
  const fields = header.split(/\r\n(?![ \t])/).filter((f) => f !== '');
  const own = authservId.toLowerCase();
  const kept = fields.filter((field) => {
    const m = /^authentication-results[ \t]*:[ \t\r\n]*([^;\s]+)/i.exec(field);
    return !(m && m[1].toLowerCase() === own);
  });
  if (kept.length === fields.length) return raw;
  return Buffer.concat([Buffer.from(kept.map((f) => f + CRLF).join(''), 'latin1'), body]);
}

/** Prepends a complete header field (already CRLF-terminated) to the message. */
export function prependHeaderField(raw: Uint8Array, field: string): Uint8Array {
  const line = field.endsWith(CRLF) ? field : field + CRLF;
  return Buffer.concat([Buffer.from(line, 'utf8'), raw]);
}
