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
  readdirSync,
  renameSync,
  rmdirSync,
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

/** Prefix of the temporary names files are written under before being renamed into place (non-empty targets). */
export const TEMP_PREFIX = '.reprise-tmp-';

/** Prefix of the folder, inside an empty target, that a restore writes the tree into before moving it out. */
export const STAGE_PREFIX = '.reprise-restore-';

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
 * are left alone. Nothing partial ever stands under a final name, even after a crash:
 * - a missing or empty target is restored into a folder inside it (`.reprise-restore-<id>`, the
 *   stage), whose entries are moved into the target once everything is written; a failed or
 *   aborted restore removes the stage and leaves the target empty. Files are created under their
 *   own names in the stage: no rename per file, which costs little alone but contends for the
 *   directory's lock when two threads write into one directory (~6% of a 20k-file restore here);
 * - into a non-empty target (`force`), each file and link is written to `.reprise-tmp-<id>`
 *   beside its final name, then renamed over it; the temp file is removed on error or abort.
 *   Stages left in the target by a restore that was killed are removed first.
 * With `sync`, the filesystem is flushed once at the end. Mode, mtime (atime is set to it) and,
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
  const stage = state.empty ? join(target, `${STAGE_PREFIX}${TEMP_SESSION}`) : undefined;
  try {
    await mkdir(stage ?? target, { recursive: true });
    if (!stage) removeStaleStages(target);
  } catch (err) {
    throw targetUnwritable(stage ?? target, err);
  }

  const writer = new TreeWriter(target, stage, force, signal);
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
    await writer.finish();
  } catch (err) {
    await writing.settle();
    if (stage) rmSync(stage, { recursive: true, force: true });
    throw err;
  }
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

  /** Where parts are written: the stage, or the target itself. */
  private readonly root: string;

  /** `stage`: the folder inside an empty target to write into, moved out by `finish`. */
  constructor(
    private readonly target: string,
    private readonly stage: string | undefined,
    private readonly force: boolean,
    private readonly signal: AbortSignal,
  ) {
    this.root = stage ?? target;
  }

  /**
   * Writes one part; returns the content bytes written, or a promise of them for a file a worker
   * writes (it may finish after later parts have started).
   */
  write(part: RestorePart): number | Promise<number> {
    const segments = partSegments(part.name);
    const abs = join(this.root, ...segments);
    switch (part.type) {
      case 'dir':
        this.ensureDir(segments, part.name);
        this.dirMetas.push({ abs: join(this.target, ...segments), depth: segments.length, mode: part.mode, mtimeMs: part.mtimeMs, uid: part.uid, gid: part.gid });
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

  /**
   * Moves the stage's entries into the target (or, in a non-empty target, removes the temp files
   * a killed restore left in the folders this one wrote), then applies directory metadata (after
   * all content is written and moved: writing into a dir changes its mtime).
   */
  async finish(): Promise<void> {
    if (this.stage) {
      try {
        for (const name of readdirSync(this.stage)) renameSync(join(this.stage, name), join(this.target, name));
        rmdirSync(this.stage);
      } catch (err) {
        throw targetUnwritable(this.target, err);
      }
    } else {
      for (const rel of this.knownDirs) removeStaleTemps(join(this.target, rel));
    }
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
      const abs = join(this.root, rel);
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
    const path = this.stage ? abs : tempBeside(abs);
    let fd: number | undefined;
    let created = false;
    try {
      try {
        fd = this.createAt(abs, part.name, () => openSync(path, 'wx', 0o600));
        created = true;
      } catch (err) {
        throw targetUnwritable(path, err);
      }
      const written = part.content ? await copyInto(part.content(), fd, path, this.signal) : 0;
      try {
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) fchownSync(fd, part.uid, part.gid);
        // After chown, which clears setuid/setgid bits.
        fchmodSync(fd, part.mode === undefined ? 0o644 : part.mode & 0o7777);
        if (part.mtimeMs !== undefined) futimesSync(fd, utimesSeconds(part.mtimeMs), utimesSeconds(part.mtimeMs));
        const closing = fd;
        fd = undefined;
        closeSync(closing);
      } catch (err) {
        throw targetUnwritable(path, err);
      }
      if (!this.stage) this.moveIntoPlace(path, abs, part.name);
      return written;
    } catch (err) {
      if (fd !== undefined) closeQuietly(fd);
      if (created || !this.stage) unlinkQuietly(path);
      throw err;
    }
  }

  /**
   * A file written by `writeFile` (a worker): straight under its name in the stage, or under a
   * temporary name that the worker then renames into place.
   */
  private async writeFileBy(writeFile: NonNullable<RestorePart['writeFile']>, abs: string, part: RestorePart): Promise<number> {
    const file = {
      mode: part.mode === undefined ? 0o644 : part.mode & 0o7777,
      ...(part.mtimeMs !== undefined ? { mtimeMs: part.mtimeMs } : {}),
      ...(this.asRoot && part.uid !== undefined && part.gid !== undefined ? { owner: { uid: part.uid, gid: part.gid } } : {}),
    };
    if (this.stage) {
      // The worker removes what it created when it fails; an entry already there is the snapshot's own.
      const write = () => writeFile({ path: abs, ...file });
      try {
        return await write().catch((err: unknown) => {
          if (errnoCode(err) !== 'EEXIST') throw err;
          return this.replaceInStage(abs, part.name, write);
        });
      } catch (err) {
        throw targetUnwritable(abs, err);
      }
    }
    const temp = tempBeside(abs);
    try {
      // The worker renames the finished file too (one thread per directory operation sequence is
      // cheaper here); when that fails (a directory in the way, say), it is moved here, with force rules.
      return await writeFile({ path: temp, renameTo: abs, ...file }).catch((err: unknown) => {
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
    const path = this.stage ? abs : tempBeside(abs);
    let created = false;
    try {
      try {
        this.createAt(abs, part.name, () => symlinkSync(linkTarget, path));
        created = true;
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) lchownSync(path, part.uid, part.gid);
        if (part.mtimeMs !== undefined) lutimesSync(path, utimesSeconds(part.mtimeMs), utimesSeconds(part.mtimeMs));
      } catch (err) {
        throw targetUnwritable(path, err);
      }
      if (!this.stage) this.moveIntoPlace(path, abs, part.name);
    } catch (err) {
      if (created || !this.stage) unlinkQuietly(path);
      throw err;
    }
  }

  /** Runs `create`; in the stage, an entry already at `abs` (EEXIST) goes through replaceInStage. */
  private createAt<T>(abs: string, partName: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (!this.stage || errnoCode(err) !== 'EEXIST') throw err;
      return this.replaceInStage(abs, partName, create);
    }
  }

  /**
   * An entry already at `abs` in the stage came from this very snapshot, which then holds a name
   * twice: refused, or with `force` removed and `create` run again, as a rename over it would do
   * in a non-empty target.
   */
  private replaceInStage<T>(abs: string, partName: string, create: () => T): T {
    if (!this.force) throw malformed(partName, 'the snapshot holds two entries of this name');
    rmSync(abs, { recursive: true, force: true });
    return create();
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

/** Removes the stages that restores killed mid-way left at the top of `target`. */
function removeStaleStages(target: string): void {
  for (const name of readdirSync(target)) if (name.startsWith(STAGE_PREFIX)) rmSync(join(target, name), { recursive: true, force: true });
}

/**
 * Removes `.reprise-tmp-*` files of other restores from `dir`: left by a restore killed mid-file
 * (a live one would remove its own). Like stages, this assumes one restore into a target at a
 * time. Best effort: what cannot be removed stays.
 */
function removeStaleTemps(dir: string): void {
  const mine = `${TEMP_PREFIX}${TEMP_SESSION}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(TEMP_PREFIX) && !name.startsWith(mine)) unlinkQuietly(join(dir, name));
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
