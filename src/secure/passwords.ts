/**
 * Passwords for PDF containers: generated ones (strong, one per recipient and message) and
 * ones a specialist system puts in a header, which must be strong enough to protect anything.
 */
import { randomInt } from 'node:crypto';
import { IntentmailError } from '../core/errors.ts';

/**
 * Characters of generated passwords: letters and digits without look-alikes (0/O, 1/l/I), so a
 * password read from an SMS is typed correctly; 57 symbols give 5.83 bits each.
 */
const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** 4 groups of 5 characters: about 116 bits (NIST SP 800-57 Part 1 §5.6.2: at least 112 bits of security strength). */
const GROUPS = 4;
const GROUP_LENGTH = 5;
/**
 * Shortest password accepted from a header. A PDF password is attacked offline, so the header's
 * owner must send a long random value; 16 characters of a random alphanumeric password are ~95 bits.
 */
export const MIN_HEADER_PASSWORD_CHARS = 16;

/** A fresh random password such as `k7PqR-mZ3xA-…` from the unambiguous alphabet (node:crypto's CSPRNG). */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** Checks a password taken from a header: printable, no line breaks, long enough; returns the problem or null. */
export function headerPasswordProblem(value: string): string | null {
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return 'contains control characters';
  if ([...value].length < MIN_HEADER_PASSWORD_CHARS) return `is shorter than ${MIN_HEADER_PASSWORD_CHARS} characters`;
  return null;
}

/**
 * A password derived from a secret seed (HKDF output): the same step, message and recipient get
 * the same password on every retry, so a container re-sent after a failed password delivery still
 * opens with the password that was (or will be) sent. Rejection sampling keeps characters uniform.
 */
export function passwordFromSeed(seed: Uint8Array): string {
  const limit = Math.floor(256 / ALPHABET.length) * ALPHABET.length;
  const chars: string[] = [];
  for (const byte of seed) {
    if (byte >= limit) continue;
    chars.push(ALPHABET[byte % ALPHABET.length]);
    if (chars.length === GROUPS * GROUP_LENGTH) break;
  }
  if (chars.length < GROUPS * GROUP_LENGTH) throw new IntentmailError('internal', 'password seed too short');
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) groups.push(chars.slice(g * GROUP_LENGTH, (g + 1) * GROUP_LENGTH).join(''));
  return groups.join('-');
}
