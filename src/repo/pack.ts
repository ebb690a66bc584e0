import { createHash } from 'node:crypto';
import type { BlobCodec, PackEntry } from './compress.js';

/** A finished pack, ready to upload. */
export interface FinishedPack {
  id: string;
  bytes: Uint8Array;
  entries: PackEntry[];
}

/**
 * Gathers sealed blobs into one pack: blobs back to back, then the sealed header and its
 * length (see compress.ts for the bytes), so a pack alone is enough to rebuild its index entries.
 */
export class PackWriter {
  private readonly blobs: Uint8Array[] = [];
  readonly entries: PackEntry[] = [];
  private offset = 0;

  /** Bytes of blobs so far. */
  get size(): number {
    return this.offset;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Appends a sealed blob. Never throws. */
  add(id: string, type: number, blob: Uint8Array, rawLength: number): void {
    this.blobs.push(blob);
    this.entries.push({ id, type, offset: this.offset, length: blob.length, rawLength });
    this.offset += blob.length;
  }

  /** Seals the header and returns the pack bytes and id (SHA-256 of the bytes). Never throws. */
  finish(codec: BlobCodec, encKey: Uint8Array): FinishedPack {
    const bytes = Buffer.concat([...this.blobs, codec.packTrailer(encKey, this.entries)]);
    this.blobs.length = 0;
    return { id: createHash('sha256').update(bytes).digest('hex'), bytes, entries: this.entries };
  }
}
