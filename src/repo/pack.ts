import { newPackId } from './format.js';
import type { BlobCodec, PackEntry } from './compress.js';

/** A finished pack, ready to upload. */
export interface FinishedPack {
  id: string;
  bytes: Uint8Array;
  entries: PackEntry[];
}

/** Bytes the sealed header and trailer of a pack with `count` blobs take. */
function trailerSize(count: number): number {
  return 4 + count * 45 + 28 + 4;
}

/**
 * Gathers sealed blobs into one pack buffer: blobs back to back, then the sealed header and its
 * length (see compress.ts for the bytes), so a pack alone is enough to rebuild its index
 * entries. Blobs are copied in as they come, so the caller can recycle theirs at once.
 */
export class PackWriter {
  readonly entries: PackEntry[] = [];
  private buf: Uint8Array;
  private offset = 0;

  /** `buffer` (its whole length is capacity) is filled in place; the writer grows past it only for an oversized blob. */
  constructor(buffer: Uint8Array = new Uint8Array(1 << 20)) {
    this.buf = buffer;
  }

  /** Bytes of blobs so far. */
  get size(): number {
    return this.offset;
  }

  get count(): number {
    return this.entries.length;
  }

  /** True when a blob of `length` bytes still fits without growing the buffer. */
  fits(length: number): boolean {
    return this.offset + length + trailerSize(this.entries.length + 1) <= this.buf.length;
  }

  private ensure(extra: number): void {
    const need = this.offset + extra + trailerSize(this.entries.length + 1);
    if (need <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.offset));
    this.buf = grown;
  }

  /** Copies a sealed blob in. Never throws. */
  add(id: string, type: number, blob: Uint8Array, rawLength: number): void {
    this.ensure(blob.length);
    this.buf.set(blob, this.offset);
    this.entries.push({ id, type, offset: this.offset, length: blob.length, rawLength });
    this.offset += blob.length;
  }

  /**
   * Seals the header and returns the pack: its bytes (a view of the writer's buffer), a new random
   * id (format.ts, newPackId) and its entries. Never throws.
   */
  finish(codec: BlobCodec, encKey: Uint8Array): FinishedPack {
    const trailer = codec.packTrailer(encKey, this.entries);
    this.ensure(trailer.length);
    this.buf.set(trailer, this.offset);
    return { id: newPackId(), bytes: this.buf.subarray(0, this.offset + trailer.length), entries: this.entries };
  }
}
