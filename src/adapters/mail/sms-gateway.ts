/**
 * The SMS port over an HTTP gateway (INTENTMAIL_SMS_GATEWAY_URL): one JSON POST `{to, text}` per
 * message; the gateway's JSON answer may name the message (`id`). A 2xx is sent; a 4xx other
 * than 408/429 is permanent (the gateway refuses this request as it is); anything else — 5xx,
 * 408, 429, no answer within SMS_GATEWAY_TIMEOUT_MS — is temporary.
 */
import { IntentmailError } from '../../core/errors.ts';
import { LIMITS } from '../../core/limits.ts';
import type { DeliveryFailure, SmsSender } from '../../steps/types.ts';

/** An SmsSender posting to `url` with `fetchImpl`. */
export function httpSmsGateway(url: string, fetchImpl: typeof fetch = fetch): SmsSender {
  const fail = (permanent: boolean, reason: string): never => {
    const failure: DeliveryFailure = { permanent, reason };
    throw new IntentmailError('delivery_failed', reason.slice(0, LIMITS.MAX_STEP_ERROR_CHARS), { detail: { ...failure } });
  };
  return {
    async send(to, text) {
      let res: Response;
      let body: string;
      try {
        res = await fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'intentmail-sms/1' },
          body: JSON.stringify({ to, text }),
          redirect: 'manual',
          signal: AbortSignal.timeout(LIMITS.SMS_GATEWAY_TIMEOUT_MS),
        });
        body = (await res.text()).slice(0, 4096);
      } catch (err) {
        return fail(false, `SMS gateway unreachable: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (res.status >= 200 && res.status < 300) {
        let id: string | null = null;
        try {
          const parsed: unknown = JSON.parse(body);
          const v = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).id : undefined;
          if (typeof v === 'string' || typeof v === 'number') id = String(v);
        } catch {
          id = null;
        }
        return { id };
      }
      const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      return fail(permanent, `SMS gateway answered HTTP ${res.status}${body.trim() ? `: ${body.trim().slice(0, 200)}` : ''}`);
    },
  };
}
