import { RepriseError } from '../core/errors.js';
import type { Backend } from '../storage/backend.js';
import type { PackEntry } from './compress.js';
import { FileCache } from './file-cache.js';
import { sealJson, sha256Hex, unsealJson } from './crypto.js';
import { listAll, mapLimit, storageFailure } from './context.js';
import { PREFIX_INDEX } from './format.js';

/** Where a chunk is stored. */
export interface ChunkLocation {
  pack: string;
  type: number;
  offset: number;
  length: number;
  rawLength: number;
}

/** A pack's entry as read from an index file: also where its chunk is (see addPacks). */
export type IndexedEntry = PackEntry & ChunkLocation;

/** A pack as listed in an index file. */
export interface PackRecord {
  id: string;
  size: number;
  entries: PackEntry[];
}

/** Index file plaintext: `blobs` rows are [id, type, offset, length, rawLength]. */
interface IndexFile {
  v: 1;
  packs: { id: string; size: number; blobs: [string, number, number, number, number][] }[];
}

/**
 * The in-memory index of a repository: chunk id → location, pack id → record, built from every
 * `index/<id>` file. Index files are read through `cache` (their sealed bytes; see FileCache).
 */
export class IndexStore {
  readonly #cache: FileCache;
  readonly chunks = new Map<string, ChunkLocation>();
  readonly packs = new Map<string, PackRecord>();
  /** Index file id → pack ids it lists. */
  readonly files = new Map<string, string[]>();

  constructor(cache: FileCache = FileCache.OFF) {
    this.#cache = cache;
  }

  /** True when the repository has the chunk (in a pack listed by an index file). */
  has(id: string): boolean {
    return this.chunks.has(id);
  }

  /** Adds packs to the in-memory index; the first location of a chunk wins. Idempotent. */
  addPacks(fileId: string, packs: PackRecord[]): void {
    this.files.set(fileId, [...(this.files.get(fileId) ?? []), ...packs.map((p) => p.id)]);
    for (const pack of packs) {
      const record = named(pack);
      this.packs.set(record.id, record);
      for (const e of record.entries) if (!this.chunks.has(e.id)) this.chunks.set(e.id, e);
    }
  }

  /** Forgets everything (before a reload). Idempotent. */
  clear(): void {
    this.chunks.clear();
    this.packs.clear();
    this.files.clear();
  }

  /**
   * Loads every index file (`fromStorage`: none from the cache). Throws REPRISE_INTEGRITY for a
   * damaged one, REPRISE_STORAGE*.
   */
  async load(backend: Backend, encKey: Uint8Array, signal?: AbortSignal, options: { fromStorage?: boolean } = {}): Promise<void> {
    const keys = [...(await listAll(backend, PREFIX_INDEX, signal)).keys()];
    const files = await readIndexFiles(backend, encKey, keys, options.fromStorage === true ? FileCache.OFF : this.#cache, signal);
    await this.#cache.keepOnly('index', keys);
    this.clear();
    for (const { key, file } of files) this.addPacks(key.slice(PREFIX_INDEX.length), decodePacks(file, key));
  }

  /**
   * Catches up with index files written by other processes since the load (a long-lived
   * process reading a snapshot another one wrote); reloads everything when some were removed
   * (prune). Same errors as load; idempotent.
   */
  async refresh(backend: Backend, encKey: Uint8Array, signal?: AbortSignal): Promise<void> {
    const keys = [...(await listAll(backend, PREFIX_INDEX, signal)).keys()];
    const present = new Set(keys.map((k) => k.slice(PREFIX_INDEX.length)));
    if ([...this.files.keys()].some((id) => !present.has(id))) return this.load(backend, encKey, signal);
    const fresh = keys.filter((k) => !this.files.has(k.slice(PREFIX_INDEX.length)));
    for (const { key, file } of await readIndexFiles(backend, encKey, fresh, this.#cache, signal)) {
      this.addPacks(key.slice(PREFIX_INDEX.length), decodePacks(file, key));
    }
  }
}

async function readIndexFiles(
  backend: Backend,
  encKey: Uint8Array,
  keys: string[],
  cache: FileCache,
  signal?: AbortSignal,
): Promise<{ key: string; file: IndexFile }[]> {
  const fetch = async (key: string): Promise<Uint8Array> => {
    try {
      return await backend.get(key, undefined, signal);
    } catch (err) {
      throw storageFailure(err, `read ${key}`);
    }
  };
  return mapLimit(keys, 8, async (key) => ({ key, file: await cache.read(key, () => fetch(key), (bytes) => openIndexFile(encKey, key, bytes)) }));
}

/**
 * Checks that `bytes` are index file `key` (its id is the SHA-256 of its bytes, so a cached copy
 * of another file is told apart too) and opens them. Throws REPRISE_INTEGRITY. Pure.
 */
function openIndexFile(encKey: Uint8Array, key: string, bytes: Uint8Array): IndexFile {
  if (sha256Hex(bytes) !== key.slice(PREFIX_INDEX.length)) throw new RepriseError('REPRISE_INTEGRITY', `${key}: its bytes do not hash to its id`);
  return unsealJson<IndexFile>(encKey, bytes, key);
}

/**
 * The record with entries that name their pack, so that each entry is also its chunk's location
 * (one object per chunk in the index instead of two). Entries read from index files already do;
 * those of packs just written are copied once.
 */
function named(pack: PackRecord): PackRecord & { entries: IndexedEntry[] } {
  const isNamed = (e: PackEntry): e is IndexedEntry => (e as Partial<ChunkLocation>).pack === pack.id;
  if (pack.entries.every(isNamed)) return pack as PackRecord & { entries: IndexedEntry[] };
  return { id: pack.id, size: pack.size, entries: pack.entries.map((e) => (isNamed(e) ? e : indexedEntry(e.id, e.type, e.offset, e.length, e.rawLength, pack.id))) };
}

/** One literal for every entry, so that they all share one hidden class. */
function indexedEntry(id: string, type: number, offset: number, length: number, rawLength: number, pack: string): IndexedEntry {
  return { id, type, offset, length, rawLength, pack };
}

function decodePacks(file: IndexFile, what: string): PackRecord[] {
  if (file.v !== 1 || !Array.isArray(file.packs)) throw new RepriseError('REPRISE_INTEGRITY', `${what}: not an index file of format 1`);
  return file.packs.map((p) => ({
    id: p.id,
    size: p.size,
    entries: p.blobs.map(([id, type, offset, length, rawLength]) => indexedEntry(id, type, offset, length, rawLength, p.id)),
  }));
}

/**
 * Writes an index file listing `packs` (already uploaded) and returns its id (SHA-256 of the
 * stored bytes) and size. Throws REPRISE_STORAGE*. Not idempotent (fresh nonce).
 */
export async function writeIndexFile(
  backend: Backend,
  encKey: Uint8Array,
  packs: PackRecord[],
  signal?: AbortSignal,
): Promise<{ id: string; size: number }> {
  const file: IndexFile = {
    v: 1,
    packs: packs.map((p) => ({ id: p.id, size: p.size, blobs: p.entries.map((e) => [e.id, e.type, e.offset, e.length, e.rawLength]) })),
  };
  const bytes = sealJson(encKey, file);
  const id = sha256Hex(bytes);
  try {
    await backend.put(`${PREFIX_INDEX}${id}`, bytes, signal ? { signal } : {});
  } catch (err) {
    throw storageFailure(err, `write index ${id}`);
  }
  return { id, size: bytes.length };
}
