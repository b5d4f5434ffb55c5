/**
 * POST /v1/inbound: HTTP ingress for relays that hand mail over HTTP (SES, Mailgun,
 * Cloudflare) instead of SMTP. The raw message and its envelope enter the same stages as an
 * SMTP transaction (resolveRecipient, then processMessage with the live store): the same
 * decision, the same audit record, the same durability (202 only after message, job and
 * record are committed). A refusal is a problem document carrying the SMTP reply it would
 * have been, with the HTTP status of the same error code (src/core/errors.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { IntentmailError, errorCodeForReply, formatSmtpReply, toSmtpReply, type SmtpReply } from '../../core/errors.ts';
import { processMessage } from '../../pipeline/inbound.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { principalOf, requireScope } from '../auth.ts';
import { EnvelopeQuery, envelopeOf, readRawMessage, recipientsOf, resolveRecipients } from '../raw-message.ts';
import { BEARER, ProblemSchema, RawMessageBody, problemResponses } from '../schemas.ts';

const Accepted = z
  .object({
    accepted: z.literal(true),
    messageId: z.uuid(),
    jobId: z.uuid(),
    tenant: z.string(),
    intent: z.string(),
    smtp: z.string().openapi({ example: '250 2.6.0 Message accepted as 6f0c…' }),
    reply: z.object({ code: z.number().int(), enhanced: z.string(), text: z.string() }),
    lineEndingsNormalised: z.boolean(),
  })
  .openapi('InboundAccepted');

const Refused = { description: 'Refused: a problem with `smtp` (the SMTP reply) and `reply`', content: { 'application/problem+json': { schema: ProblemSchema } } };

/** Registers POST /v1/inbound. */
export function registerInbound(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/inbound',
      tags: ['inbound'],
      summary: 'Deliver a raw message with its envelope into the inbound pipeline (scope inbound)',
      description:
        'Body: the raw RFC 5322 message (`Content-Type: message/rfc822`). Envelope: query parameters `to` (repeatable), `from`, `ip`, `helo`, `tls`. A token bound to a tenant can deliver only to that tenant\'s addresses. Refusals map like SMTP replies: 550 5.1.1 → 404 `unknown_recipient`, 550 5.7.26/5.7.23/5.7.20 → 403 `auth_*`, 550 5.7.1 → 403 `sender_not_allowed`, 552 5.3.4 → 413 `message_too_large`, 554 5.6.0 and 550 5.6.11 → 422, 451 4.7.1 → 429 `rate_limited`, 451 4.4.3 → 503 `auth_temporary`, 451 4.3.0 → 503 `storage_unavailable`; 452 4.5.3 → 400 `too_many_recipients`.',
      security: BEARER,
      middleware: [requireScope('inbound'), ctx.limit(deps.maxMessageBytes, 'A message'), ctx.mediaType('message/rfc822', 'application/octet-stream')] as const,
      request: { query: EnvelopeQuery, body: RawMessageBody },
      responses: {
        202: { description: 'Accepted: stored with its job and audit record', content: { 'application/json': { schema: Accepted } } },
        ...problemResponses(400, 413, 415),
        404: Refused,
        422: Refused,
        503: Refused,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { raw, normalised } = await readRawMessage(c);
      const refuse = (reply: SmtpReply, extra: Record<string, unknown>): never => {
        throw new IntentmailError(errorCodeForReply(reply) ?? 'internal', reply.text, { detail: { smtp: formatSmtpReply(reply), reply, ...extra } });
      };
      const rcpt = resolveRecipients(deps.policy(), principalOf(c), recipientsOf(q), deps.maxMessageBytes, raw.byteLength);
      if (!rcpt.ok) return refuse(toSmtpReply(rcpt.error), { stage: 'recipient', recipient: rcpt.recipient });
      const report = await processMessage(deps.pipeline, envelopeOf(q), rcpt.target, raw);
      if (!report.accepted || report.messageId === null || report.jobId === null) {
        const wait = report.rateLimit && !report.rateLimit.allowed ? { retryAfterSeconds: Math.max(1, Math.ceil(report.rateLimit.retryAfterMs / 1000)) } : {};
        return refuse(report.reply, { stage: report.refusedAt, tenant: report.tenant, intent: report.intent, ...wait });
      }
      return c.json(
        { accepted: true as const, messageId: report.messageId, jobId: report.jobId, tenant: report.tenant, intent: report.intent, smtp: formatSmtpReply(report.reply), reply: report.reply, lineEndingsNormalised: normalised },
        202,
      );
    },
  );
}
