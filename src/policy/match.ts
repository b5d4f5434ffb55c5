/**
 * Intent patterns in role rules (`roles: { developer: { "task.*": [read, create] } }`): `*`
 * covers every intent, `PREFIX.*` every intent below `PREFIX.` (one or more further segments),
 * anything else only the intent of exactly that name. The loader accepts only these forms.
 */

/** True when the role-rule pattern covers the intent name (case-insensitive). */
export function matchIntentPattern(pattern: string, intent: string): boolean {
  const p = pattern.trim().toLowerCase();
  const name = intent.trim().toLowerCase();
  if (p === '*') return true;
  if (p.endsWith('.*')) {
    const prefix = p.slice(0, -1);
    return name.length > prefix.length && name.startsWith(prefix);
  }
  return p === name;
}
