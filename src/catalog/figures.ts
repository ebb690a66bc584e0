import { redact } from '../config/redact.js';

/**
 * Turns run figures into the JSON text a catalog stores: secrets redacted (by the one shared
 * `redact()`), bigints kept as numbers when exact and as strings otherwise, NUL characters
 * replaced (PostgreSQL's JSONB refuses them, and both catalogs must store the same thing).
 * Never throws on a cycle-free value; throws TypeError on a cyclic one. Pure; idempotent.
 */
export function serializeFigures(figures: Record<string, unknown> | undefined): string {
  return JSON.stringify(redact(figures ?? {}), (_key, value: unknown) => {
    if (typeof value === 'bigint') {
      return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
    }
    if (typeof value === 'string' && value.includes('\u0000')) return value.replaceAll('\u0000', '\uFFFD');
    return value;
  });
}

/** Parses stored figures, tolerating a non-object (returns it wrapped) so one bad row never breaks a listing. */
export function parseFigures(stored: unknown): Record<string, unknown> {
  const value: unknown = typeof stored === 'string' ? safeParse(stored) : stored;
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return value === null || value === undefined ? {} : { value };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { unparsable: text };
  }
}
