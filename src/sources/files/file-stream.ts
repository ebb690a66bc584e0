import { constants, close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { sourceUnreadable } from './fs-errors.js';

/** Read size: measured against 64 KiB on a 20 MiB file, see docs/sources/files.md. */
export const FILE_READ_CHUNK = 1024 * 1024;

// O_NOFOLLOW: a file swapped for a symlink since the walk must not be followed out of the tree.
// O_NONBLOCK: a file swapped for a FIFO must not hang the backup on open.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * A byte stream of a regular file that opens it only when first read, so a part the engine
 * never reads costs no descriptor. Any failure (deleted, replaced by a directory, a link or a
 * FIFO, permission denied) is a REPRISE_SOURCE_UNREADABLE error naming the path, emitted by the
 * stream. Aborting `signal` destroys the stream with an AbortError. The descriptor is closed when
 * the stream ends or is destroyed.
 */
export class FileReadStream extends Readable {
  readonly path: string;
  private fd: number | undefined;
  private readonly chunkSize: number;
  /** An open, fstat or read is in flight: the descriptor must not be closed under it. */
  private busy = false;
  /** Set by _destroy while busy: runs once the operation in flight returns. */
  private onIdle: (() => void) | undefined;

  constructor(path: string, options: { signal?: AbortSignal; chunkSize?: number } = {}) {
    const chunkSize = options.chunkSize ?? FILE_READ_CHUNK;
    super({ highWaterMark: chunkSize, ...(options.signal ? { signal: options.signal } : {}) });
    this.path = path;
    this.chunkSize = chunkSize;
  }

  override _read(): void {
    if (this.fd !== undefined) return this.readChunk(this.fd);
    this.busy = true;
    open(this.path, OPEN_FLAGS, (openErr, fd) => {
      if (!openErr) this.fd = fd;
      if (this.settle()) return;
      if (openErr) return void this.destroy(sourceUnreadable(this.path, openErr));
      this.busy = true;
      fstat(fd, (statErr, st) => {
        if (this.settle()) return;
        if (statErr) return void this.destroy(sourceUnreadable(this.path, statErr));
        if (!st.isFile()) {
          const kind = st.isDirectory() ? 'a directory' : 'something that is not a regular file';
          return void this.destroy(sourceUnreadable(this.path, new Error(`replaced by ${kind} during the backup`)));
        }
        this.readChunk(fd);
      });
    });
  }

  private readChunk(fd: number): void {
    const buffer = Buffer.allocUnsafe(this.chunkSize);
    this.busy = true;
    read(fd, buffer, 0, this.chunkSize, null, (err, bytesRead) => {
      if (this.settle()) return;
      if (err) return void this.destroy(sourceUnreadable(this.path, err));
      this.push(bytesRead === 0 ? null : bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    });
  }

  /** Marks the operation in flight as done; true when the stream was destroyed meanwhile. */
  private settle(): boolean {
    this.busy = false;
    const onIdle = this.onIdle;
    if (onIdle === undefined) return false;
    this.onIdle = undefined;
    onIdle();
    return true;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const finish = (): void => {
      const fd = this.fd;
      this.fd = undefined;
      if (fd === undefined) return callback(error);
      close(fd, (closeErr) => callback(error ?? closeErr));
    };
    if (this.busy) this.onIdle = finish;
    else finish();
  }
}
