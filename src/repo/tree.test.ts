import { describe, expect, it } from 'vitest';
import { RepriseError } from '../core/errors.js';
import type { PartEntry } from './api.js';
import { decodeTree, encodeTree, encodeTreePieces } from './tree.js';

/** Parts with multi-byte names and a few chunk ids each: ~20 MiB of JSON lines for 60,000 parts. */
function manyParts(count: number): PartEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `dossier-${i % 97}/fichier-${i}-été-${String.fromCodePoint(0x1f600 + (i % 64))}.txt`,
    type: 'file',
    mode: 0o100644,
    mtimeMs: 1_764_000_000_000 + i,
    size: i * 1000,
    chunks: Array.from({ length: 1 + (i % 4) }, (_, k) => (i * 4 + k).toString(16).padStart(64, '0')),
    crc32: (i % 65536).toString(16).padStart(8, '0'),
  }));
}

describe('encodeTreePieces', () => {
  it('yields the JSON lines of every part, in order, in pieces of about a MiB that each end a line', () => {
    const parts = manyParts(60_000);
    const pieces = [...encodeTreePieces(parts)];
    expect(pieces.length).toBeGreaterThan(10);
    for (const piece of pieces) {
      expect(piece[piece.length - 1]).toBe(0x0a);
      expect(piece.length).toBeLessThan(1.5 * (1 << 20));
    }
    const joined = Buffer.concat(pieces);
    expect(joined.equals(Buffer.from(parts.map((p) => JSON.stringify(p) + '\n').join(''), 'utf8'))).toBe(true);
    expect(encodeTree(parts).equals(joined)).toBe(true);
    expect(decodeTree(joined)).toEqual(parts);
  });

  it('yields nothing for no parts, and one piece for a few', () => {
    expect([...encodeTreePieces([])]).toEqual([]);
    expect(encodeTree([]).length).toBe(0);
    const few = manyParts(3);
    expect([...encodeTreePieces(few)]).toHaveLength(1);
    expect(decodeTree(encodeTree(few))).toEqual(few);
  });
});

describe('decodeTree', () => {
  it('reads lines cut anywhere in multi-byte characters back whole, with or without a final newline', () => {
    const parts = manyParts(500);
    const bytes = encodeTree(parts);
    expect(decodeTree(bytes)).toEqual(parts);
    expect(decodeTree(bytes.subarray(0, bytes.length - 1))).toEqual(parts);
    // A view into a larger buffer, as part-list chunks are.
    const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
    expect(decodeTree(padded.subarray(2, padded.length - 2))).toEqual(parts);
  });

  it('rejects a damaged line with REPRISE_INTEGRITY', () => {
    const bytes = Buffer.concat([encodeTree(manyParts(2)), Buffer.from('{"name": "broken\n')]);
    let thrown: unknown;
    try {
      decodeTree(bytes);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RepriseError);
    expect((thrown as RepriseError).code).toBe('REPRISE_INTEGRITY');
  });
});
