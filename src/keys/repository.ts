/**
 * The key repository on drizzle (PGlite or a PostgreSQL server), over the same driver as the
 * store. Every statement has `tenant = $1` in its WHERE clause; ids of another tenant simply do
 * not exist here. Driver failures become IntentmailError('storage_unavailable').
 */
import { and, arrayContains, desc, eq, inArray, or, type SQL } from 'drizzle-orm';
import { IntentmailError } from '../core/errors.ts';
import type { Db } from '../store/driver.ts';
import { tenantContacts, tenantKeys } from '../store/schema/keys.ts';
import { KEY_KINDS, type KeyKind, type KeyRepository, type KeySource, type StoredKey } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FINGERPRINT = /^[0-9a-f]{16,64}$/i;

type Row = typeof tenantKeys.$inferSelect;

function toStored(row: Row): StoredKey {
  const secret =
    row.secretCiphertext && row.secretWrappedKey && row.secretKeyId ? { ciphertext: row.secretCiphertext, wrappedKey: row.secretWrappedKey, keyId: row.secretKeyId } : null;
  return {
    id: row.id,
    tenant: row.tenant,
    kind: row.kind as KeyKind,
    fingerprint: row.fingerprint,
    addresses: row.addresses,
    subject: row.subject,
    issuer: row.issuer,
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    source: row.source as KeySource,
    details: row.details,
    hasSecret: secret !== null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    publicData: row.publicData,
    secret,
  };
}

async function guard<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (cause instanceof IntentmailError) throw cause;
    throw new IntentmailError('storage_unavailable', `storage unavailable (${what})`, { cause });
  }
}

/** The columns an import may update on an existing key. */
function mutableColumns(key: Parameters<KeyRepository['upsert']>[0]) {
  return {
    addresses: key.addresses,
    subject: key.subject,
    issuer: key.issuer,
    notBefore: key.notBefore,
    notAfter: key.notAfter,
    publicData: key.publicData,
    secretCiphertext: key.secret?.ciphertext ?? null,
    secretWrappedKey: key.secret?.wrappedKey ?? null,
    secretKeyId: key.secret?.keyId ?? null,
    details: key.details,
    source: key.source,
    updatedAt: key.updatedAt,
  };
}

/** A KeyRepository over a drizzle database handle (src/store/driver.ts). */
export function drizzleKeyRepository(db: Db): KeyRepository {
  return {
    upsert: (key) =>
      guard('store key', async () => {
        const rows = await db
          .insert(tenantKeys)
          .values({ id: key.id, tenant: key.tenant, kind: key.kind, fingerprint: key.fingerprint, createdAt: key.createdAt, ...mutableColumns(key) })
          // Re-importing the same key (same tenant, kind, fingerprint) refreshes what may change; id and createdAt stay.
          .onConflictDoUpdate({ target: [tenantKeys.tenant, tenantKeys.kind, tenantKeys.fingerprint], set: mutableColumns(key) })
          .returning({ id: tenantKeys.id });
        return { id: rows[0].id, created: rows[0].id === key.id };
      }),
    list: (tenant, kinds = KEY_KINDS) =>
      guard('list keys', async () => {
        const rows = await db
          .select()
          .from(tenantKeys)
          .where(and(eq(tenantKeys.tenant, tenant), inArray(tenantKeys.kind, [...kinds])))
          .orderBy(desc(tenantKeys.createdAt), desc(tenantKeys.id));
        return rows.map(toStored);
      }),
    findByAddress: (tenant, kinds, address) =>
      guard('find keys', async () => {
        const rows = await db
          .select()
          .from(tenantKeys)
          .where(and(eq(tenantKeys.tenant, tenant), inArray(tenantKeys.kind, [...kinds]), arrayContains(tenantKeys.addresses, [address.toLowerCase()])))
          .orderBy(desc(tenantKeys.notAfter), desc(tenantKeys.createdAt));
        return rows.map(toStored);
      }),
    get: (tenant, idOrFingerprint) =>
      guard('read key', async () => {
        const matches: SQL[] = [];
        if (UUID.test(idOrFingerprint)) matches.push(eq(tenantKeys.id, idOrFingerprint));
        if (FINGERPRINT.test(idOrFingerprint)) matches.push(eq(tenantKeys.fingerprint, idOrFingerprint.toLowerCase()), eq(tenantKeys.fingerprint, idOrFingerprint.toUpperCase()));
        if (matches.length === 0) return null;
        const rows = await db
          .select()
          .from(tenantKeys)
          .where(and(eq(tenantKeys.tenant, tenant), or(...matches)))
          .limit(1);
        return rows.length === 0 ? null : toStored(rows[0]);
      }),
    remove: (tenant, id) =>
      guard('remove key', async () => {
        if (!UUID.test(id)) return false;
        const rows = await db
          .delete(tenantKeys)
          .where(and(eq(tenantKeys.tenant, tenant), eq(tenantKeys.id, id)))
          .returning({ id: tenantKeys.id });
        return rows.length > 0;
      }),
    setPhone: (tenant, address, phone, now) =>
      guard('store contact', async () => {
        await db
          .insert(tenantContacts)
          .values({ tenant, address: address.toLowerCase(), phone, updatedAt: now })
          .onConflictDoUpdate({ target: [tenantContacts.tenant, tenantContacts.address], set: { phone, updatedAt: now } });
      }),
    phone: (tenant, address) =>
      guard('read contact', async () => {
        const rows = await db
          .select({ phone: tenantContacts.phone })
          .from(tenantContacts)
          .where(and(eq(tenantContacts.tenant, tenant), eq(tenantContacts.address, address.toLowerCase())))
          .limit(1);
        return rows[0]?.phone ?? null;
      }),
  };
}
