import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlobCodec, packProblems, type PackEntry } from './compress.js';
import { createPackFileReader } from './pack-file.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
const codec = createBlobCodec({ crypto: await import('node:crypto'), zstd, zstdLevel: 3 });
const encKey = randomBytes(32);
const macKey = randomBytes(32);
const dir = fs.mkdtempSync(join(tmpdir(), 'reprise-pack-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A pack of small and large blobs (windows of the reader end inside blobs), with `gap` spare bytes after the first blob. */
function makePack(gap: number): { bytes: Buffer; entries: PackEntry[]; gapAt: number } {
  const pieces: Uint8Array[] = [];
  const entries: PackEntry[] = [];
  let at = 0;
  let gapAt = -1;
  const datas = [randomBytes(70_000), Buffer.alloc(3 << 20, 'text '), randomBytes(1_500_000), ...Array.from({ length: 40 }, () => randomBytes(40_000))];
  for (const data of datas) {
    const { id, blob } = codec.sealChunk(encKey, macKey, data);
    entries.push({ id, type: 0, offset: at, length: blob.length, rawLength: data.length });
    pieces.push(blob);
    at += blob.length;
    if (gapAt < 0) {
      gapAt = at;
      pieces.push(randomBytes(gap));
      at += gap;
    }
  }
  pieces.push(codec.packTrailer(encKey, entries));
  return { bytes: Buffer.concat(pieces), entries, gapAt };
}

/** The codec's verdict on a pack file, with its header compared to `indexed`, as the check does. */
function verifyFile(bytes: Uint8Array, indexed: PackEntry[]): ReturnType<typeof codec.verifyPack> {
  const path = join(dir, 'pack');
  fs.writeFileSync(path, bytes);
  const verdict = createPackFileReader(fs)(path, (size, readAt) => codec.verifyPackRanges(encKey, macKey, size, readAt));
  return { ...verdict, problems: packProblems(indexed, verdict) };
}

describe('pack verification through ranges of a file', () => {
  it('passes an intact pack, as verifyPack does in memory', () => {
    const { bytes, entries } = makePack(0);
    const fromFile = verifyFile(bytes, entries);
    expect(fromFile.problems).toEqual([]);
    expect(fromFile.entries).toEqual(entries);
    expect(codec.verifyPack(encKey, macKey, bytes)).toEqual(fromFile);
    // The index may list fewer chunks than the pack holds.
    expect(verifyFile(bytes, entries.slice(5)).problems).toEqual([]);
  });

  it('finds a flipped byte in a blob and in the trailer', () => {
    const { bytes, entries } = makePack(0);
    const flipped = (at: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 0x10;
      return copy;
    };
    const inBlob = verifyFile(flipped(2_000_000), entries);
    expect(inBlob.badChunks).toHaveLength(1);
    expect(inBlob.problems).toEqual([expect.stringMatching(/^chunk [0-9a-f]{64}: authentication failed$/)]);

    const inTrailer = verifyFile(flipped(bytes.length - 20), entries);
    expect(inTrailer.entries).toBeUndefined();
    expect(inTrailer.problems).toEqual(['header authentication failed']);
    expect(verifyFile(flipped(bytes.length - 2), entries).problems).toEqual([expect.stringMatching(/^header length \d+ beyond the bytes read$|^header authentication failed$/)]);
  });

  it('reports bytes that belong to no blob (no tag would see damage there)', () => {
    const { bytes, entries, gapAt } = makePack(100);
    expect(verifyFile(bytes, entries).problems).toEqual([`100 bytes at offset ${gapAt} belong to no blob`]);
  });

  it('reports a pack that does not hold what the index says (another pack under its name)', () => {
    const { bytes, entries } = makePack(0);
    const other = makePack(0);
    expect(verifyFile(bytes, other.entries).problems).toEqual([expect.stringMatching(/^header does not match the index: \d+ of 43 indexed chunks missing or elsewhere/)]);
    const moved = verifyFile(bytes, [{ ...entries[3]!, offset: 7 }]);
    expect(moved.problems).toEqual([`header does not match the index: 1 of 1 indexed chunks missing or elsewhere (first ${entries[3]!.id})`]);
  });

  it('reports a pack too short for its trailer, and a header length past the start', () => {
    expect(verifyFile(Buffer.from([1, 2]), []).problems).toEqual(['pack too short for its trailer']);
    expect(verifyFile(Buffer.from([0, 0, 0, 0, 9, 0, 0, 0]), []).problems).toEqual(['header length 9 beyond the bytes read']);
  });

  it('refuses a range past the end of the file', () => {
    const path = join(dir, 'short');
    fs.writeFileSync(path, Buffer.alloc(10));
    expect(() => createPackFileReader(fs)(path, (_size, readAt) => readAt(5, 6))).toThrow(/beyond the 10 bytes/);
  });
});
