import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { sourceUnreadable } from './fs-errors.js';

/** Files up to this size are read in one synchronous call instead of a stream. */
export const SMALL_FILE_MAX = 1024 * 1024;

// Same flags as FileReadStream: never follow a link swapped in since the walk, never hang on a FIFO.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The content of a small file as a one-chunk stream, read synchronously when first iterated:
 * an asynchronous open/fstat/read/close costs four thread-pool round trips (~100 µs each here),
 * which dominated backups of many small files. A file that grew since the walk is read to its
 * current end. Throws REPRISE_SOURCE_UNREADABLE naming the path (deleted, replaced by a directory,
 * link or FIFO, permission denied).
 */
export async function* readSmallFile(path: string, expectedSize: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw sourceUnreadable(path, err);
  }
  let content: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : 'something that is not a regular file';
      throw sourceUnreadable(path, new Error(`replaced by ${kind} during the backup`));
    }
    content = Buffer.allocUnsafe(Math.max(st.size, expectedSize, 1));
    let length = 0;
    for (;;) {
      if (length === content.length) content = Buffer.concat([content, Buffer.allocUnsafe(content.length)]);
      const n = readSync(fd, content, length, content.length - length, null);
      if (n === 0) break;
      length += n;
    }
    content = content.subarray(0, length);
  } catch (err) {
    throw sourceUnreadable(path, err);
  } finally {
    closeSync(fd);
  }
  if (content.length > 0) yield content;
}
