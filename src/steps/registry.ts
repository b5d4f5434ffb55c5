/**
 * Which handler runs which action. The built-in handlers cover the API handoff, mail and the
 * chain's own control steps; secure delivery adds `smime`, `pgp`, `pdf_container`, `filelink`,
 * `verify_signature` and `redact` through `stepHandlers(extra)`. An action without a handler
 * fails clearly (and is dead-lettered for an operator) rather than being skipped: a policy that
 * asks for encryption must never see its message go out unprotected.
 */
import { forwardHandler, notifyHandler, replyHandler } from './mail.ts';
import { archiveHandler, quarantineHandler, rejectHandler, stopHandler, tagHandler } from './simple.ts';
import type { StepHandler } from './types.ts';
import { incidentHandler, webhookHandler } from './webhook.ts';

/** Action name → handler. */
export type StepHandlers = Readonly<Record<string, StepHandler>>;

/** The handlers this module provides. */
export const BUILTIN_HANDLERS: StepHandlers = {
  webhook: webhookHandler,
  incident: incidentHandler,
  reply: replyHandler,
  forward: forwardHandler,
  copy: forwardHandler,
  notify: notifyHandler,
  archive: archiveHandler,
  tag: tagHandler,
  stop: stopHandler,
  reject: rejectHandler,
  quarantine: quarantineHandler,
};

/** The built-in handlers plus `extra` (which may replace a built-in one). */
export function stepHandlers(extra: Record<string, StepHandler> = {}): StepHandlers {
  return Object.freeze({ ...BUILTIN_HANDLERS, ...extra });
}

/** The handler for an action; one that fails with a clear reason when this build has none. */
export function handlerFor(handlers: StepHandlers, action: string): StepHandler {
  if (Object.hasOwn(handlers, action)) return handlers[action];
  return async () => ({ status: 'failed', reason: `the ${action} action is not available in this build (secure delivery is not installed)` });
}
