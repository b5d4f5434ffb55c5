/**
 * Policy versions are git blob ids: the SHA-1 of `blob <byte length>\0<content>`, exactly what
 * `git hash-object` prints, so an audit record's policy version can be found with `git log
 * --find-object=<id>` in the policy repository.
 */
import { createHash } from 'node:crypto';

/** The git blob id (40 hex digits) of a file's text, encoded as UTF-8. */
export function gitBlobId(text: string): string {
  const content = new TextEncoder().encode(text);
  return createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex');
}
