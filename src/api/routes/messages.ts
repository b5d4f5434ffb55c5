/**
 * Messages: metadata and step progress, the content (decrypted on request, audited), re-drive
 * of a dead-lettered step, legal hold, and crypto-erasure (the wrapped data key is destroyed:
 * the ciphertext stays and can never be opened again; the audit chain records the erasure and
 * still verifies). Erasure is refused while the message is on legal hold.
 */
import { Buffer } from 'node:buffer';
import { createRoute, z } from '@hono/zod-openapi';
import { LIMITS } from '../../core/limits.ts';
import { openMessage } from '../../crypto/envelope.ts';
import type { ApiApp, RouteContext } from '../app.ts';
import { canSee, principalOf, requireScope } from '../auth.ts';
import type { MessageInfo } from '../ports.ts';
import { problem } from '../problems.ts';
import { BEARER, IdParam, LimitQuery, Note, Rfc3339, TenantQuery, Timestamp, iso, problemResponses } from '../schemas.ts';

const Message = z
  .object({
    id: z.uuid(),
    tenant: z.string(),
    intent: z.string(),
    recipient: z.string(),
    sender: z.string().nullable().openapi({ description: 'The header From address the decision was about' }),
    envelopeFrom: z.string().nullable(),
    senderVerified: z.boolean(),
    size: z.number().int(),
    sha256: z.string().openapi({ description: 'Hex SHA-256 of the message as received' }),
    receivedAt: Timestamp,
    status: z.string().openapi({ example: 'accepted' }),
    legalHold: z.boolean(),
    erasedAt: Timestamp.nullable(),
    policy: z.object({ file: z.string(), version: z.string() }),
  })
  .openapi('Message');

const StepProgress = z
  .looseObject({ path: z.string(), name: z.string(), action: z.string(), status: z.string(), attempts: z.number().int() })
  .openapi('StepProgress');

const MessageStatus = Message.extend({
  job: z.object({ id: z.uuid(), status: z.string(), attempts: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp }).nullable(),
  progress: z
    .looseObject({ jobId: z.string(), status: z.string(), steps: z.array(StepProgress) })
    .nullable()
    .openapi({ description: 'Step-by-step progress from the action-chain queue; null when the queue is not wired into this process' }),
}).openapi('MessageStatus');

const DeadStep = z
  .looseObject({ messageId: z.string(), jobId: z.string(), tenant: z.string(), intent: z.string(), stepPath: z.string(), reason: z.string() })
  .openapi('DeadStep');

const Reason = z.strictObject({ reason: Note.optional().openapi({ description: 'Why (kept in the audit record)' }) });

function messageJson(m: MessageInfo) {
  return {
    id: m.id,
    tenant: m.tenant,
    intent: m.intent,
    recipient: m.recipient,
    sender: m.headerFrom,
    envelopeFrom: m.envelopeFrom,
    senderVerified: m.senderVerified,
    size: m.size,
    sha256: m.sha256,
    receivedAt: m.receivedAt.toISOString(),
    status: m.status,
    legalHold: m.legalHold,
    erasedAt: iso(m.erasedAt),
    policy: { file: m.policyFile, version: m.policyVersion },
  };
}

/** Dates inside queue progress as RFC 3339 text (the queue may hand Date objects). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Opaque cursor of the last item of a page (newest-first order). */
function cursorOf(m: MessageInfo): string {
  return Buffer.from(`${m.receivedAt.toISOString()}|${m.id}`, 'utf8').toString('base64url');
}

function parseCursor(cursor: string): { receivedAt: Date; id: string } {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const [at, id] = text.split('|');
  const receivedAt = new Date(at ?? '');
  if (!id || Number.isNaN(receivedAt.getTime())) throw problem('validation_failed', 'query cursor: not a cursor this API returned', { errors: [{ in: 'query', path: 'cursor', message: 'invalid cursor' }] });
  return { receivedAt, id };
}

