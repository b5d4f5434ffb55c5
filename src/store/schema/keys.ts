/**
 * The per-tenant key store (src/keys): S/MIME and OpenPGP material, trust anchors, revocation
 * lists, and the phone numbers passwords go to by SMS. Every row belongs to exactly one tenant and
 * every query is keyed by it. Private keys are never stored in clear: `secret_ciphertext` is sealed
 * with a fresh data key that the master key wraps (src/crypto/envelope.ts), like messages.
 */
import { index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { bytea } from './bytea.ts';

export const tenantKeys = pgTable(
  'tenant_keys',
  {
    id: uuid('id').primaryKey(),
    tenant: text('tenant').notNull(),
    /** `smime_identity` | `smime_cert` | `x509_ca` | `x509_crl` | `pgp_identity` | `pgp_public`. */
    kind: text('kind').notNull(),
    /** Hex SHA-256 of the certificate or CRL DER; the OpenPGP primary key fingerprint. */
    fingerprint: text('fingerprint').notNull(),
    /** Lower-case e-mail addresses the material is for (certificate SAN/subject, OpenPGP user ids). */
    addresses: text('addresses').array().notNull(),
    subject: text('subject').notNull(),
    issuer: text('issuer'),
    notBefore: timestamp('not_before', { withTimezone: true, mode: 'date' }),
    /** Null for OpenPGP keys without an expiry. */
    notAfter: timestamp('not_after', { withTimezone: true, mode: 'date' }),
    /** DER certificate followed by its chain (X.509), DER CRL, or the binary OpenPGP public key. */
    publicData: bytea('public_data').notNull(),
    secretCiphertext: bytea('secret_ciphertext'),
    secretWrappedKey: bytea('secret_wrapped_key'),
    secretKeyId: text('secret_key_id'),
    /** Algorithm, usages, trust path, capabilities learned from signatures. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    /** `import` (operator, CLI or tenant.yaml) or `learned` (from a verified inbound message). */
    source: text('source').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [unique('tenant_keys_tenant_kind_fingerprint_uq').on(t.tenant, t.kind, t.fingerprint), index('tenant_keys_tenant_kind_idx').on(t.tenant, t.kind)],
);

/** Where a recipient's out-of-band channel goes (the SMS number for PDF container passwords). */
export const tenantContacts = pgTable(
  'tenant_contacts',
  {
    tenant: text('tenant').notNull(),
    address: text('address').notNull(),
    phone: text('phone').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.address] })],
);
