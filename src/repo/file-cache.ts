import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '../storage/backend.js';

/** Keys the cache may hold: a folder of the layout and a hex id (never a path of the listing's choosing). */
const CACHEABLE = /^(snapshots|index)\/([0-9a-f]{16,128})$/;

/**
 * A local copy of repository files that never change under their key: snapshot files (the id
 * hashes their identity, written create-only) and index files (the id is the SHA-256 of their
 * bytes). It keeps the sealed bytes as stored (nothing there is plaintext) in
 * `<root>/<repository id>/<key>`, so that a later process reads them from disk instead of
 * asking a remote backend once per file. Every entry read back is decoded and verified like a
 * fetched one, so a damaged, truncated or foreign entry is only a miss: fetched and replaced.
 * Off for local backends (their files are already on disk) and when no root is given. Best
 * effort: a cache that cannot be written changes nothing but speed. See docs/storage.md.
 * Entries are written with a rename but no fsync (unlike LocalBackend, whose two fsyncs per file
 * would cost more than the cache saves while it fills): one lost in a crash is only a miss.
 */
export class FileCache {
  /** A cache that keeps nothing: every read fetches. */
  static readonly OFF = new FileCache(undefined, undefined);

  readonly #root: string | undefined;
  /** This repository's folder, when caching. */
  readonly #dir: string | undefined;
  #tagged = false;

  /** The cache of repository `repoId` on `backend` under `root` (OFF for a local backend or no root). */
  static for(backend: Backend, repoId: string, root: string | undefined): FileCache {
    const local = backend.localFile?.('config') !== undefined;
    return root === undefined || local ? FileCache.OFF : new FileCache(root, path.join(root, repoId));
  }

  private constructor(root: string | undefined, dir: string | undefined) {
    this.#root = root;
    this.#dir = dir;
  }

  /** True when files are kept (a remote backend and a root were given). */
  get active(): boolean {
    return this.#dir !== undefined;
  }

  /**
   * `decode(bytes)` of file `key`: from the cache when an entry decodes, else from `fetch()`,
   * kept for next time. Throws what `fetch` and `decode` throw for the fetched bytes.
   */
  async read<T>(key: string, fetch: () => Promise<Uint8Array>, decode: (bytes: Uint8Array) => T): Promise<T> {
    const file = this.#file(key);
    if (file === undefined) return decode(await fetch());
    const cached = await readFile(file).catch(() => undefined);
    if (cached !== undefined) {
      try {
        return decode(cached);
      } catch {
        await unlink(file).catch(() => undefined);
      }
    }
    const bytes = await fetch();
    const value = decode(bytes);
    await this.#keep(file, bytes);
    return value;
  }

  /** Drops the entry of `key` (its file was deleted from the repository). Never throws. */
  async forget(key: string): Promise<void> {
    const file = this.#file(key);
    if (file !== undefined) await unlink(file).catch(() => undefined);
  }

  /** Drops the entries under `folder` (e.g. `index`) whose key is not in `keys` (full keys). Never throws. */
  async keepOnly(folder: 'snapshots' | 'index', keys: Iterable<string>): Promise<void> {
    if (this.#dir === undefined) return;
    const wanted = new Set(keys);
    const dir = path.join(this.#dir, folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      // Temp files of a process that died go too; a live writer's rename then fails harmlessly.
      if (!wanted.has(`${folder}/${name}`)) await unlink(path.join(dir, name)).catch(() => undefined);
    }
  }

  #file(key: string): string | undefined {
    if (this.#dir === undefined) return undefined;
    const match = CACHEABLE.exec(key);
    return match ? path.join(this.#dir, match[1] as string, match[2] as string) : undefined;
  }

  /** Writes an entry atomically (temp file, rename): a reader sees none or all of it. */
  async #keep(file: string, bytes: Uint8Array): Promise<void> {
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      // Sealed bytes, but the names are snapshot ids: private to the user, like the repository.
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, file);
      if (!this.#tagged && this.#root !== undefined) await tagAsCache(this.#root);
      this.#tagged = true;
    } catch {
      await unlink(temp).catch(() => undefined);
    }
  }
}

/**
 * Marks the cache root with a CACHEDIR.TAG (https://bford.info/cachedir/), so backup tools that
 * honour it (restic, borg, tar --exclude-caches) skip it. Best effort.
 */
async function tagAsCache(root: string): Promise<void> {
  const tag = 'Signature: 8a477f597d28d172789f06886806bc55\n# This folder is a cache of Reprise; it is rebuilt when needed.\n';
  await writeFile(path.join(root, 'CACHEDIR.TAG'), tag, { flag: 'wx' }).catch(() => undefined);
}
