/**
 * Intent patterns as role rules write them (`roles: { developer: { "task.*": [read] } }`):
 * `*` matches every intent, `PREFIX.*` every intent whose name starts with `PREFIX.`, and
 * anything else only the intent of exactly that name. Names compare case-insensitively.
 */

/** True when the role-rule pattern covers the intent name. */
export function matchIntentPattern(pattern: string, intent: string): boolean {
  const p = pattern.trim().toLowerCase();
  const name = intent.trim().toLowerCase();
  if (p === '*') return true;
  if (p.endsWith('.*')) {
    const prefix = p.slice(0, -1); // keeps the dot: `task.*` → `task.`
    return name.length > prefix.length && name.startsWith(prefix);
  }
  return p === name;
}
