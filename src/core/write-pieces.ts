import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * The most one write(2) call is given. Linux gives a large buffered write large page-cache folios;
 * on the machines measured here (kernel 6.18, ext4, a VM) writing 560 MiB cost 2.7–3.4 s of system
 * time in 8 MiB calls, 1.2 s in 1 MiB calls and 0.22–0.29 s in 64–256 KiB calls: ten times less.
 * restic writes in small pieces anyway. See docs/benchmarks.md.
 */
export const WRITE_PIECE_BYTES = 256 << 10;

/**
 * Writes all of `data` at the file's position, WRITE_PIECE_BYTES at a time, checking `signal`
 * between pieces. Throws the file system's error, or the signal's reason.
 */
export async function writeInPieces(handle: FileHandle, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    signal?.throwIfAborted();
    const { bytesWritten } = await handle.write(data, offset, Math.min(WRITE_PIECE_BYTES, data.length - offset));
    offset += bytesWritten;
  }
}

/** As writeInPieces, synchronously, for descriptor `fd`. Throws the file system's error. */
export function writeSyncInPieces(fd: number, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, Math.min(WRITE_PIECE_BYTES, data.length - offset));
}
