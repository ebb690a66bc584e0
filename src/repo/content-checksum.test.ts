import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checksumOf, checksums, createChecksums } from './content-checksum.js';

describe('content checksums', () => {
  it('are CRC-32 of the bytes, however they are cut, with the check value of the standard', () => {
    const sum = checksums.start();
    for (const piece of ['1234', '56789']) sum.update(Buffer.from(piece));
    expect(sum.result()).toEqual({ crc32: 'cbf43926' });
    expect(checksums.start().result()).toEqual({ crc32: '00000000' });
  });

  it('gives the same values without zlib.crc32 (Node before 20.15)', () => {
    const { crc32: _native, ...withoutCrc32 } = zlib;
    const fallback = createChecksums({ crypto, zlib: withoutCrc32 as typeof zlib });
    const data = crypto.randomBytes(100_000);
    const a = checksums.start();
    const b = fallback.start();
    a.update(data.subarray(0, 777));
    a.update(data.subarray(777));
    b.update(data);
    expect(b.result()).toEqual(a.result());
  });

  it('check a part with the kind it records: SHA-256 for older parts, CRC-32 for newer ones', () => {
    const data = Buffer.from('content');
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const old = checksums.like({ sha256 });
    old?.update(data);
    expect(old?.result()).toEqual({ sha256 });
    expect(checksums.disagreement({ sha256 }, { sha256, crc32: 'ffffffff' })).toBeUndefined();
    expect(checksums.disagreement({ crc32: 'ffffffff' }, { sha256 })).toBe('crc32 ffffffff');
    expect(checksums.disagreement({ sha256: '0'.repeat(64) }, { sha256 })).toBe(`sha256 ${'0'.repeat(16)}…`);
    // Nothing recorded, or nothing of a known kind: a failure, never "nothing to check".
    expect(checksums.like({})).toBeUndefined();
    expect(checksums.disagreement(undefined, {})).toBe('no checksum of a known kind recorded');
    expect(checksumOf({ name: 'x', crc32: '01234567', size: 3 } as never)).toEqual({ crc32: '01234567' });
  });
});
