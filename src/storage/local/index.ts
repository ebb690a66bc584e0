import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, read } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from '../backend.js';
import { checkRange, rangeBeyondEnd } from '../range.js';
import { fromFsError } from './errors.js';
import { writeInPieces } from '../../core/write-pieces.js';

/** Temp files start with this; `list` never shows them, so a crashed put is invisible. */
export const TEMP_PREFIX = '.tmp-';

/**
 * Descriptors kept open for range reads. A restore reads thousands of small ranges of the same
 * few packs; an open, fstat and close per range cost three thread-pool round trips each.
 * Only range reads use it: in the repository layout they read packs, which never change.
 */
const RANGE_HANDLES = 32;

/**
 * A repository on a local (or mounted) file system, restic-style: each key is a file under
 * `rootDir`, `/` in keys makes folders. Writes go to a temp file that is fsynced, then renamed
 * (or hard-linked, for createOnly) into place and the folder fsynced, so a reader or a crash
 * never sees a partial object under its final name.
 */
export class LocalBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  /** path → open descriptor and size, least recently used first (Map order). */
  private readonly rangeHandles = new Map<string, { fd: number; size: number }>();

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    this.location = this.root;
  }

  /**
   * Stores `body` atomically. With `createOnly`, exactly one of several concurrent writers of a
   * key succeeds (link() fails with EEXIST for the others). Idempotent for the same body without
   * createOnly. Throws StorageError (`exists`, `permission`, `transient`, `fatal` when the key
   * collides with a folder) or the signal's reason when aborted; the temp file is removed then.
   */
  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    const path = this.pathOf(key);
    this.forgetHandle(path);
    const dir = dirname(path);
    await this.ensureDir(dir, key);
    const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(tmp, 'wx', 0o600);
      await writeInPieces(handle, body, signal);
      await handle.sync();
      await handle.close();
      handle = undefined;
      signal?.throwIfAborted();
      if (options.createOnly) {
        await this.linkIntoPlace(tmp, path, key);
      } else {
        await rename(tmp, path);
      }
      await fsyncDir(dir);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new StorageError('fatal', `put ${key}: a folder of that name exists (the key is a prefix of other keys)`, { key, cause: err });
      }
      throw fromFsError(err, 'put', key);
    }
  }

  /**
   * Reads the object, or only `range` of it through a file handle. Idempotent. Throws StorageError
   * `not_found` when absent, `fatal` when the range goes past the end, or the signal's reason.
   */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const path = this.pathOf(key);
    if (range) {
      checkRange(range, key);
      return this.readRange(key, path, range, signal);
    }
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      const info = await handle.stat();
      if (!info.isFile()) throw new StorageError('not_found', `no such object: ${key} (a folder)`, { key });
      const whole = await handle.readFile(signal ? { signal } : {});
      return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength);
    } catch (err) {
      throw fromFsError(err, 'get', key);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /** The file that holds `key` (it may not exist). Pure. Throws StorageError `fatal` for an invalid key. */
  localFile(key: string): string {
    return this.pathOf(key);
  }

  /** Size of the object, or undefined when absent (or a folder). Idempotent. Throws StorageError for other failures. */
  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    signal?.throwIfAborted();
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (err) {
      const mapped = fromFsError(err, 'stat', key);
      if (mapped instanceof StorageError && mapped.kind === 'not_found') return undefined;
      throw mapped;
    }
  }

  /**
   * Every file whose key starts with `prefix`, walking only the folder the prefix points into.
   * Temp files are skipped. Idempotent. Throws StorageError or the signal's reason.
   */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash + 1);
    yield* this.walk(startKey, prefix, signal);
  }

  private async *walk(dirKey: string, prefix: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(join(this.root, ...dirKey.split('/')), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fromFsError(err, 'list', dirKey || '/');
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey + entry.name;
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        // Descend only where keys can still match the prefix.
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix, signal);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        signal?.throwIfAborted();
        const info = await this.stat(key);
        // Deleted between readdir and stat: it is simply no longer there.
        if (info) yield info;
      }
    }
  }

  /** Removes the object; a missing key is fine (idempotent). Throws StorageError for other failures. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.forgetHandle(this.pathOf(key));
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fromFsError(err, 'delete', key);
    }
  }

  /** Nothing to release: every call opens and closes its own handles. Idempotent, never throws. */
  /** Closes the descriptors kept for range reads. Idempotent. */
  async close(): Promise<void> {
    for (const path of [...this.rangeHandles.keys()]) this.forgetHandle(path);
  }

  private forgetHandle(path: string): void {
    const entry = this.rangeHandles.get(path);
    if (!entry) return;
    this.rangeHandles.delete(path);
    closeSync(entry.fd);
  }

  /** An open descriptor of a regular file, opened synchronously (microseconds) and kept. */
  private rangeHandle(path: string, key: string): { fd: number; size: number } {
    const cached = this.rangeHandles.get(path);
    if (cached) {
      this.rangeHandles.delete(path);
      this.rangeHandles.set(path, cached);
      return cached;
    }
    const fd = openSync(path, 'r');
    const info = fstatSync(fd);
    if (!info.isFile()) {
      closeSync(fd);
      throw new StorageError('not_found', `no such object: ${key} (a folder)`, { key });
    }
    const entry = { fd, size: info.size };
    this.rangeHandles.set(path, entry);
    if (this.rangeHandles.size > RANGE_HANDLES) this.forgetHandle(this.rangeHandles.keys().next().value as string);
    return entry;
  }

  private async readRange(key: string, path: string, range: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    let entry: { fd: number; size: number };
    try {
      entry = this.rangeHandle(path, key);
    } catch (err) {
      throw err instanceof StorageError ? err : fromFsError(err, 'get', key);
    }
    if (range.offset + range.length > entry.size) throw rangeBeyondEnd(range, key, entry.size);
    const out = new Uint8Array(range.length);
    for (let done = 0; done < range.length; ) {
      signal?.throwIfAborted();
      const bytesRead = await new Promise<number>((resolveRead, rejectRead) =>
        read(entry.fd, out, done, range.length - done, range.offset + done, (err, n) => (err ? rejectRead(fromFsError(err, 'get', key)) : resolveRead(n))),
      );
      if (bytesRead === 0) throw new StorageError('transient', `get ${key}: file shrank while reading`, { key });
      done += bytesRead;
    }
    return out;
  }

  private pathOf(key: string): string {
    const parts = key.split('/');
    const bad =
      key.length === 0 ||
      key.includes('\0') ||
      key.includes('\\') ||
      parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith(TEMP_PREFIX));
    if (bad) {
      throw new StorageError('fatal', `invalid key for a local repository: ${JSON.stringify(key)}`, { key });
    }
    return this.root + sep + parts.join(sep);
  }

  /**
   * link() never replaces an existing name, unlike rename(): that is what makes createOnly
   * atomic. Some mounts (FAT, some SMB/FUSE) have no hard links; we could create the temp file in
   * this folder, so EPERM here means that, not a denial: fall back to a check then rename, which
   * is not safe against a concurrent writer of the same key.
   */
  private async linkIntoPlace(tmp: string, path: string, key: string): Promise<void> {
    try {
      await link(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
      if (await this.stat(key)) throw new StorageError('exists', `object already exists: ${key}`, { key });
      await rename(tmp, path);
      return;
    }
    await unlink(tmp);
  }

  private async ensureDir(dir: string, key: string): Promise<void> {
    let first: string | undefined;
    try {
      first = await mkdir(dir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST') {
        throw new StorageError('fatal', `put ${key}: a parent of the key is an object, not a folder`, { key, cause: err });
      }
      throw fromFsError(err, 'put', key);
    }
    if (first === undefined) return;
    // New folders must survive a crash too: fsync each new folder's parent, deepest last.
    const created: string[] = [];
    for (let d = dir; d.length >= first.length; d = dirname(d)) created.unshift(d);
    for (const d of created) await fsyncDir(dirname(d)).catch((err: unknown) => Promise.reject(fromFsError(err, 'put', key)));
  }
}

/** fsync on a folder makes renames and links in it durable. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