/** Registers the /v1/messages routes and /v1/dead-letters. */
export function registerMessages(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  /** A message the principal may see, or 404 (another tenant's message reads as missing). */
  const visible = async (c: Parameters<RouteContext['tenant']>[0], id: string): Promise<MessageInfo> => {
    const m = await deps.admin.getMessageInfo(id);
    if (!m || !canSee(principalOf(c), m.tenant)) throw problem('not_found', `No message ${id}`);
    return m;
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/messages',
      tags: ['messages'],
      summary: 'List a tenant\'s messages, newest first (scope messages:read)',
      security: BEARER,
      middleware: [requireScope('messages:read')] as const,
      request: {
        query: z.object({
          tenant: TenantQuery,
          intent: z.string().min(1).max(100).optional(),
          sender: z.string().min(1).max(320).optional().openapi({ description: 'Header From address (case-insensitive)' }),
          status: z.string().min(1).max(40).optional().openapi({ example: 'accepted' }),
          since: Rfc3339.optional(),
          until: Rfc3339.optional(),
          limit: LimitQuery,
          cursor: z.string().max(300).optional().openapi({ description: 'The `next` value of the previous page' }),
        }),
      },
      responses: {
        200: { description: 'A page of messages', content: { 'application/json': { schema: z.object({ items: z.array(Message), next: z.string().nullable() }) } } },
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tenant = ctx.tenant(c, q.tenant);
      const limit = q.limit ?? LIMITS.API_PAGE_DEFAULT;
      const rows = await deps.admin.listMessages({
        tenant: tenant.name,
        intent: q.intent,
        sender: q.sender,
        status: q.status,
        since: q.since === undefined ? undefined : new Date(q.since),
        until: q.until === undefined ? undefined : new Date(q.until),
        before: q.cursor === undefined ? undefined : parseCursor(q.cursor),
        limit,
      });
      return c.json({ items: rows.map(messageJson), next: rows.length === limit ? cursorOf(rows[rows.length - 1]) : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/messages/{id}',
      tags: ['messages'],
      summary: 'Status of a message and the progress of its steps (scope messages:read)',
      security: BEARER,
      middleware: [requireScope('messages:read')] as const,
      request: { params: IdParam },
      responses: { 200: { description: 'The message', content: { 'application/json': { schema: MessageStatus } } }, ...problemResponses(404) },
    }),
    async (c) => {
      const m = await visible(c, c.req.valid('param').id);
      const job = await deps.store.getJobForMessage(m.id);
      const progress = deps.jobs ? await deps.jobs.messageStatus(m.id) : null;
      return c.json(
        {
          ...messageJson(m),
          job: job && { id: job.id, status: job.status, attempts: job.attempts, createdAt: job.createdAt.toISOString(), updatedAt: job.updatedAt.toISOString() },
          progress: progress && plain(progress),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/messages/{id}/content',
      tags: ['messages'],
      summary: 'The stored message, decrypted (scope messages:content); every read is audited',
      description: 'The message as stored: the raw message with our Authentication-Results header first. 410 `message_erased` once it was erased.',
      security: BEARER,
      middleware: [requireScope('messages:content')] as const,
      request: { params: IdParam },
      responses: {
        200: { description: 'The raw message', content: { 'message/rfc822': { schema: z.string().openapi({ format: 'binary' }) } } },
        ...problemResponses(404, 410),
      },
    }),
    async (c) => {
      const info = await visible(c, c.req.valid('param').id);
      const stored = await deps.store.getMessage(info.id);
      if (!stored) throw problem('not_found', `No message ${info.id}`);
      if (stored.erasedAt !== null || stored.wrappedKey.byteLength === 0) {
        throw problem('message_erased', `Message ${info.id} was erased at ${iso(stored.erasedAt) ?? 'an unknown time'}; its content cannot be recovered`, { erasedAt: iso(stored.erasedAt) });
      }
      const raw = openMessage(stored, deps.masterKey);
      await deps.store.appendAudit(ctx.event(c, { tenant: info.tenant, type: 'api.message.read', target: info.id, intent: info.intent, before: null, after: null, scope: 'messages:content', parameters: { size: raw.byteLength } }));
      return c.body(raw as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'message/rfc822' });
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/messages/{id}/redrive',
      tags: ['messages'],
      summary: 'Re-drive a dead-lettered step of the message (scope messages:write)',
      security: BEARER,
      middleware: [requireScope('messages:write'), ctx.jsonLimit] as const,
      request: {
        params: IdParam,
        body: { content: { 'application/json': { schema: z.strictObject({ step: z.string().min(1).max(200).optional().openapi({ description: 'The step path (e.g. `1` or `0.then.1`); default: the dead-lettered one' }), reason: Note.optional() }) } }, required: false },
      },
      responses: {
        202: { description: 'The step is queued again', content: { 'application/json': { schema: z.object({ messageId: z.uuid(), redriven: z.literal(true), step: z.string().nullable() }) } } },
        ...problemResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const m = await visible(c, c.req.valid('param').id);
      const body = c.req.valid('json');
      const done = deps.jobs ? await deps.jobs.redrive(m.id, body.step) : false;
      if (!done) {
        const why = deps.jobs ? '' : ' (the action-chain queue is not wired into this process)';
        throw problem('not_dead_lettered', `Message ${m.id} has no dead-lettered step${body.step ? ` ${body.step}` : ''} to re-drive${why}`);
      }
      await deps.store.appendAudit(ctx.event(c, { tenant: m.tenant, type: 'api.message.redrive', target: m.id, intent: m.intent, before: null, after: { step: body.step ?? null }, scope: 'messages:write', parameters: { reason: body.reason ?? null } }));
      return c.json({ messageId: m.id, redriven: true as const, step: body.step ?? null }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/messages/{id}/legal-hold',
      tags: ['messages'],
      summary: 'Set or release the legal hold (scope messages:write); a held message cannot be erased',
      security: BEARER,
      middleware: [requireScope('messages:write'), ctx.jsonLimit] as const,
      request: { params: IdParam, body: { content: { 'application/json': { schema: z.strictObject({ hold: z.boolean(), reason: Note.optional() }) } }, required: true } },
      responses: { 200: { description: 'The message', content: { 'application/json': { schema: Message } } }, ...problemResponses(400, 404, 410, 413, 415) },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const body = c.req.valid('json');
      await visible(c, id);
      const outcome = await deps.admin.setLegalHold(id, body.hold, (before, after) =>
        ctx.event(c, {
          tenant: before.tenant,
          type: body.hold ? 'api.message.hold' : 'api.message.release',
          target: id,
          intent: before.intent,
          before: { legalHold: before.legalHold },
          after: { legalHold: after.legalHold },
          scope: 'messages:write',
          parameters: { reason: body.reason ?? null },
        }),
      );
      if (outcome.status === 'missing') throw problem('not_found', `No message ${id}`);
      if (outcome.status === 'refused') throw problem('message_erased', `Message ${id} was erased; there is nothing left to hold`);
      return c.json(messageJson(outcome.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/messages/{id}/erase',
      tags: ['messages'],
      summary: 'Crypto-erase the message (scope messages:erase): its data key is destroyed, the audit keeps that it happened',
      description: 'Refused with 409 `legal_hold` while the message is on legal hold (the refusal is audited too); 410 `message_erased` if it already was.',
      security: BEARER,
      middleware: [requireScope('messages:erase'), ctx.jsonLimit] as const,
      request: { params: IdParam, body: { content: { 'application/json': { schema: Reason } }, required: false } },
      responses: { 200: { description: 'The erased message', content: { 'application/json': { schema: Message } } }, ...problemResponses(400, 404, 409, 410, 413, 415) },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const body = c.req.valid('json');
      await visible(c, id);
      const now = deps.clock.now();
      const outcome = await deps.admin.eraseMessage(id, now, (before, after) =>
        ctx.event(c, {
          tenant: before.tenant,
          type: 'api.message.erase',
          target: id,
          intent: before.intent,
          before: { status: before.status, legalHold: before.legalHold, erasedAt: null },
          after: after && { status: after.status, erasedAt: iso(after.erasedAt) },
          scope: 'messages:erase',
          status: after ? 'ok' : 'refused',
          reason: after ? undefined : 'erasure refused: the message is on legal hold',
          parameters: { reason: body.reason ?? null },
        }),
      );
      if (outcome.status === 'missing') throw problem('not_found', `No message ${id}`);
      if (outcome.status === 'refused') {
        if (outcome.reason === 'legal_hold') throw problem('legal_hold', `Message ${id} is on legal hold; release the hold before erasing it`);
        throw problem('message_erased', `Message ${id} was already erased at ${iso(outcome.before.erasedAt)}`, { erasedAt: iso(outcome.before.erasedAt) });
      }
      return c.json(messageJson(outcome.after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/dead-letters',
      tags: ['messages'],
      summary: 'Steps that failed permanently and wait for a re-drive (scope messages:read)',
      description: 'Empty when the action-chain queue is not wired into this process (nothing can be dead-lettered without it).',
      security: BEARER,
      middleware: [requireScope('messages:read')] as const,
      request: { query: z.object({ tenant: TenantQuery }) },
      responses: { 200: { description: 'Dead-lettered steps', content: { 'application/json': { schema: z.object({ items: z.array(DeadStep) }) } } }, ...problemResponses(400, 404) },
    }),
    async (c) => {
      const tenant = ctx.tenant(c, c.req.valid('query').tenant);
      const items = deps.jobs ? plain(await deps.jobs.listDead(tenant.name)) : [];
      return c.json({ items }, 200);
    },
  );
}
