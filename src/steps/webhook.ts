/**
 * `webhook` and `incident`: the API handoff. One signed HTTP request per attempt (Standard
 * Webhooks: the same `webhook-id` on every retry so receivers de-duplicate, a fresh timestamp
 * and signature each time). Only a 2xx answer is success; 410 Gone ends the delivery for good;
 * any other answer, a network error or no answer within the timeout is a temporary failure
 * retried on the schedule, no sooner than a `Retry-After` asks. Redirects are not followed: the
 * signed payload goes only where the policy says.
 */
import { createHash } from 'node:crypto';
import { LIMITS } from '../core/limits.ts';
import { parseRetryAfter } from '../queue/schedule.ts';
import { defaultPayload } from './payload.ts';
import { secretKey, signWebhook, splitSecrets } from './signature.ts';
import type { StepHandler, StepInvocation, StepMessage, StepOutcome, StepPorts, StepPreview } from './types.ts';

/** Headers the step sets itself; a policy cannot override them. */
const RESERVED_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-length', 'host', 'transfer-encoding', 'connection']);
const USER_AGENT = 'intentmail-webhook/1';

/** Parameters after rendering (see ACTION_PARAMS.webhook / .incident). */
interface WebhookParams {
  url: string;
  secret?: string;
  headers?: Record<string, string>;
  payload?: Record<string, unknown>;
  timeout?: number;
  method?: 'POST' | 'PUT' | 'PATCH';
  severity?: string;
}

/** The Standard Webhooks message id of a step: derived from its idempotency key, so every attempt and re-drive reuses it. */
export function webhookId(idempotencyKey: string): string {
  return `msg_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 27)}`;
}

/** The URL without credentials or query (for audit records and logs: a query may hold a token). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The time a step of this kind may take, from its params or the default. */
export function webhookTimeoutMs(params: Record<string, unknown>): number {
  return typeof params.timeout === 'number' && params.timeout > 0 ? Math.min(params.timeout, LIMITS.MAX_STEP_TIMEOUT_MS) : LIMITS.WEBHOOK_TIMEOUT_MS;
}

/** Reads at most `cap` bytes of a response body. */
async function readCapped(res: Response, cap: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total >= cap) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const all = new Uint8Array(Math.min(total, cap));
  let at = 0;
  for (const c of chunks) {
    const take = Math.min(c.byteLength, all.byteLength - at);
    all.set(c.subarray(0, take), at);
    at += take;
    if (at >= all.byteLength) break;
  }
  return new TextDecoder().decode(all);
}

/** The receiver's answer as the step result: its JSON object, or the text under `body`. */
function resultOf(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const v: unknown = JSON.parse(trimmed);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON after all: kept as text below
    }
  }
  return trimmed === '' ? {} : { body: trimmed.slice(0, LIMITS.MAX_STEP_ERROR_CHARS) };
}

/** The id a receiver gave the thing it created (`id`, Jira's `key`, …) for the audit record. */
function resourceIdOf(result: Record<string, unknown>): string | null {
  for (const k of ['id', 'key', 'identifier', 'reference', 'ackId']) {
    const v = result[k];
    if (typeof v === 'string' && v !== '') return v.slice(0, 200);
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return null;
}

/** Why a fetch failed, in one line (undici hides the system error under `cause`). */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return `network error: ${detail}`.slice(0, LIMITS.MAX_STEP_ERROR_CHARS);
}

