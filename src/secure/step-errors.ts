/**
 * How the secure-delivery step handlers turn an unexpected error into a step outcome: an
 * unavailable database is temporary (the step is retried), anything else is permanent and named.
 */
import { IntentmailError } from '../core/errors.ts';

/** A `retry` for storage trouble, a `failed` for everything else, with a one-line reason. */
export function stepFailure(err: unknown): { status: 'retry'; reason: string } | { status: 'failed'; reason: string } {
  const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
  if (err instanceof IntentmailError && err.code === 'storage_unavailable') return { status: 'retry', reason };
  return { status: 'failed', reason };
}
