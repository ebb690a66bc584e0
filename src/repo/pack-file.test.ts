import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlobCodec, type PackEntry } from './compress.js';
import { createPackFileReader } from './pack-file.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
const codec = createBlobCodec({ crypto: await import('node:crypto'), zstd, zstdLevel: 3 });
const encKey = randomBytes(32);
const macKey = randomBytes(32);
const dir = fs.mkdtempSync(join(tmpdir(), 'reprise-pack-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A pack of small and large blobs (windows of the reader end inside blobs), with `gap` spare bytes after the first blob. */
function makePack(gap: number): { bytes: Buffer; id: string; gapAt: number } {
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
  const bytes = Buffer.concat(pieces);
  return { bytes, id: createHash('sha256').update(bytes).digest('hex'), gapAt };
}

function verifyFile(bytes: Uint8Array, id: string): ReturnType<typeof codec.verifyPack> {
  const path = join(dir, id);
  fs.writeFileSync(path, bytes);
  return createPackFileReader(fs)(path, (size, readAt) => codec.verifyPackRanges(encKey, macKey, id, size, readAt));
}

describe('pack verification through ranges of a file', () => {
  it('passes an intact pack, as verifyPack does in memory', () => {
    const { bytes, id } = makePack(0);
    const fromFile = verifyFile(bytes, id);
    expect(fromFile.problems).toEqual([]);
    expect(fromFile.entries).toHaveLength(43);
    expect(codec.verifyPack(encKey, macKey, bytes, id)).toEqual(fromFile);
  });

  it('finds a flipped byte in a blob, between blobs and in the trailer', () => {
    const { bytes, id, gapAt } = makePack(100);
    const flipped = (at: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 0x10;
      return copy;
    };
    expect(verifyFile(bytes, id).problems).toEqual([]);

    const inBlob = verifyFile(flipped(2_000_000), id);
    expect(inBlob.badChunks).toHaveLength(1);
    expect(inBlob.problems[0]).toMatch(/^pack hash mismatch/);
    expect(inBlob.problems[1]).toMatch(/authentication failed/);

    // Bytes no blob covers: only the pack hash can tell.
    expect(verifyFile(flipped(gapAt + 50), id).problems).toEqual([expect.stringMatching(/^pack hash mismatch/)]);

    const inTrailer = verifyFile(flipped(bytes.length - 20), id);
    expect(inTrailer.entries).toBeUndefined();
    expect(inTrailer.problems).toEqual([expect.stringMatching(/^pack hash mismatch/), 'header authentication failed']);
  });

  it('reports a pack too short for its trailer, and a header length past the start', () => {
    expect(verifyFile(Buffer.from([1, 2]), 'ab').problems).toContain('pack too short for its trailer');
    expect(verifyFile(Buffer.from([0, 0, 0, 0, 9, 0, 0, 0]), 'cd').problems).toContain('header length 9 beyond the bytes read');
  });

  it('refuses a range past the end of the file', () => {
    const path = join(dir, 'short');
    fs.writeFileSync(path, Buffer.alloc(10));
    expect(() => createPackFileReader(fs)(path, (_size, readAt) => readAt(5, 6))).toThrow(/beyond the 10 bytes/);
  });
});
