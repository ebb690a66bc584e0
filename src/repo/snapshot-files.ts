import type { Backend } from '../storage/backend.js';
import { mapLimit } from './context.js';
import type { FileCache } from './file-cache.js';
import { PREFIX_SNAPSHOTS } from './format.js';
import { decodeSnapshotFile, fetchSnapshotBytes, listSnapshotIds, type StoredSnapshot } from './snapshot-store.js';

/** Snapshot files read at once when listing. */
const READ_CONCURRENCY = 8;

/**
 * Snapshot files of one open repository, each read once. A snapshot file never changes under its
 * id, so what was read stays true: in memory for the life of the repository handle (a backup
 * lists the snapshots, then loads its parent: one read, not two), and in the FileCache across
 * processes. Listing still asks the backend which snapshots exist.
 */
export class SnapshotFiles {
  readonly #backend: Backend;
  readonly #encKey: Uint8Array;
  readonly #cache: FileCache;
  readonly #read = new Map<string, StoredSnapshot>();

  constructor(backend: Backend, encKey: Uint8Array, cache: FileCache) {
    this.#backend = backend;
    this.#encKey = encKey;
    this.#cache = cache;
  }

  /** Snapshot `id` (a full id). Throws REPRISE_SNAPSHOT_NOT_FOUND, REPRISE_INTEGRITY, REPRISE_STORAGE*. */
  async read(id: string, signal?: AbortSignal): Promise<StoredSnapshot> {
    const known = this.#read.get(id);
    if (known) return known;
    const stored = await this.#cache.read(
      `${PREFIX_SNAPSHOTS}${id}`,
      () => fetchSnapshotBytes(this.#backend, id, signal),
      (bytes) => decodeSnapshotFile(this.#encKey, id, bytes),
    );
    this.#read.set(id, stored);
    return stored;
  }

  /** Every snapshot that exists now, oldest first. Throws REPRISE_INTEGRITY for a damaged file, REPRISE_STORAGE*. */
  async readAll(signal?: AbortSignal): Promise<StoredSnapshot[]> {
    const ids = await listSnapshotIds(this.#backend, signal);
    const all = await mapLimit(ids, READ_CONCURRENCY, (id) => this.read(id, signal));
    const present = new Set(ids);
    for (const id of [...this.#read.keys()]) if (!present.has(id)) this.#read.delete(id);
    await this.#cache.keepOnly('snapshots', ids.map((id) => `${PREFIX_SNAPSHOTS}${id}`));
    return all.sort((a, b) => a.summary.time.localeCompare(b.summary.time) || a.summary.id.localeCompare(b.summary.id));
  }

  /** Forgets snapshot `id` (after its file was deleted from the repository). Never throws. */
  async forget(id: string): Promise<void> {
    this.#read.delete(id);
    await this.#cache.forget(`${PREFIX_SNAPSHOTS}${id}`);
  }
}
