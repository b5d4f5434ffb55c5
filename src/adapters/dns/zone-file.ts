/**
 * Reads a static DNS zone file (INTENTMAIL_DNS_ZONE): a YAML overlay consulted before real
 * DNS, for offline demos and tests. The format is `Zone` in src/auth/static-zone.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { IntentmailError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import { parseZoneYaml } from '../../auth/static-zone.ts';
import type { Zone } from '../../auth/static-zone.ts';

/** Loads and validates a zone file; throws IntentmailError('config_invalid') naming the file. */
export function loadZoneFile(path: string): Zone {
  let text: string;
  try {
    // Checked before reading so that a mistaken path to a huge file is not read into memory.
    if (statSync(path).size > LIMITS.MAX_ZONE_FILE_BYTES) {
      throw new IntentmailError('config_invalid', `DNS zone file ${path} is larger than ${LIMITS.MAX_ZONE_FILE_BYTES} bytes`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof IntentmailError) throw err;
    throw new IntentmailError('config_invalid', `cannot read DNS zone file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseZoneYaml(text);
  } catch (err) {
    if (err instanceof IntentmailError) {
      throw new IntentmailError('config_invalid', `${path}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}
