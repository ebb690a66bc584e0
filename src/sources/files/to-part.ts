import type { DumpPart } from '../source.js';
import { FileReadStream } from './file-stream.js';
import { sourceUnreadable } from './fs-errors.js';
import { readSmallFile, SMALL_FILE_MAX } from './small-file.js';
import type { WalkEntry } from './walk.js';

/**
 * The snapshot part for a walked entry: metadata from its lstat, `open()` for files. mtime is
 * kept to the microsecond (a double of milliseconds cannot hold nanoseconds); changeKey holds
 * size, mtime and ctime in nanoseconds and the inode, so a rewrite of the same size within the
 * same second still changes it. Pure, never throws; `open()` streams fail with
 * REPRISE_SOURCE_UNREADABLE.
 */
export function toDumpPart(entry: WalkEntry, signal: AbortSignal): DumpPart {
  const st = entry.stat;
  const part: DumpPart = {
    name: entry.rel,
    type: entry.type,
    mode: Number(st.mode),
    mtimeMs: Number(st.mtimeNs / 1000n) / 1000,
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
  if (entry.type === 'symlink' && entry.linkTarget !== undefined) part.linkTarget = entry.linkTarget;
  if (entry.type === 'file') {
    part.size = Number(st.size);
    // join makes one flat string; a template literal keeps a tree of six pieces per file (~200 bytes).
    part.changeKey = [st.size, st.mtimeNs, st.ctimeNs, st.ino].join(':');
    const abs = entry.abs;
    const size = Number(st.size);
    part.open = () => (size <= SMALL_FILE_MAX ? readSmallFile(abs, size, signal) : new FileReadStream(abs, { signal }));
    part.localFile = { path: abs, unreadable: (cause) => sourceUnreadable(abs, cause) };
  }
  return part;
}