/** Builds the request a webhook step sends (shared by the handler and `simulate`). */
export async function buildWebhookRequest(
  message: StepMessage,
  step: StepInvocation,
  ports: Pick<StepPorts, 'clock' | 'webhookInlineBytes'>,
  eventType: string,
): Promise<{ url: string; method: string; headers: Record<string, string>; body: string; secrets: string[] } | { problem: string }> {
  const p = step.params as unknown as WebhookParams;
  let url: URL;
  try {
    url = new URL(String(p.url ?? ''));
  } catch {
    return { problem: 'the url is empty or not a URL (is its environment variable set?)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: `only http and https URLs (got ${url.protocol})` };
  const secrets = typeof p.secret === 'string' ? splitSecrets(p.secret) : [];
  for (const s of secrets) {
    const k = secretKey(s);
    if ('problem' in k) return { problem: k.problem };
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(p.headers ?? {})) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) return { problem: `header ${name} is set by the webhook step itself` };
    if (/[\r\n\0]/.test(value)) return { problem: `header ${name} has a line break in its value` };
    headers[name.toLowerCase()] = value;
  }
  const now = ports.clock.now();
  const payload =
    p.payload ??
    (await defaultPayload(message, step, {
      type: eventType,
      now,
      inlineBytes: ports.webhookInlineBytes ?? LIMITS.WEBHOOK_INLINE_BYTES,
      extra: p.severity ? { severity: p.severity } : undefined,
    }));
  const body = JSON.stringify(payload);
  const id = webhookId(step.idempotencyKey);
  const timestamp = Math.floor(now.getTime() / 1000);
  headers['webhook-id'] = id;
  headers['webhook-timestamp'] = String(timestamp);
  if (secrets.length > 0) headers['webhook-signature'] = signWebhook({ id, timestamp, body, secrets });
  return { url: url.toString(), method: p.method ?? 'POST', headers, body, secrets };
}

/** Sends one attempt and maps the answer to an outcome. */
async function deliver(message: StepMessage, step: StepInvocation, ports: StepPorts, eventType: string): Promise<StepOutcome> {
  const req = await buildWebhookRequest(message, step, ports, eventType);
  if ('problem' in req) return { status: 'failed', reason: req.problem };
  const timeoutMs = webhookTimeoutMs(step.params);
  const target = redactUrl(req.url);
  let res: Response;
  let text: string;
  try {
    res = await ports.fetch(req.url, { method: req.method, headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    text = await readCapped(res, LIMITS.MAX_WEBHOOK_RESPONSE_BYTES);
  } catch (err) {
    return { status: 'retry', reason: `${target}: ${networkReason(err, timeoutMs)}` };
  }
  if (res.status >= 200 && res.status < 300) {
    const result = resultOf(text);
    return { status: 'done', result, resourceId: resourceIdOf(result), summary: `HTTP ${res.status} from ${target}` };
  }
  if (res.status === 410) {
    return { status: 'failed', reason: `${target} answered 410 Gone: the endpoint no longer takes deliveries, so this one is not retried` };
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), ports.clock.now());
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return { status: 'retry', reason: `${target} answered HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** The `webhook` action. */
export const webhookHandler: StepHandler = (message, step, ports) => deliver(message, step, ports, 'message.received');

/** The `incident` action: a webhook whose default event says `incident.reported` and carries the severity. */
export const incidentHandler: StepHandler = (message, step, ports) => deliver(message, step, ports, 'incident.reported');

/** What `simulate` shows for a webhook or incident step: the request, signed, not sent. */
export async function previewWebhook(message: StepMessage, step: StepInvocation, ports: Pick<StepPorts, 'clock' | 'webhookInlineBytes'>): Promise<StepPreview> {
  const req = await buildWebhookRequest(message, step, ports, step.action === 'incident' ? 'incident.reported' : 'message.received');
  if ('problem' in req) return { action: step.action, name: step.name, target: null, detail: { problem: req.problem } };
  // Credentials are not shown, nor the signature: it is valid for minutes, and a dry run's output may travel.
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [
      k,
      k === 'webhook-signature' ? `(v1 HMAC-SHA256 with ${req.secrets.length} secret${req.secrets.length === 1 ? '' : 's'})` : /authorization|token|key|secret/i.test(k) ? '(redacted)' : v,
    ]),
  );
  return {
    action: step.action,
    name: step.name,
    target: redactUrl(req.url),
    detail: { method: req.method, url: redactUrl(req.url), headers, payload: JSON.parse(req.body) as unknown, timeoutMs: webhookTimeoutMs(step.params) },
  };
}
