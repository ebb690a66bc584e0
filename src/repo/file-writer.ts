import type { BlobCodec } from './compress.js';
import type { Checksums, ContentChecksum, RunningChecksum } from './content-checksum.js';

/**
 * Restoring one file in a worker thread: open each sealed blob (authenticated decryption,
 * decompression, chunk id check), write the plaintext into a new file, check the whole file's
 * size and checksum, then set its owner, mode and times. The main thread only fetches the blobs
 * and renames the finished file into place, so a restore of many files uses every core.
 *
 * A file arrives as one or more pieces, in order, all on the same worker. Like createBlobCodec,
 * `createFileWriter` runs in workers from its source text: everything it uses comes in `deps`.
 */

/** What the finished file must be and carry. */
export interface FileToWrite {
  path: string;
  size: number;
  /**
   * The part's recorded checksum, checked over the whole file when set. A file of one chunk goes
   * without: its content is that chunk, already verified against its keyed id (an HMAC-SHA-256 of
   * the same bytes).
   */
  checksum?: ContentChecksum;
  mode: number;
  mtimeMs?: number;
  /** Set only when the restore may change owners (running as root). */
  owner?: { uid: number; gid: number };
  /** Once finished, rename the file to this path (same directory); a failed rename leaves it at `path` and is reported. */
  renameTo?: string;
}

/** Sealed blobs of a file, back to back in `bytes` (a ranged read of a pack). */
export interface WritePiece {
  /** Identifies the file across its pieces. */
  token: number;
  /** The first piece creates the file; the last finishes it. */
  file?: FileToWrite;
  last: boolean;
  /** Stop here: close and remove the file (the main thread failed to fetch the rest). */
  abort?: boolean;
  /** The blobs' bytes, fetched by the main thread; or empty, with `from` naming the local pack file to read them from. */
  bytes: Uint8Array;
  from?: { path: string; offset: number; length: number };
  blobs: Array<{ id: string; at: number; length: number; pack: string }>;
}

/** Why a file could not be written: damaged data (integrity) or the file system (errno). */
export type WriteFailure = { integrity: string; pack?: string; chunk?: string } | { errno?: string; message: string };

export interface FileWriter {
  /**
   * Writes one piece; the last one returns the bytes written (and the errno of a failed
   * `renameTo`, the finished file then left at its path). A failure is returned once, on the
   * piece that fails or the last one.
   */
  write(piece: WritePiece): { done: number; renameFailed?: string } | { failure: WriteFailure } | undefined;
}

export interface FileWriterDeps {
  fs: typeof import('node:fs');
  /** Largest write(2): core/write-pieces.ts's WRITE_PIECE_BYTES. */
  writePieceBytes: number;
  /** core/file-times.ts's utimesSeconds (times to the recorded microsecond). */
  utimesSeconds: (mtimeMs: number) => number;
  checksums: Checksums;
  codec: BlobCodec & { openBlob(encKey: Uint8Array, macKey: Uint8Array, blob: Uint8Array, id: string, reuseOutput?: boolean): Uint8Array | string };
  encKey: Uint8Array;
  macKey: Uint8Array;
}

