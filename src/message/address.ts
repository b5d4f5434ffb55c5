/**
 * Address parsing for the two places an address decides something: the envelope recipient
 * (which tenant and intent a message reaches) and sender addresses compared against
 * allowlists. Both are compared case-insensitively, so everything returned is lower-case
 * except the `+detail` of an intent address, which steps read verbatim.
 */

/** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
const MAX_LOCAL_PART_OCTETS = 64;
/** RFC 5321 §4.5.3.1.2: a domain is at most 255 octets. */
const MAX_DOMAIN_OCTETS = 255;
/** RFC 1035 §2.3.4: a DNS label is at most 63 octets. */
const MAX_LABEL_OCTETS = 63;

const encoder = new TextEncoder();

/** An intent address split into its parts. */
export interface IntentAddress {
  /** The whole local part, lower-case (`task.linear+abc-12`). */
  local: string;
  /** The intent name: the local part before the first `+`, lower-case. */
  intent: string;
  /** The part after the first `+`, case preserved, or null when there is no `+`. */
  detail: string | null;
  /** The domain, lower-case, without a trailing dot. */
  domain: string;
}

// RFC 5322 §3.2.3 atext, plus any non-ASCII character that is not a control character
// (RFC 6532 §3.2 lets UTF-8 into a dot-atom). C0, DEL and C1 controls are never allowed.
function isAtextChar(code: number): boolean {
  if (code >= 0x30 && code <= 0x39) return true; // digits
  if (code >= 0x41 && code <= 0x5a) return true; // A-Z
  if (code >= 0x61 && code <= 0x7a) return true; // a-z
  if ("!#$%&'*+-/=?^_`{|}~".includes(String.fromCharCode(code))) return true;
  return code > 0x9f && !isUnicodeSpace(code);
}

// Non-ASCII whitespace and invisible separators would make two addresses look alike.
function isUnicodeSpace(code: number): boolean {
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200f) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** RFC 5322 §3.2.3 dot-atom-text: atext runs separated by single dots, no leading or trailing dot. */
function isDotAtom(text: string): boolean {
  if (text === '' || text.startsWith('.') || text.endsWith('.') || text.includes('..')) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x2e && !isAtextChar(code)) return false;
  }
  return true;
}

/**
 * A domain as it appears after `@`: labels of letters, digits and hyphens (or non-ASCII
 * characters for an IDN written in U-labels, kept as given), no address literals.
 * Returns the lower-case domain without a trailing dot, or null.
 */
function normalizeDomain(raw: string): string | null {
  let domain = raw.toLowerCase();
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (domain === '' || encoder.encode(domain).length > MAX_DOMAIN_OCTETS) return null;
  for (const label of domain.split('.')) {
    if (label === '' || encoder.encode(label).length > MAX_LABEL_OCTETS) return null;
    if (label.startsWith('-') || label.endsWith('-')) return null;
    for (let i = 0; i < label.length; i++) {
      const code = label.charCodeAt(i);
      const ok = (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || code === 0x2d || code === 0x5f || (code > 0x9f && !isUnicodeSpace(code));
      if (!ok) return null;
    }
  }
  return domain;
}

/** Strips surrounding whitespace and one pair of angle brackets (`<a@b>` as in SMTP paths). */
function unwrap(addr: string): string {
  const trimmed = addr.trim();
  if (trimmed.startsWith('<') && trimmed.endsWith('>')) return trimmed.slice(1, -1);
  return trimmed;
}

/**
 * Parses an envelope recipient as `<intent>[+<detail>]@<domain>`; null for anything that is
 * not a plain dot-atom address (quoted local parts, empty parts, control characters).
 */
export function parseIntentAddress(addr: string): IntentAddress | null {
  const spec = unwrap(addr);
  const at = spec.lastIndexOf('@');
  if (at <= 0) return null;
  const rawLocal = spec.slice(0, at);
  // A quoted local part (RFC 5321 §4.1.2 Quoted-string) can hide `@`, `+` and spaces; intent
  // names never need one, so it is refused rather than interpreted.
  if (rawLocal.startsWith('"') || !isDotAtom(rawLocal)) return null;
  if (encoder.encode(rawLocal).length > MAX_LOCAL_PART_OCTETS) return null;
  const domain = normalizeDomain(spec.slice(at + 1));
  if (domain === null) return null;
  const local = rawLocal.toLowerCase();
  const plus = rawLocal.indexOf('+');
  if (plus < 0) return { local, intent: local, detail: null, domain };
  const intent = rawLocal.slice(0, plus).toLowerCase();
  const detail = rawLocal.slice(plus + 1);
  if (intent === '' || detail === '' || intent.endsWith('.') || detail.startsWith('.')) return null;
  return { local, intent, detail, domain };
}

/**
 * Lower-cases and validates an addr-spec (RFC 5322 §3.4.1, with UTF-8 per RFC 6532); returns
 * null for anything else, including display-name forms. `"alice"@x` becomes `alice@x`.
 */
export function normalizeAddress(addr: string): string | null {
  const spec = unwrap(addr);
  const at = spec.lastIndexOf('@');
  if (at <= 0) return null;
  const domain = normalizeDomain(spec.slice(at + 1));
  if (domain === null) return null;
  const local = normalizeLocalPart(spec.slice(0, at));
  if (local === null || encoder.encode(local).length > MAX_LOCAL_PART_OCTETS) return null;
  return `${local}@${domain}`;
}

/**
 * A dot-atom local part, or a quoted string (RFC 5322 §3.2.4) reduced to its shortest
 * equivalent form (RFC 5321 §4.1.2: the quoted and unquoted spellings name one mailbox).
 */
function normalizeLocalPart(raw: string): string | null {
  if (!raw.startsWith('"')) return isDotAtom(raw) ? raw.toLowerCase() : null;
  if (raw.length < 2 || !raw.endsWith('"')) return null;
  let content = '';
  for (let i = 1; i < raw.length - 1; i++) {
    let code = raw.charCodeAt(i);
    if (code === 0x5c) {
      i++;
      if (i >= raw.length - 1) return null;
      code = raw.charCodeAt(i);
    } else if (code === 0x22) {
      return null;
    }
    // qtext and quoted-pair cover printable ASCII and space; controls never belong in an address.
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)) return null;
    content += String.fromCharCode(code);
  }
  content = content.toLowerCase();
  if (isDotAtom(content)) return content;
  return `"${content.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The lower-case domain of an address (after the last `@`, trailing dot removed); '' if there is none. */
export function addressDomain(addr: string): string {
  const spec = unwrap(addr);
  const at = spec.lastIndexOf('@');
  if (at < 0) return '';
  const domain = spec.slice(at + 1).trim().toLowerCase();
  return domain.endsWith('.') ? domain.slice(0, -1) : domain;
}
