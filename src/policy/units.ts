/**
 * Units in policy files: sizes (`25MB`), durations (`14d`) and rates (`60/hour`). Policies are
 * written by people, so the forms are forgiving about case and spaces but strict about meaning:
 * anything unclear throws `policy_invalid`, which the loader turns into a located problem.
 *
 * Sizes use 1024-based units (1 KB = 1024 bytes, 1 MB = 1024 KB, …), matching how mail clients and
 * operating systems show attachment sizes, so `max_size: 50MB` equals `LIMITS.MAX_MESSAGE_BYTES`.
 */
import { IntentmailError } from '../core/errors.ts';
import type { Rate } from './types.ts';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Rate window words: `60/hour`, `5/minute`; plurals and the duration letters also work. */
const RATE_WINDOWS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

function invalid(message: string): IntentmailError {
  return new IntentmailError('policy_invalid', message);
}

/** Splits `1.5GB` into 1.5 and `gb`; throws when the text is not a non-negative number with an optional unit. */
function splitAmount(text: string, what: string): { amount: number; unit: string } {
  const m = NUMBER_WITH_UNIT.exec(text.trim());
  if (!m) throw invalid(`${what} "${text}" is not a number with a unit`);
  return { amount: Number(m[1]), unit: m[2].toLowerCase() };
}

/** Checks a plain number given where a size or duration is expected. */
function plainNumber(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what} ${n} must be a whole, non-negative number`);
  return n;
}

/** Parses a size to bytes: `25MB`, `1.5GB`, `512KB`, `100B`, or a plain number of bytes (1024-based units). */
export function parseSize(s: string | number): number {
  if (typeof s === 'number') return plainNumber(s, 'size');
  if (typeof s !== 'string') throw invalid('a size must be a number of bytes or a text such as 25MB');
  const { amount, unit } = splitAmount(s, 'size');
  const factor = SIZE_UNITS[unit === '' ? 'b' : unit];
  if (factor === undefined) throw invalid(`size "${s}" has an unknown unit (use B, KB, MB, GB or TB; 1 KB = 1024 B)`);
  const bytes = Math.floor(amount * factor);
  if (!Number.isSafeInteger(bytes)) throw invalid(`size "${s}" is too large`);
  return bytes;
}

/** Parses a duration to milliseconds: `30s`, `15m`, `2h`, `14d`, `1w`, `500ms`, or a plain number of milliseconds. */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') return plainNumber(s, 'duration');
  if (typeof s !== 'string') throw invalid('a duration must be a text such as 15m, 2h or 14d');
  const { amount, unit } = splitAmount(s, 'duration');
  const factor = DURATION_UNITS[unit];
  if (factor === undefined) throw invalid(`duration "${s}" needs a unit: ms, s, m, h, d or w`);
  const ms = Math.round(amount * factor);
  if (!Number.isSafeInteger(ms)) throw invalid(`duration "${s}" is too long`);
  return ms;
}

/** Reads the window of a rate: a word (`hour`, `minutes`) or a duration (`10m`, `1h`). */
function rateWindow(text: string, whole: string): number {
  const word = text.trim().toLowerCase();
  const singular = word.endsWith('s') && RATE_WINDOWS[word.slice(0, -1)] !== undefined ? word.slice(0, -1) : word;
  const named = RATE_WINDOWS[singular];
  if (named !== undefined) return named;
  const ms = parseDuration(/^\d/.test(word) ? word : `1${word}`);
  if (ms <= 0) throw invalid(`rate "${whole}" has an empty window`);
  return ms;
}

/** Parses a rate: `60/hour`, `5/minute`, `100/day`, `10/10m` (count per window). */
export function parseRate(s: string): Rate {
  if (typeof s !== 'string') throw invalid('a rate must be a text such as 60/hour');
  const text = s.trim();
  const m = /^(\d+)\s*\/\s*(\S+)$/.exec(text);
  if (!m) throw invalid(`rate "${s}" must read COUNT/WINDOW, e.g. 60/hour or 10/10m`);
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) throw invalid(`rate "${s}" needs a count of at least 1`);
  let windowMs: number;
  try {
    windowMs = rateWindow(m[2], s);
  } catch {
    throw invalid(`rate "${s}" has an unknown window (use second, minute, hour, day, week or a duration such as 10m)`);
  }
  return { count, windowMs, text };
}
