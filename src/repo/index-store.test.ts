import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../storage/memory/index.js';
import { IndexStore, writeIndexFile, type PackRecord } from './index-store.js';

const hex = (n: number): string => n.toString(16).padStart(64, '0');

function pack(id: string, chunkIds: number[]): PackRecord {
  return { id, size: 1000, entries: chunkIds.map((c, i) => ({ id: hex(c), type: 0, offset: i * 100, length: 100, rawLength: 150 + c })) };
}

describe('IndexStore', () => {
  it('locates every chunk of the packs its index files list (the first pack wins), with one object per chunk', async () => {
    const backend = new MemoryBackend();
    const key = randomBytes(32);
    await writeIndexFile(backend, key, [pack('a'.repeat(64), [1, 2, 3]), pack('b'.repeat(64), [3, 4])]);
    const index = new IndexStore();
    await index.load(backend, key);
    expect(index.chunks.size).toBe(4);
    expect(index.chunks.get(hex(2))).toMatchObject({ pack: 'a'.repeat(64), type: 0, offset: 100, length: 100, rawLength: 152 });
    expect(index.chunks.get(hex(3))?.pack).toBe('a'.repeat(64));
    expect(index.chunks.get(hex(4))).toMatchObject({ pack: 'b'.repeat(64), offset: 100, rawLength: 154 });
    // The location is the pack's entry itself, not a copy.
    const entries = index.packs.get('a'.repeat(64))?.entries ?? [];
    expect(index.chunks.get(hex(1))).toBe(entries[0]);
  });

  it('locates the chunks of packs just written, whose entries do not name their pack, with one object per chunk too', () => {
    const index = new IndexStore();
    const written = pack('c'.repeat(64), [7, 8]);
    index.addPacks('file', [written]);
    expect(index.chunks.get(hex(8))).toEqual({ id: hex(8), pack: 'c'.repeat(64), type: 0, offset: 100, length: 100, rawLength: 158 });
    expect(index.chunks.get(hex(7))).toBe(index.packs.get('c'.repeat(64))?.entries[0]);
    // The caller's record is left as it was.
    expect(written.entries[0]).not.toHaveProperty('pack');
  });
});
