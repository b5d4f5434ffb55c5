/**
 * Sensitivity labels a message carries, for `label` conditions. Every label is lower-case
 * with whitespace runs collapsed to one space. Recognised:
 *
 * - Microsoft Purview (MIP) `msip_labels` header: entries
 *   `MSIP_Label_<guid>_Name=Confidential;` give `confidential`; a label whose
 *   `MSIP_Label_<guid>_Enabled=false` entry says it was removed is skipped.
 * - `X-Classification` and `Sensitivity` (RFC 2156 §5.3.4, e.g. `Company-Confidential`):
 *   each value as a label.
 * - VS-NfD (German "Verschlusssache – Nur für den Dienstgebrauch"): `VS-NfD`, `VS - NfD` or
 *   `VS - Nur für den Dienstgebrauch` (also `fuer`) in `X-Classification` or in the subject
 *   add the canonical label `vs-nfd`.
 * - TISAX (VDA ISA protection needs): an `X-TISAX-Classification: very high` header, or an
 *   `X-Classification` / `Sensitivity` value like `TISAX: very high`, adds `tisax` and
 *   `tisax:<level>`; German levels map to English (`hoch` → `high`, `sehr hoch` → `very high`).
 */
import { LIMITS } from '../core/limits.ts';

/** Canonical label for VS-NfD markings. */
export const VS_NFD_LABEL = 'vs-nfd';

const MSIP_ENTRY = /^MSIP_Label_([^_\s=]+)_([A-Za-z]+)[ \t]*=(.*)$/i;
const VS_NFD = /(?:^|[^\p{L}\p{N}])vs[ \t]*[-–][ \t]*(?:nfd|nur[ \t]+f(?:ü|ue|u)r[ \t]+den[ \t]+dienstgebrauch)(?![\p{L}\p{N}])/iu;
const TISAX_VALUE = /^tisax[ \t]*[:=-]?[ \t]*(.*)$/i;

const TISAX_LEVELS = new Map<string, string>([
  ['normal', 'normal'],
  ['high', 'high'],
  ['very high', 'very high'],
  ['hoch', 'high'],
  ['sehr hoch', 'very high'],
]);

/** Lower-case, trimmed, whitespace collapsed; quotes around the whole value removed. */
export function normalizeLabel(value: string): string {
  let v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v.toLowerCase().split(/[ \t\r\n]+/).filter((w) => w !== '').join(' ');
}

/**
 * Collects labels from the (lower-case keyed, decoded) header map and the subject, in the
 * order found, without duplicates.
 */
export function extractLabels(headers: Record<string, string[]>, subject: string): string[] {
  const labels: string[] = [];
  const add = (label: string): void => {
    if (label !== '' && !labels.includes(label)) labels.push(label);
  };

  for (const value of headers['msip_labels'] ?? []) {
    for (const name of msipLabelNames(value)) add(name);
  }
  for (const field of ['x-classification', 'sensitivity']) {
    for (const value of headers[field] ?? []) {
      const label = normalizeLabel(value);
      add(label);
      const tisax = TISAX_VALUE.exec(label);
      if (tisax !== null) addTisax(tisax[1], add);
      if (field === 'x-classification' && VS_NFD.test(bounded(value))) add(VS_NFD_LABEL);
    }
  }
  for (const value of headers['x-tisax-classification'] ?? []) {
    const label = normalizeLabel(value);
    const prefixed = TISAX_VALUE.exec(label);
    addTisax(prefixed === null ? label : prefixed[1], add);
  }
  if (VS_NFD.test(bounded(subject))) add(VS_NFD_LABEL);
  return labels;
}

/** Regular expressions only ever see a bounded prefix (the ReDoS bound of `matches`). */
function bounded(text: string): string {
  return text.length > LIMITS.MAX_MATCH_INPUT ? text.slice(0, LIMITS.MAX_MATCH_INPUT) : text;
}

function addTisax(level: string, add: (label: string) => void): void {
  const normal = normalizeLabel(level);
  add('tisax');
  if (normal !== '') add(`tisax:${TISAX_LEVELS.get(normal) ?? normal}`);
}

/** Label names of an `msip_labels` value, skipping labels marked `Enabled=false`. */
function msipLabelNames(value: string): string[] {
  const names = new Map<string, string>();
  const disabled = new Set<string>();
  for (const entry of value.split(';')) {
    const m = MSIP_ENTRY.exec(entry.trim());
    if (m === null) continue;
    const guid = m[1].toLowerCase();
    const key = m[2].toLowerCase();
    const v = m[3].trim();
    if (key === 'name' && !names.has(guid)) names.set(guid, normalizeLabel(v));
    if (key === 'enabled' && v.toLowerCase() === 'false') disabled.add(guid);
  }
  return [...names].filter(([guid]) => !disabled.has(guid)).map(([, name]) => name);
}
