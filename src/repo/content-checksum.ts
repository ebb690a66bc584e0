import * as nodeCrypto from 'node:crypto';
import * as nodeZlib from 'node:zlib';

/**
 * The whole-content checksum a part (and a part list) records, so that a restore checks the bytes
 * it writes end to end, independently of how they were cut into chunks.
 *
 * Each chunk is already authenticated on its own (AES-GCM tag and keyed HMAC-SHA-256 id), so this
 * checksum only has to catch a stream put together wrongly: a chunk missing, repeated, out of
 * order or assembled from the wrong bytes. CRC-32 does that at twice the speed of SHA-256 (zlib's
 * SIMD implementation); snapshots written before 2026-12-04 carry SHA-256 instead and are still
 * verified with it.
 *
 * Like createBlobCodec, `createChecksums` runs in worker threads from its source text: keep it
 * free of outside references (everything comes in `deps`).
 */

/** The checksum fields of a part or part list: `crc32` (8 hex) since 2026-12-04, `sha256` (64 hex) before. */
export interface ContentChecksum {
  crc32?: string;
  sha256?: string;
}

/** A running checksum over a stream of bytes. */
export interface RunningChecksum {
  update(data: Uint8Array): void;
  /** The fields to record. Call once, at the end. */
  result(): ContentChecksum;
}

export interface Checksums {
  /** A running checksum of the kind new snapshots record. */
  start(): RunningChecksum;
  /** A running checksum of the same kind as `recorded`; undefined when it records none. */
  like(recorded: ContentChecksum): RunningChecksum | undefined;
  /**
   * Undefined when `computed` (the result of a `like(recorded)` checksum, undefined when there was
   * none) agrees with `recorded`; otherwise what was found, for an error message.
   */
  disagreement(computed: ContentChecksum | undefined, recorded: ContentChecksum): string | undefined;
}

export interface ChecksumDeps {
  crypto: typeof import('node:crypto');
  zlib: typeof import('node:zlib');
}

/** Creates the checksums. Keep this function free of outside references: its source text runs in workers. Never throws. */
export function createChecksums(deps: ChecksumDeps): Checksums {
  const nativeCrc32 = (deps.zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  // zlib.crc32 came with Node 20.15: older versions use this table (same polynomial, slower).
  let table: Uint32Array | undefined;
  function tableCrc32(data: Uint8Array, value: number): number {
    if (!table) {
      table = new Uint32Array(256);
      for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        table[n] = c >>> 0;
      }
    }
    let crc = ~value >>> 0;
    for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    return ~crc >>> 0;
  }
  const crc32 = nativeCrc32 ? (data: Uint8Array, value: number): number => nativeCrc32(data, value) : tableCrc32;

  function startCrc32(): RunningChecksum {
    let value = 0;
    return {
      update(data) {
        value = crc32(data, value);
      },
      result() {
        return { crc32: (value >>> 0).toString(16).padStart(8, '0') };
      },
    };
  }

  function startSha256(): RunningChecksum {
    const hash = deps.crypto.createHash('sha256');
    return {
      update(data) {
        hash.update(data);
      },
      result() {
        return { sha256: hash.digest('hex') };
      },
    };
  }

  return {
    start: startCrc32,
    like(recorded) {
      if (recorded.crc32 !== undefined) return startCrc32();
      if (recorded.sha256 !== undefined) return startSha256();
      return undefined;
    },
    disagreement(computed, recorded) {
      // No checksum of a kind this version knows is a failure, never "nothing to check".
      if (computed?.crc32 !== undefined) return computed.crc32 === recorded.crc32 ? undefined : `crc32 ${computed.crc32}`;
      if (computed?.sha256 !== undefined) return computed.sha256 === recorded.sha256 ? undefined : `sha256 ${computed.sha256.slice(0, 16)}…`;
      return 'no checksum of a known kind recorded';
    },
  };
}

/** The checksums on this thread (workers build their own from `createChecksums`' source). */
export const checksums: Checksums = createChecksums({ crypto: nodeCrypto, zlib: nodeZlib });

/** Only the checksum fields of `value` (a part entry or tree reference). Pure. */
export function checksumOf(value: ContentChecksum): ContentChecksum {
  return {
    ...(value.crc32 !== undefined ? { crc32: value.crc32 } : {}),
    ...(value.sha256 !== undefined ? { sha256: value.sha256 } : {}),
  };
}
