import { createHash } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import type { ChunkerParams } from './api.js';

/**
 * Content-defined chunking, FastCDC family: a gear rolling hash (h = (h << 1) + G[byte]) over a
 * per-repository random table, cut-point search skipped for the first minSize bytes, and
 * normalised chunking (a harder mask before avgSize, an easier one after) so sizes cluster
 * around the average. Masks test the high bits of the 32-bit hash: those depend on the last 32
 * bytes, the low bits on only the last few.
 */

/**
 * Derives the 256-entry gear table from the repository's seed: entry 8k+j is the j-th
 * big-endian u32 of SHA-256(seed ‖ u32be(k)), k = 0..31. Pure; never throws.
 */
export function gearTable(seed: Uint8Array): Uint32Array {
  const table = new Uint32Array(256);
  for (let k = 0; k < 32; k++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(k);
    const digest = createHash('sha256').update(seed).update(counter).digest();
    for (let j = 0; j < 8; j++) table[k * 8 + j] = digest.readUInt32BE(j * 4);
  }
  return table;
}

/** Throws REPRISE_USAGE unless min ≤ avg ≤ max, avg a power of two between 4 KiB and 64 MiB. Pure. */
export function validateChunkerParams(params: ChunkerParams): void {
  const { avgSize, minSize, maxSize } = params;
  const bits = Math.log2(avgSize);
  if (!Number.isInteger(bits) || bits < 12 || bits > 26 || minSize < 64 || minSize > avgSize || maxSize < avgSize || maxSize >= 2 ** 31) {
    throw new RepriseError('REPRISE_USAGE', `invalid chunker parameters: min ${minSize}, avg ${avgSize}, max ${maxSize}`, {
      hint: 'The average chunk size must be a power of two between 4 KiB and 64 MiB, with min ≤ avg ≤ max.',
    });
  }
}

/**
 * `base` with `overrides` applied; when the overrides set the average size, min and max follow
 * it (avg/2 and avg·8, restic's proportions) unless given too. Pure.
 */
export function resolveChunkerParams(base: ChunkerParams, overrides: Partial<ChunkerParams> = {}): ChunkerParams {
  const params: ChunkerParams = { ...base, ...overrides };
  if (overrides.avgSize !== undefined) {
    params.minSize = overrides.minSize ?? params.avgSize / 2;
    params.maxSize = overrides.maxSize ?? params.avgSize * 8;
  }
  return params;
}

function highMask(bits: number): number {
  return (((1 << bits) - 1) << (32 - bits)) | 0;
}

/**
 * A streaming chunker: feed buffers with `push`, which returns the cut offsets found in that
 * buffer (each the end of a chunk, exclusive); `finish` ends the last chunk. State carries across
 * buffers, so a stream is never concatenated. Not reentrant; one instance per stream.
 */
export class Chunker {
  private readonly gear: Uint32Array;
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Bytes of the current chunk seen so far. */
  private pos = 0;
  private hash = 0;

  constructor(gear: Uint32Array, params: ChunkerParams) {
    validateChunkerParams(params);
    this.gear = gear;
    this.min = params.minSize;
    this.avg = params.avgSize;
    this.max = params.maxSize;
    const bits = Math.round(Math.log2(params.avgSize));
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
  }

  /** Resets to the start of a new stream. Idempotent. */
  reset(): void {
    this.pos = 0;
    this.hash = 0;
  }

  /**
   * Scans `buf` and returns the offsets in it where a chunk ends. Never throws. Not idempotent:
   * it advances the stream.
   */
  push(buf: Uint8Array): number[] {
    const cuts: number[] = [];
    const gear = this.gear;
    const n = buf.length;
    let i = 0;
    let pos = this.pos;
    let h = this.hash;
    while (i < n) {
      if (pos < this.min) {
        const skip = Math.min(this.min - pos, n - i);
        i += skip;
        pos += skip;
        h = 0;
        continue;
      }
      let found = -1;
      // Two copies of the scan loop on purpose (normalised chunking: a stricter mask before the
      // average size, a looser one after): this is the hottest loop of a backup, kept free of
      // calls and field reads per byte, with each mask a local constant.
      if (pos < this.avg) {
        const end = Math.min(n, i + (this.avg - pos));
        const mask = this.maskS;
        const start = i;
        for (; i < end; i++) {
          h = ((h << 1) + gear[buf[i]!]!) | 0;
          if ((h & mask) === 0) {
            found = i + 1;
            break;
          }
        }
        pos += (found < 0 ? i : found) - start;
        if (found < 0) continue;
      } else {
        const end = Math.min(n, i + (this.max - pos));
        const mask = this.maskL;
        const start = i;
        for (; i < end; i++) {
          h = ((h << 1) + gear[buf[i]!]!) | 0;
          if ((h & mask) === 0) {
            found = i + 1;
            break;
          }
        }
        pos += (found < 0 ? i : found) - start;
        if (found < 0) {
          if (pos < this.max) continue;
          found = i;
        }
      }
      cuts.push(found);
      i = found;
      pos = 0;
      h = 0;
    }
    this.pos = pos;
    this.hash = h;
    return cuts;
  }

  /** True when bytes have been pushed since the last cut (the stream's tail is a chunk). */
  get pending(): boolean {
    return this.pos > 0;
  }
}

/**
 * Source text defining `Chunker` for worker threads (see worker-pool.ts). Parameters are
 * validated on the main thread before any job is sent, so the worker's check is a no-op.
 */
export function chunkerSource(): string {
  return `${highMask.toString()}\nconst validateChunkerParams = () => {};\nconst Chunker = ${Chunker.toString()};`;
}
