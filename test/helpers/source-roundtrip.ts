import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DumpPart, RestorePart, RestoreResult, Source } from '../../src/sources/source.js';

/** Maps dump parts to restore parts one by one, as the engine does without a repository in between. */
export async function* dumpAsRestoreParts(source: Source, signal: AbortSignal): AsyncGenerator<RestorePart> {
  for await (const part of source.dump(signal)) {
    const { open, ...meta }: DumpPart = part;
    yield open ? { ...meta, content: open } : meta;
  }
}

export interface RoundTripOptions {
  force?: boolean;
  signal?: AbortSignal;
}

/**
 * Dumps `source` and feeds its parts straight into `source.restore()` into `target` (a path or URL
 * whose meaning belongs to the source type), with the SourceInfo from `inspect()`. For source
 * tests: no repository, no chunking. Throws whatever the source throws.
 */
export async function roundTrip(source: Source, target: string, options: RoundTripOptions = {}): Promise<RestoreResult> {
  const signal = options.signal ?? new AbortController().signal;
  const info = await source.inspect(signal);
  return source.restore(dumpAsRestoreParts(source, signal), { target, force: options.force ?? false, info, signal });
}

export interface TreeEntry {
  /** '/'-separated, relative to the tree root; `.` is the root. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits and setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Files only. */
  size?: number;
  /**
   * Milliseconds, rounded. Restores set mtimes through a double of seconds (about 0.3 µs
   * precision), so fixtures that compare trees should set whole-millisecond mtimes.
   */
  mtimeMs: number;
  /** Files: SHA-256 hex of the content; symlinks: the link target. */
  sha256?: string;
  linkTarget?: string;
}

/**
 * Every entry under `dir` (the root included as `.`), sorted by path, with type, mode, owner,
 * size, mtime and content hash or link target: two trees are equal by content when their
 * digests are deep-equal. Follows no link. Throws fs errors as they come. Reads only.
 */
export async function treeDigest(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  await collect(dir, '.', out);
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

async function collect(abs: string, rel: string, out: TreeEntry[]): Promise<void> {
  const st = await lstat(abs);
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const entry: TreeEntry = { path: rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: Math.round(st.mtimeMs) };
  if (type === 'file') {
    entry.size = st.size;
    entry.sha256 = await sha256File(abs);
  } else if (type === 'symlink') {
    entry.linkTarget = await readlink(abs);
    // Link permission bits are meaningless on Linux (always 0777).
    entry.mode = 0;
  }
  out.push(entry);
  if (type === 'dir') {
    for (const name of await readdir(abs)) {
      await collect(join(abs, name), rel === '.' ? name : `${rel}/${name}`, out);
    }
  }
}

/** SHA-256 hex of a file's content. Throws fs errors. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