/** Creates the writer. Keep this function free of outside references: its source text runs in workers. Never throws. */
export function createFileWriter(deps: FileWriterDeps): FileWriter {
  const { fs, checksums, codec } = deps;
  const open = new Map<number, { fd: number; file: FileToWrite; sum: RunningChecksum | undefined; size: number; failure?: WriteFailure }>();

  function fsFailure(err: unknown): WriteFailure {
    const e = err as { code?: unknown; message?: unknown };
    return { ...(typeof e.code === 'string' ? { errno: e.code } : {}), message: String(e.message ?? err) };
  }

  function abandon(state: { fd: number; file: FileToWrite }): void {
    try {
      fs.closeSync(state.fd);
    } catch {
      // already failing
    }
    try {
      fs.unlinkSync(state.file.path);
    } catch {
      // nothing to remove
    }
  }

  // At most `writePieceBytes` per write(2) (core/write-pieces.ts says why); this code runs in
  // workers from its source text, so it has its own loop.
  function writeAll(fd: number, data: Uint8Array): void {
    let at = 0;
    while (at < data.length) at += fs.writeSync(fd, data, at, Math.min(deps.writePieceBytes, data.length - at));
  }

  function finish(state: { fd: number; file: FileToWrite; sum: RunningChecksum | undefined; size: number }): WriteFailure | undefined {
    const { file, fd } = state;
    const wrong = file.checksum === undefined ? undefined : checksums.disagreement(state.sum?.result(), file.checksum);
    if (state.size !== file.size || wrong) {
      return { integrity: `content (${state.size} bytes${wrong ? `, ${wrong}` : ''}) does not match the snapshot` };
    }
    try {
      if (file.owner) fs.fchownSync(fd, file.owner.uid, file.owner.gid);
      // After chown, which clears setuid/setgid bits.
      fs.fchmodSync(fd, file.mode);
      if (file.mtimeMs !== undefined) fs.futimesSync(fd, deps.utimesSeconds(file.mtimeMs), deps.utimesSeconds(file.mtimeMs));
      fs.closeSync(fd);
    } catch (err) {
      return fsFailure(err);
    }
    return undefined;
  }

  // Local packs are read here directly: descriptors of the last few stay open (packs never change),
  // and one buffer, grown to the largest range, is reused for every read.
  const packFds = new Map<string, number>();
  let readBuffer = new Uint8Array(0);
  function readPackRange(from: { path: string; offset: number; length: number }): Uint8Array | WriteFailure {
    try {
      let fd = packFds.get(from.path);
      if (fd === undefined) {
        fd = fs.openSync(from.path, 'r');
        packFds.set(from.path, fd);
        if (packFds.size > 8) {
          const [oldest, oldFd] = packFds.entries().next().value as [string, number];
          packFds.delete(oldest);
          fs.closeSync(oldFd);
        }
      }
      if (readBuffer.length < from.length) readBuffer = new Uint8Array(Math.max(from.length, 1 << 20));
      let done = 0;
      while (done < from.length) {
        const n = fs.readSync(fd, readBuffer, done, from.length - done, from.offset + done);
        if (n === 0) return { integrity: `pack is shorter than the index says (${from.offset + done} bytes)` };
        done += n;
      }
      return readBuffer.subarray(0, from.length);
    } catch (err) {
      return { integrity: `pack unreadable: ${String((err as { code?: unknown }).code ?? err)}` };
    }
  }

  return {
    write(piece) {
      let state = open.get(piece.token);
      if (piece.file) {
        try {
          const fd = fs.openSync(piece.file.path, 'wx', 0o600);
          state = { fd, file: piece.file, sum: piece.file.checksum ? checksums.like(piece.file.checksum) : undefined, size: 0 };
          open.set(piece.token, state);
        } catch (err) {
          return { failure: fsFailure(err) };
        }
      }
      // Pieces after a failure (already reported) are dropped.
      if (!state) return piece.last ? { failure: { message: 'file abandoned' } } : undefined;
      if (piece.abort) {
        open.delete(piece.token);
        abandon(state);
        return { failure: { message: 'file abandoned' } };
      }
      const bytes = piece.from ? readPackRange(piece.from) : piece.bytes;
      if (!(bytes instanceof Uint8Array)) {
        open.delete(piece.token);
        abandon(state);
        return { failure: { ...bytes, ...(piece.blobs[0] ? { pack: piece.blobs[0].pack, chunk: piece.blobs[0].id } : {}) } };
      }
      for (const blob of piece.blobs) {
        // Plaintext is written and dropped: the decompression buffer is reused.
        const plain = codec.openBlob(deps.encKey, deps.macKey, bytes.subarray(blob.at, blob.at + blob.length), blob.id, true);
        if (typeof plain === 'string') {
          open.delete(piece.token);
          abandon(state);
          return { failure: { integrity: plain, pack: blob.pack, chunk: blob.id } };
        }
        try {
          writeAll(state.fd, plain);
        } catch (err) {
          open.delete(piece.token);
          abandon(state);
          return { failure: fsFailure(err) };
        }
        state.sum?.update(plain);
        state.size += plain.length;
      }
      if (!piece.last) return undefined;
      open.delete(piece.token);
      const failure = finish(state);
      if (failure) {
        abandon(state);
        return { failure };
      }
      if (state.file.renameTo !== undefined) {
        try {
          fs.renameSync(state.file.path, state.file.renameTo);
        } catch (err) {
          return { done: state.size, renameFailed: String((err as { code?: unknown }).code ?? err) };
        }
      }
      return { done: state.size };
    },
  };
}
