/**
 * Accepted messages: metadata in clear for queries, the message itself sealed (envelope
 * encryption, src/crypto/envelope.ts). Crypto-erasure nulls `wrapped_key`, leaving the
 * ciphertext unreadable, and sets `erased_at`; a legal hold blocks that.
 */
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { bytea } from './bytea.ts';

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey(),
    tenant: text('tenant').notNull(),
    intent: text('intent').notNull(),
    recipient: text('recipient').notNull(),
    addressDetail: text('address_detail'),
    envelopeFrom: text('envelope_from'),
    headerFrom: text('header_from'),
    senderVerified: boolean('sender_verified').notNull(),
    messageIdHeader: text('message_id_header'),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    clientIp: text('client_ip'),
    helo: text('helo'),
    tls: boolean('tls').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull(),
    authentication: jsonb('authentication').$type<Record<string, unknown>>().notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    wrappedKey: bytea('wrapped_key'),
    keyId: text('key_id').notNull(),
    policyFile: text('policy_file').notNull(),
    policyVersion: text('policy_version').notNull(),
    status: text('status').notNull().default('accepted'),
    legalHold: boolean('legal_hold').notNull().default(false),
    erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('messages_tenant_received_idx').on(t.tenant, t.receivedAt)],
);
