import type { PackRangeReader } from './compress.js';

/** Opens a pack file, lends its size and a range reader to `use`, and closes it. */
export type PackFileReader = <T>(path: string, use: (size: number, readAt: PackRangeReader) => T) => T;

/**
 * Reads pack files piecewise, for verification inside a worker thread: each read fills a window
 * of at least 1 MiB from the requested offset into one buffer reused across packs, so the small
 * blobs of a pack cost one system call per window, no pack-sized buffer is allocated, and the
 * bytes are still in the cache when their blobs are opened. Synchronous: a worker has nothing
 * else to do meanwhile. Keep this function free of outside references: worker-pool.ts ships its
 * source text to the workers. The returned reader throws the file system's errors, and an Error
 * when the file ends before its size at open.
 */
export function createPackFileReader(fs: typeof import('node:fs')): PackFileReader {
  const WINDOW = 1 << 20;
  let buffer = Buffer.allocUnsafeSlow(WINDOW);
  return (path, use) => {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      let start = 0;
      let end = 0;
      const readAt: PackRangeReader = (offset, length) => {
        if (offset + length > size) throw new Error(`read of ${length} bytes at ${offset} beyond the ${size} bytes of ${path}`);
        if (offset < start || offset + length > end) {
          const want = Math.min(Math.max(length, WINDOW), size - offset);
          // Twice the size when it grows: each new buffer is faulted in afresh, and growing by the
          // exact need (one step per larger blob) faulted in ~10 MiB more per worker over a check.
          if (buffer.length < want) buffer = Buffer.allocUnsafeSlow(Math.max(want, 2 * buffer.length));
          for (let done = 0; done < want; ) {
            const n = fs.readSync(fd, buffer, done, want - done, offset + done);
            if (n === 0) throw new Error(`${path} shrank while being read`);
            done += n;
          }
          start = offset;
          end = offset + want;
        }
        return buffer.subarray(offset - start, offset - start + length);
      };
      return use(size, readAt);
    } finally {
      fs.closeSync(fd);
    }
  };
}
