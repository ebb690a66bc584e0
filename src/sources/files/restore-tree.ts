import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { chmod, chown, mkdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import { RepriseError } from '../../core/errors.js';
import { InflightWindow } from '../../core/inflight.js';
import type { ByteStream, RestorePart, RestoreResult } from '../source.js';
import { throwIfAborted } from './abort.js';
import { errnoCode, targetUnwritable } from './fs-errors.js';
import { partSegments } from './part-name.js';
import { probeTree } from './probe.js';
import { utimesSeconds } from '../../core/file-times.js';
import { writeSyncInPieces } from '../../core/write-pieces.js';

/*
 * Per-file system calls are synchronous on purpose: a restore makes about eight per file, and
 * each asynchronous one costs a thread-pool round trip (measured here: 100 µs for an async
 * open+close against 5 µs sync), which dominated restores of many small files. Each call is
 * short and a restore is a batch job, so blocking the event loop for it is the cheaper trade.
 */

/** Prefix of the temporary names files are written under before being renamed into place. */
export const TEMP_PREFIX = '.reprise-tmp-';

export interface RestoreTreeOptions {
  /** Absolute path of the directory to restore into (created when missing). */
  target: string;
  force: boolean;
  /** Flush the target filesystem (syncfs) once at the end. */
  sync: boolean;
  signal: AbortSignal;
}

interface DirMeta {
  abs: string;
  depth: number;
  mode: number | undefined;
  mtimeMs: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

/**
 * Writes file, dir and symlink parts under `target`. Refuses a non-empty target unless `force`
 * (REPRISE_TARGET_NOT_EMPTY); with `force`, entries of the same name are replaced and others
 * are left alone. Each file is written to `.reprise-tmp-<random>` beside its final name, then
 * renamed (and, with `sync`, the filesystem flushed once at the end), so an interrupted restore (abort, error, crash) never leaves a partial file under
 * a final name; the temp file is removed on error or abort. Mode, mtime (atime is set to it) and,
 * when running as root, owner are restored; directory metadata is applied last, deepest first.
 * Throws REPRISE_TARGET_NOT_EMPTY, REPRISE_TARGET_UNREACHABLE (write failures), REPRISE_INTEGRITY
 * (a part name escaping the target, a malformed part), REPRISE_ABORTED, and whatever the part
 * streams throw. Idempotent with `force`: restoring the same parts twice gives the same tree.
 */
export async function restoreTree(parts: AsyncIterable<RestorePart>, options: RestoreTreeOptions): Promise<RestoreResult> {
  const { target, force, signal } = options;
  throwIfAborted(signal);
  const state = await probeTree(target);
  if (!state.empty && !force) {
    throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `restore target ${target} is not empty`, { details: { target } });
  }
  if (state.exists && !state.empty) {
    const st = await stat(target);
    if (!st.isDirectory()) {
      throw new RepriseError('REPRISE_TARGET_UNREACHABLE', `restore target ${target} exists and is not a directory`, {
        hint: 'Restore a files snapshot into a directory: remove the file or choose another --to.',
      });
    }
  }
  try {
    await mkdir(target, { recursive: true });
  } catch (err) {
    throw targetUnwritable(target, err);
  }

  const writer = new TreeWriter(target, force, signal);
  let count = 0;
  let bytes = 0;
  // Files written by workers are restored several at once; the window bounds the bytes in flight.
  const writing = new InflightWindow(FILES_IN_FLIGHT, BYTES_IN_FLIGHT);
  try {
    for await (const part of parts) {
      throwIfAborted(signal);
      const written = writer.write(part);
      // Only files a worker writes overlap; a content stream is consumed before the next part.
      if (part.type === 'file' && part.writeFile) {
        await writing.add(
          Promise.resolve(written).then((n) => {
            bytes += n;
          }),
          part.size ?? 0,
        );
      } else bytes += await written;
      count++;
    }
    await writing.drain();
  } catch (err) {
    await writing.settle();
    throw err;
  }
  await writer.finish();
  if (options.sync) await syncFilesystem(target, signal);
  return { location: target, parts: count, bytes };
}

/** Files being written by workers at once, and their bytes. */
const FILES_IN_FLIGHT = 64;
const BYTES_IN_FLIGHT = 16 << 20;

class TreeWriter {
  private readonly asRoot = process.getuid?.() === 0;
  /** Relative paths known to be real directories (never links) in the target. */
  private readonly knownDirs = new Set<string>(['']);
  private readonly dirMetas: DirMeta[] = [];

  constructor(
    private readonly target: string,
    private readonly force: boolean,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Writes one part; returns the content bytes written, or a promise of them for a file a worker
   * writes (it may finish after later parts have started).
   */
  write(part: RestorePart): number | Promise<number> {
    const segments = partSegments(part.name);
    const abs = join(this.target, ...segments);
    switch (part.type) {
      case 'dir':
        this.ensureDir(segments, part.name);
        this.dirMetas.push({ abs, depth: segments.length, mode: part.mode, mtimeMs: part.mtimeMs, uid: part.uid, gid: part.gid });
        return 0;
      case 'file':
        if (segments.length === 0) throw malformed(part.name, 'the root must be a directory');
        this.ensureDir(segments.slice(0, -1), part.name);
        return part.writeFile ? this.writeFileBy(part.writeFile, abs, part) : this.writeFile(abs, part);
      case 'symlink':
        if (segments.length === 0) throw malformed(part.name, 'the root must be a directory');
        if (part.linkTarget === undefined) throw malformed(part.name, 'a symlink part without linkTarget');
        this.ensureDir(segments.slice(0, -1), part.name);
        this.writeSymlink(abs, part, part.linkTarget);
        return 0;
      default:
        throw malformed(part.name, `unknown part type ${JSON.stringify(part.type)}`);
    }
  }

  /** Applies directory metadata after all content is written (writing into a dir changes its mtime). */
  async finish(): Promise<void> {
    this.dirMetas.sort((a, b) => b.depth - a.depth);
    for (const dir of this.dirMetas) {
      throwIfAborted(this.signal);
      try {
        if (this.asRoot && dir.uid !== undefined && dir.gid !== undefined) await chown(dir.abs, dir.uid, dir.gid);
        if (dir.mode !== undefined) await chmod(dir.abs, dir.mode & 0o7777);
        if (dir.mtimeMs !== undefined) await utimes(dir.abs, utimesSeconds(dir.mtimeMs), utimesSeconds(dir.mtimeMs));
      } catch (err) {
        throw targetUnwritable(dir.abs, err);
      }
    }
  }

  /** Makes every segment a real directory, never following a link out of the target. */
  private ensureDir(segments: string[], partName: string): void {
    for (let i = 1; i <= segments.length; i++) {
      const rel = segments.slice(0, i).join('/');
      if (this.knownDirs.has(rel)) continue;
      const abs = join(this.target, rel);
      try {
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (st && !st.isDirectory()) {
          // Without force the target was empty: a non-directory here came from this very snapshot.
          if (!this.force) throw malformed(partName, `${rel} is not a directory in the snapshot`);
          rmSync(abs, { force: true });
        }
        if (!st?.isDirectory()) mkdirSync(abs, { mode: 0o700 });
      } catch (err) {
        throw targetUnwritable(abs, err);
      }
      this.knownDirs.add(rel);
    }
  }

  private async writeFile(abs: string, part: RestorePart): Promise<number> {
    const temp = tempBeside(abs);
    let fd: number | undefined;
    try {
      try {
        fd = openSync(temp, 'wx', 0o600);
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      const written = part.content ? await copyInto(part.content(), fd, temp, this.signal) : 0;
      try {
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) fchownSync(fd, part.uid, part.gid);
        // After chown, which clears setuid/setgid bits.
        fchmodSync(fd, part.mode === undefined ? 0o644 : part.mode & 0o7777);
        if (part.mtimeMs !== undefined) futimesSync(fd, utimesSeconds(part.mtimeMs), utimesSeconds(part.mtimeMs));
        const closing = fd;
        fd = undefined;
        closeSync(closing);
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      this.moveIntoPlace(temp, abs, part.name);
      return written;
    } catch (err) {
      if (fd !== undefined) closeQuietly(fd);
      unlinkQuietly(temp);
      throw err;
    }
  }

  /** A file written by `writeFile` (a worker) under a temporary name, then renamed into place here. */
  private async writeFileBy(writeFile: NonNullable<RestorePart['writeFile']>, abs: string, part: RestorePart): Promise<number> {
    const temp = tempBeside(abs);
    try {
      // The worker renames the finished file too (one thread per directory operation sequence is
      // cheaper here); when that fails (a directory in the way, say), it is moved here, with force rules.
      return await writeFile({
        path: temp,
        renameTo: abs,
        mode: part.mode === undefined ? 0o644 : part.mode & 0o7777,
        ...(part.mtimeMs !== undefined ? { mtimeMs: part.mtimeMs } : {}),
        ...(this.asRoot && part.uid !== undefined && part.gid !== undefined ? { owner: { uid: part.uid, gid: part.gid } } : {}),
      }).catch((err: unknown) => {
        if (!(err as { renameFailed?: boolean }).renameFailed) throw err;
        this.moveIntoPlace(temp, abs, part.name);
        return part.size ?? 0;
      });
    } catch (err) {
      unlinkQuietly(temp);
      throw targetUnwritable(temp, err);
    }
  }

  private writeSymlink(abs: string, part: RestorePart, linkTarget: string): void {
    const temp = tempBeside(abs);
    try {
      try {
        symlinkSync(linkTarget, temp);
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) lchownSync(temp, part.uid, part.gid);
        if (part.mtimeMs !== undefined) lutimesSync(temp, utimesSeconds(part.mtimeMs), utimesSeconds(part.mtimeMs));
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      this.moveIntoPlace(temp, abs, part.name);
    } catch (err) {
      unlinkQuietly(temp);
      throw err;
    }
  }

  /** rename(2) replaces a file or link atomically; a directory in the way is removed only with force. */
  private moveIntoPlace(temp: string, abs: string, partName: string): void {
    try {
      renameSync(temp, abs);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw targetUnwritable(abs, err);
      if (!this.force) throw malformed(partName, 'the snapshot holds both a directory and a file of this name');
      try {
        rmSync(abs, { recursive: true, force: true });
        renameSync(temp, abs);
      } catch (retryErr) {
        throw targetUnwritable(abs, retryErr);
      }
    }
  }
}

async function copyInto(content: ByteStream, fd: number, temp: string, signal: AbortSignal): Promise<number> {
  // A stalled producer must not delay cancellation: destroying the stream ends the for-await.
  if (content instanceof Readable) addAbortSignal(signal, content);
  let written = 0;
  try {
    for await (const chunk of content) {
      throwIfAborted(signal);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      try {
        writeSyncInPieces(fd, bytes);
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      written += bytes.length;
    }
  } catch (err) {
    throwIfAborted(signal);
    throw err;
  }
  throwIfAborted(signal);
  return written;
}

/**
 * Flushes everything written under `abs` to disk with one syncfs(2) (coreutils `sync -f`) rather
 * than an fsync per file, which costs milliseconds each: the rename after a complete write already
 * guarantees that an interrupted restore leaves no partial file under a final name; this makes the
 * finished restore durable before it is reported. Falls back to a global sync where `-f` is unknown.
 */
async function syncFilesystem(abs: string, signal: AbortSignal): Promise<void> {
  const run = (args: string[]) =>
    new Promise<number>((resolve) => {
      const child = spawn('sync', args, { stdio: 'ignore', signal });
      child.on('error', () => resolve(-1));
      child.on('close', (code) => resolve(code ?? -1));
    });
  if ((await run(['-f', abs])) !== 0) await run([]);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing: the first error is the one reported
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // nothing to remove
  }
}

/** Unique per process; a counter after it avoids drawing random bytes for every file. */
const TEMP_SESSION = randomBytes(6).toString('hex');
let tempCounter = 0;

function tempBeside(abs: string): string {
  const slash = abs.lastIndexOf('/');
  return `${abs.slice(0, slash + 1)}${TEMP_PREFIX}${TEMP_SESSION}-${(tempCounter++).toString(36)}`;
}

function malformed(name: string, why: string): RepriseError {
  return new RepriseError('REPRISE_INTEGRITY', `part ${JSON.stringify(name)}: ${why}`, {
    hint: 'The snapshot is not a valid files snapshot; restore from another snapshot or copy.',
    details: { part: name },
  });
}
