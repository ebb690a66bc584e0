import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker, gearTable } from './chunker.js';

const params = { avgSize: 1 << 14, minSize: 1 << 12, maxSize: 1 << 17 };

function cut(data: Uint8Array, pieceSize: number, seed = Buffer.alloc(32, 7)): Buffer[] {
  const chunker = new Chunker(gearTable(seed), params);
  const chunks: Buffer[] = [];
  let start = 0;
  for (let at = 0; at < data.length; at += pieceSize) {
    const piece = data.subarray(at, at + pieceSize);
    for (const c of chunker.push(piece)) {
      chunks.push(Buffer.from(data.subarray(start, at + c)));
      start = at + c;
    }
  }
  if (start < data.length) chunks.push(Buffer.from(data.subarray(start)));
  return chunks;
}

const ids = (chunks: Buffer[]): string[] => chunks.map((c) => createHash('sha256').update(c).digest('hex'));

describe('Chunker', () => {
  const data = randomBytes(2 << 20);

  it('cuts the same boundaries whatever the buffer sizes', () => {
    const whole = ids(cut(data, data.length));
    expect(ids(cut(data, 1000))).toEqual(whole);
    expect(ids(cut(data, 65536))).toEqual(whole);
    expect(Buffer.concat(cut(data, 777)).equals(data)).toBe(true);
  });

  it('respects min and max sizes and averages near the target', () => {
    const chunks = cut(data, 65536);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(params.minSize);
      expect(c.length).toBeLessThanOrEqual(params.maxSize);
    }
    const avg = data.length / chunks.length;
    expect(avg).toBeGreaterThan(params.avgSize * 0.6);
    expect(avg).toBeLessThan(params.avgSize * 2);
  });

  it('cuts at max size on data without cut points', () => {
    const zeros = new Uint8Array(1 << 19);
    const chunks = cut(zeros, 4096);
    expect(chunks.slice(0, -1).every((c) => c.length === params.maxSize)).toBe(true);
  });

  it('resists a shift: inserting one byte at the start keeps most chunk ids', () => {
    const before = new Set(ids(cut(data, 65536)));
    const after = ids(cut(Buffer.concat([Buffer.from([42]), data]), 65536));
    const kept = after.filter((id) => before.has(id)).length;
    expect(kept / after.length).toBeGreaterThan(0.9);
  });

  it('depends on the repository seed', () => {
    expect(ids(cut(data, 65536, Buffer.alloc(32, 1)))).not.toEqual(ids(cut(data, 65536, Buffer.alloc(32, 2))));
  });
});
