import { randomBytes } from 'node:crypto';
import { type FileHandle, chmod, chown, lchown, lstat, lutimes, mkdir, open, rename, rm, stat, symlink, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import { RepriseError } from '../../core/errors.js';
import type { ByteStream, RestorePart, RestoreResult } from '../source.js';
import { throwIfAborted } from './abort.js';
import { errnoCode, targetUnwritable } from './fs-errors.js';
import { partSegments } from './part-name.js';
import { probeTree } from './probe.js';

/** Files being fsynced and renamed at once; each holds one descriptor. */
const MAX_FILES_IN_FLIGHT = 16;

/** Prefix of the temporary names files are written under before being renamed into place. */
export const TEMP_PREFIX = '.reprise-tmp-';

export interface RestoreTreeOptions {
  /** Absolute path of the directory to restore into (created when missing). */
  target: string;
  force: boolean;
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
 * are left alone. Each file is written to `.reprise-tmp-<random>` beside its final name, fsynced,
 * then renamed, so an interrupted restore (abort, error, crash) never leaves a partial file under
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
  try {
    for await (const part of parts) {
      throwIfAborted(signal);
      bytes += await writer.write(part);
      count++;
    }
    await writer.finish();
  } catch (err) {
    // Files still being synced must be renamed or removed before the caller sees the error.
    await writer.settle();
    throw err;
  }
  return { location: target, parts: count, bytes };
}

class TreeWriter {
  private readonly asRoot = process.getuid?.() === 0;
  /** Relative paths known to be real directories (never links) in the target. */
  private readonly knownDirs = new Set<string>(['']);
  private readonly dirMetas: DirMeta[] = [];
  /** Files whose content is written, being synced and renamed while the next parts stream in. */
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly target: string,
    private readonly force: boolean,
    private readonly signal: AbortSignal,
  ) {}

  /** Writes one part; returns the content bytes written. */
  async write(part: RestorePart): Promise<number> {
    this.throwIfFailed();
    const segments = partSegments(part.name);
    const abs = join(this.target, ...segments);
    switch (part.type) {
      case 'dir':
        await this.ensureDir(segments, part.name);
        this.dirMetas.push({ abs, depth: segments.length, mode: part.mode, mtimeMs: part.mtimeMs, uid: part.uid, gid: part.gid });
        return 0;
      case 'file':
        if (segments.length === 0) throw malformed(part.name, 'the root must be a directory');
        await this.ensureDir(segments.slice(0, -1), part.name);
        return this.writeFile(abs, part);
      case 'symlink':
        if (segments.length === 0) throw malformed(part.name, 'the root must be a directory');
        if (part.linkTarget === undefined) throw malformed(part.name, 'a symlink part without linkTarget');
        await this.ensureDir(segments.slice(0, -1), part.name);
        await this.writeSymlink(abs, part, part.linkTarget);
        return 0;
      default:
        throw malformed(part.name, `unknown part type ${JSON.stringify(part.type)}`);
    }
  }

  /** Waits for every file in flight (each renames or removes its temp file). Never throws. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Applies directory metadata after all content is written: writing into a dir changes its mtime. */
  async finish(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
    this.dirMetas.sort((a, b) => b.depth - a.depth);
    for (const dir of this.dirMetas) {
      throwIfAborted(this.signal);
      try {
        if (this.asRoot && dir.uid !== undefined && dir.gid !== undefined) await chown(dir.abs, dir.uid, dir.gid);
        if (dir.mode !== undefined) await chmod(dir.abs, dir.mode & 0o7777);
        if (dir.mtimeMs !== undefined) await utimes(dir.abs, dir.mtimeMs / 1000, dir.mtimeMs / 1000);
        await fsyncPath(dir.abs);
      } catch (err) {
        throw targetUnwritable(dir.abs, err);
      }
    }
  }

  /** Makes every segment a real directory, never following a link out of the target. */
  private async ensureDir(segments: string[], partName: string): Promise<void> {
    for (let i = 1; i <= segments.length; i++) {
      const rel = segments.slice(0, i).join('/');
      if (this.knownDirs.has(rel)) continue;
      const abs = join(this.target, rel);
      try {
        const st = await lstat(abs).catch((err: unknown) => {
          if (errnoCode(err) === 'ENOENT') return undefined;
          throw err;
        });
        if (st && !st.isDirectory()) {
          // Without force the target was empty: a non-directory here came from this very snapshot.
          if (!this.force) throw malformed(partName, `${rel} is not a directory in the snapshot`);
          await rm(abs, { force: true });
        }
        if (!st?.isDirectory()) await mkdir(abs, { mode: 0o700 });
      } catch (err) {
        throw targetUnwritable(abs, err);
      }
      this.knownDirs.add(rel);
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async writeFile(abs: string, part: RestorePart): Promise<number> {
    const temp = tempBeside(abs);
    let handle: FileHandle | undefined;
    let written = 0;
    try {
      try {
        handle = await open(temp, 'wx', 0o600);
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      if (part.content) written = await copyInto(part.content(), handle, temp, this.signal);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    // fsync costs milliseconds per file: overlap it with streaming the next parts.
    const task = this.completeFile(handle, temp, abs, part).catch((err: unknown) => {
      this.failure ??= { error: err };
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
    if (this.inFlight.size >= MAX_FILES_IN_FLIGHT) await Promise.race(this.inFlight);
    return written;
  }

  /** Metadata, fsync, rename; on any failure the temp file is removed. */
  private async completeFile(handle: FileHandle, temp: string, abs: string, part: RestorePart): Promise<void> {
    let unclosed: FileHandle | undefined = handle;
    try {
      try {
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) await handle.chown(part.uid, part.gid);
        // After chown, which clears setuid/setgid bits.
        await handle.chmod(part.mode === undefined ? 0o644 : part.mode & 0o7777);
        if (part.mtimeMs !== undefined) await handle.utimes(part.mtimeMs / 1000, part.mtimeMs / 1000);
        await handle.sync();
        unclosed = undefined;
        await handle.close();
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      // No abort check here: a file whose content was fully received is completed, as it
      // would have been without the overlap, so what an abort leaves does not depend on timing.
      await this.moveIntoPlace(temp, abs, part.name);
    } catch (err) {
      await unclosed?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  private async writeSymlink(abs: string, part: RestorePart, linkTarget: string): Promise<void> {
    const temp = tempBeside(abs);
    try {
      try {
        await symlink(linkTarget, temp);
        if (this.asRoot && part.uid !== undefined && part.gid !== undefined) await lchown(temp, part.uid, part.gid);
        if (part.mtimeMs !== undefined) await lutimes(temp, part.mtimeMs / 1000, part.mtimeMs / 1000);
      } catch (err) {
        throw targetUnwritable(temp, err);
      }
      await this.moveIntoPlace(temp, abs, part.name);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  /** rename(2) replaces a file or link atomically; a directory in the way is removed only with force. */
  private async moveIntoPlace(temp: string, abs: string, partName: string): Promise<void> {
    try {
      await rename(temp, abs);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw targetUnwritable(abs, err);
      if (!this.force) throw malformed(partName, 'the snapshot holds both a directory and a file of this name');
      try {
        await rm(abs, { recursive: true, force: true });
        await rename(temp, abs);
      } catch (retryErr) {
        throw targetUnwritable(abs, retryErr);
      }
    }
  }
}

async function copyInto(content: ByteStream, handle: FileHandle, temp: string, signal: AbortSignal): Promise<number> {
  // A stalled producer must not delay cancellation: destroying the stream ends the for-await.
  if (content instanceof Readable) addAbortSignal(signal, content);
  let written = 0;
  try {
    for await (const chunk of content) {
      throwIfAborted(signal);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      let offset = 0;
      while (offset < bytes.length) {
        let n: number;
        try {
          ({ bytesWritten: n } = await handle.write(bytes, offset, bytes.length - offset));
        } catch (err) {
          throw targetUnwritable(temp, err);
        }
        offset += n;
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

async function fsyncPath(abs: string): Promise<void> {
  const handle = await open(abs, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function tempBeside(abs: string): string {
  const slash = abs.lastIndexOf('/');
  return `${abs.slice(0, slash + 1)}${TEMP_PREFIX}${randomBytes(6).toString('hex')}`;
}

function malformed(name: string, why: string): RepriseError {
  return new RepriseError('REPRISE_INTEGRITY', `part ${JSON.stringify(name)}: ${why}`, {
    hint: 'The snapshot is not a valid files snapshot; restore from another snapshot or copy.',
    details: { part: name },
  });
}
