import type { BlobCodec } from './compress.js';
import type { Checksums, ContentChecksum } from './content-checksum.js';

/**
 * Backing up one local file in a worker thread: open it safely, read it, checksum it, cut it into
 * chunks, compute each chunk's id and (usually) seal it. The main thread then only dedups and
 * packs what comes back, so a tree of many files uses every core instead of one.
 *
 * Like createBlobCodec, `createFileJobRunner` runs in worker threads from its source text:
 * everything it uses comes in `deps`.
 */

/** One file to read. */
export interface FileJob {
  path: string;
  minSize: number;
  avgSize: number;
  maxSize: number;
  /** Seal chunks in the worker (most are new); false: return raw chunks with their ids (most are duplicates). */
  seal: boolean;
  /** zstd level; the codec's default when absent. */
  level?: number;
}

/** A chunk of the file: sealed blob, or raw bytes when the job did not seal. */
export interface JobChunk {
  id: string;
  bytes: Uint8Array;
  rawLength: number;
  sealed: boolean;
}

/** The file's size and whole-content checksum (taken over the bytes as read, before chunking). */
export type FileJobResult = { size: number } & ContentChecksum;

/** Reads one file: a read failure is thrown as an Error with the errno `code` when there is one. */
export interface FileJobRunner {
  run(job: FileJob, emit: (chunk: JobChunk) => Promise<void>): Promise<FileJobResult>;
  /** Takes back blob buffers the main thread is done with (kept up to a few MiB). */
  reuse(buffers: ArrayBuffer[]): void;
}

export interface FileJobDeps {
  fs: typeof import('node:fs');
  codec: BlobCodec;
  checksums: Checksums;
  newChunker: (params: { minSize: number; avgSize: number; maxSize: number }) => { push(buf: Uint8Array): number[] };
  encKey: Uint8Array;
  macKey: Uint8Array;
}

/** Creates the runner. Keep this function free of outside references: its source text runs in workers. Never throws. */
export function createFileJobRunner(deps: FileJobDeps): FileJobRunner {
  const { fs, codec } = deps;
  const READ_SIZE = 2 << 20;
  const SPARE_BUDGET = 4 << 20;
  // O_NOFOLLOW: a file swapped for a symlink since the walk is not followed out of the tree.
  // O_NONBLOCK: a file swapped for a FIFO does not hang the backup.
  const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

  // Full-size read buffers are reused: allocating and freeing one per MiB read fragments the
  // allocator's heap, which then keeps tens of MiB of resident memory it never gives back.
  const spare: Buffer[] = [];
  function release(buf: Buffer): void {
    // A buffer sent whole to the main thread is detached (byteLength 0): it is gone, not spare.
    if (buf.buffer.byteLength === READ_SIZE && spare.length < 2) spare.push(buf);
  }

  // A chunk that straddles reads is joined here when it is sealed at once (its bytes are not
  // kept), so joining allocates nothing once this has grown to the largest chunk.
  let joinScratch = new Uint8Array(0);
  function concat(pieces: Uint8Array[], length: number, reusable: boolean): Uint8Array {
    if (pieces.length === 1) return pieces[0] as Uint8Array;
    if (reusable && joinScratch.length < length) joinScratch = new Uint8Array(length);
    const out = reusable ? joinScratch.subarray(0, length) : new Uint8Array(length);
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  // Blob buffers come in power-of-two sizes and come back from the main thread once packed
  // (`reuse`), so sealing allocates almost nothing once the backup is under way.
  const blobSpares = new Map<number, ArrayBuffer[]>();
  let spareBytes = 0;
  function blobBuffer(length: number): Uint8Array {
    const size = 2 ** Math.max(12, Math.ceil(Math.log2(length)));
    const spare = blobSpares.get(size)?.pop();
    if (spare) spareBytes -= size;
    return new Uint8Array(spare ?? new ArrayBuffer(size));
  }

  function toChunk(job: FileJob, data: Uint8Array): JobChunk {
    if (!job.seal) {
      // Own buffer, so it can be transferred without taking the rest of a read buffer along.
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data);
      return { id: codec.mac(deps.macKey, own), bytes: own, rawLength: own.length, sealed: false };
    }
    // A sealed blob is at most 29 bytes longer than its chunk (nonce, flag, tag).
    const { id, blob } = codec.sealChunk(deps.encKey, deps.macKey, data, blobBuffer(data.length + 29), job.level);
    return { id, bytes: blob, rawLength: data.length, sealed: true };
  }

  function reuse(buffers: ArrayBuffer[]): void {
    for (const buffer of buffers) {
      if (spareBytes + buffer.byteLength > SPARE_BUDGET) return;
      const list = blobSpares.get(buffer.byteLength) ?? [];
      list.push(buffer);
      blobSpares.set(buffer.byteLength, list);
      spareBytes += buffer.byteLength;
    }
  }

  async function run(job: FileJob, emit: (chunk: JobChunk) => Promise<void>): Promise<FileJobResult> {
    const fd = fs.openSync(job.path, OPEN_FLAGS);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        throw new Error(`replaced by ${st.isDirectory() ? 'a directory' : 'something that is not a regular file'} during the backup`);
      }
      const chunker = deps.newChunker(job);
      const checksum = deps.checksums.start();
      let size = 0;
      let pieces: Uint8Array[] = [];
      let piecesLength = 0;
      // A small file is read in one buffer of its size plus one byte, which tells it did not grow.
      let readSize = Math.min(READ_SIZE, st.size + 1);
      /** Read buffers that pending pieces still point into. */
      let inUse: Buffer[] = [];
      for (;;) {
        // Always a full-size buffer, reused: one sized after each small file would be a fresh
        // memory mapping per file past the mmap threshold the CLI sets (a page fault per page).
        const buf = spare.pop() ?? Buffer.allocUnsafeSlow(READ_SIZE);
        const n = fs.readSync(fd, buf, 0, readSize, null);
        if (n === 0) {
          release(buf);
          break;
        }
        // After a short read the file is most likely at its end: probe that with a small buffer.
        readSize = n < readSize ? 4096 : READ_SIZE;
        const data = buf.subarray(0, n);
        checksum.update(data);
        size += n;
        let start = 0;
        for (const cut of chunker.push(data)) {
          pieces.push(data.subarray(start, cut));
          const chunk = concat(pieces, piecesLength + cut - start, job.seal);
          pieces = [];
          piecesLength = 0;
          start = cut;
          const sent = toChunk(job, chunk);
          for (const b of inUse) release(b);
          inUse = [];
          await emit(sent);
        }
        if (start < n) {
          pieces.push(data.subarray(start));
          piecesLength += n - start;
          inUse.push(buf);
        } else release(buf);
      }
      if (piecesLength > 0) await emit(toChunk(job, concat(pieces, piecesLength, job.seal)));
      for (const b of inUse) release(b);
      return { size, ...checksum.result() };
    } finally {
      fs.closeSync(fd);
    }
  }

  return { run, reuse };
}
