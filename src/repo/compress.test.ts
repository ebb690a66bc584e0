import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createBlobCodec } from './compress.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
const codec = createBlobCodec({ crypto: await import('node:crypto'), zstd, zstdLevel: 3 });
const encKey = randomBytes(32);
const macKey = randomBytes(32);

/** Incompressible (stored raw) and compressible chunks, of one piece, several pieces, and a piece and a bit. */
const samples = (): Array<[string, Buffer]> => [
  ['raw, 100 bytes', randomBytes(100)],
  ['raw, several 64 KiB pieces', randomBytes(300_000)],
  ['raw, one piece and 13 bytes', randomBytes((1 << 16) + 13)],
  ['zstd, several pieces', Buffer.alloc(1 << 20, 'compressible text ')],
];

describe('blob codec', () => {
  it.each(samples())('seals %s into a separate target and opens it back', (_name, data) => {
    const { id, blob } = codec.sealChunk(encKey, macKey, data, new Uint8Array(data.length + 64));
    expect(Buffer.from(codec.openBlob(encKey, macKey, blob, id) as Uint8Array).equals(data)).toBe(true);
  });

  it.each(samples())('seals %s into the very buffer that holds it (the plaintext is read before it is overwritten)', (_name, data) => {
    const expected = Buffer.from(data);
    // The chunk at offset 0 of a buffer with room for the blob, as the uploader hands it over.
    const shared = new Uint8Array(data.length + 64);
    shared.set(data);
    const { id, blob } = codec.sealChunk(encKey, macKey, shared.subarray(0, data.length), shared);
    expect(blob.buffer).toBe(shared.buffer);
    expect(Buffer.from(codec.openBlob(encKey, macKey, blob, id) as Uint8Array).equals(expected)).toBe(true);
  });

  it('gives a blob as long as its plaintext plus 29 bytes when stored raw', () => {
    const data = randomBytes(200_000);
    const blob = codec.sealBlob(encKey, data);
    expect(blob.length).toBe(data.length + 29);
  });

  it('refuses a blob with one flipped byte', () => {
    const data = randomBytes(150_000);
    const { id, blob } = codec.sealChunk(encKey, macKey, data);
    const damaged = Uint8Array.from(blob);
    damaged[100_000] = (damaged[100_000] as number) ^ 1;
    expect(codec.openBlob(encKey, macKey, damaged, id)).toBe('authentication failed');
  });
});
