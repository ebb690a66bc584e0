import { createHash } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import type { PartEntry } from './api.js';

/**
 * Part lists ("trees"): a snapshot's PartEntry[] as JSON lines, one part per line. The bytes are
 * then stored as chunked, deduplicated data, so consecutive snapshots of a big tree share most of
 * them.
 */

/** Serialises parts, one JSON object per line. Pure; never throws. */
export function encodeTree(parts: readonly PartEntry[]): Buffer {
  return Buffer.from(parts.map((p) => JSON.stringify(p)).join('\n') + (parts.length ? '\n' : ''), 'utf8');
}

/** SHA-256 (hex) of the parts without their chunk ids: the same in every repository. Pure. */
export function contentHash(parts: readonly PartEntry[]): string {
  const hash = createHash('sha256');
  for (const { chunks: _chunks, ...rest } of parts) hash.update(JSON.stringify(rest) + '\n');
  return hash.digest('hex');
}

/** Parses what `encodeTree` wrote. Throws REPRISE_INTEGRITY on malformed input. Pure. */
export function decodeTree(bytes: Uint8Array): PartEntry[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  const parts: PartEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      parts.push(JSON.parse(line) as PartEntry);
    } catch (cause) {
      throw new RepriseError('REPRISE_INTEGRITY', 'snapshot part list is not valid JSON lines', { cause });
    }
  }
  return parts;
}
