/**
 * A `bytea` column that reads and writes plain Uint8Array on both drivers: PGlite hands back
 * Uint8Array, postgres-js a Buffer (or, for untyped results, the `\x…` hex text form,
 * PostgreSQL docs §8.4.1); both become a plain Uint8Array so callers compare bytes, not classes.
 */
import { Buffer } from 'node:buffer';
import { customType } from 'drizzle-orm/pg-core';

/** Converts whatever the driver returned for a bytea value into a plain Uint8Array (no copy when possible). */
export function byteaFromDriver(value: unknown): Uint8Array {
  if (typeof value === 'string') {
    if (!value.startsWith('\\x')) throw new TypeError('bytea text is not in hex format');
    const bytes = Buffer.from(value.slice(2), 'hex');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('bytea value is neither bytes nor hex text');
}

/** The bytea column type used by every table. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  // A Buffer is a Uint8Array, and postgres-js only infers bytea (OID 17) for Buffers.
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => byteaFromDriver(value),
});
