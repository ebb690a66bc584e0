import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import type { Backend } from '../storage/backend.js';
import type {
  ChunkerParams,
  CheckOptions,
  CheckReport,
  CopyReport,
  InitOptions,
  KeyInfo,
  OpenOptions,
  PartEntry,
  PruneOptions,
  PruneReport,
  RepoLock,
  RepoStats,
  RepositoryHandle,
  Snapshot,
  SnapshotSummary,
  SnapshotWriter,
  WriterOptions,
} from './api.js';
import { BufferPool } from './buffer-pool.js';
import { PackReadAhead, checkRepository } from './check.js';
import { gearTable, resolveChunkerParams, validateChunkerParams } from './chunker.js';
import { listAll, storageFailure, type RepoContext } from './context.js';
import { copySnapshots } from './copy.js';
import { newMasterKeys, randomHex, sealJson, unsealJson, type MasterKeys } from './crypto.js';
import {
  CONFIG_MAGIC,
  DEFAULT_CHUNKER,
  FORMAT_VERSION,
  INDEX_FLUSH_PACKS,
  KEY_CONFIG,
  PREFIX_DATA,
  PREFIX_INDEX,
  PREFIX_KEYS,
  PREFIX_SNAPSHOTS,
} from './format.js';
import { FileCache } from './file-cache.js';
import { IndexStore } from './index-store.js';
import { addKeyFile, listKeyFiles, openWithPassword, removeKeyFile } from './keys.js';
import { DEFAULT_LOCK_TIMING, acquireLock, removeStaleLocks, type LockTiming } from './lock.js';
import { pruneRepository } from './prune.js';
import { loadTree, readPart, writePartFile, type FileTarget } from './reader.js';
import { SnapshotFiles } from './snapshot-files.js';
import { listSnapshotIds } from './snapshot-store.js';
import { WorkerPool, defaultPoolSize } from './worker-pool.js';
import { Writer } from './writer.js';

/** `config` plaintext (sealed with the master key after the magic and version). */
interface ConfigFile {
  version: number;
  id: string;
  chunker: ChunkerParams;
  /** base64, 32 bytes: seeds the gear table. */
  gearSeed: string;
  created: string;
}

/** Options beyond the contract: tuning and fakes for tests (never needed in production). */
export interface RepositoryTuning {
  /** Lock refresh and staleness (defaults 60 s / 5 min). */
  lockTiming?: Partial<LockTiming>;
  /** Clock for locks and snapshot times (default Date.now). */
  clock?: () => number;
  /** Worker threads for compression, encryption and verification (default: cores, at most 4). */
  workers?: number;
  /** Index file written every this many packs during a backup (default 8): less to redo after a crash. */
  indexFlushPacks?: number;
}

function encodeConfig(encKey: Uint8Array, config: ConfigFile): Buffer {
  const head = Buffer.alloc(8);
  head.write(CONFIG_MAGIC, 0, 'latin1');
  head.writeUInt32LE(config.version, 4);
  return Buffer.concat([head, sealJson(encKey, config)]);
}

/** Reads the config's clear version; throws REPRISE_REPO_FORMAT for a newer or unknown format. */
function configVersion(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== CONFIG_MAGIC) {
    throw new RepriseError('REPRISE_REPO_FORMAT', 'the `config` object is not a Reprise repository config');
  }
  const version = buf.readUInt32LE(4);
  if (version < 1 || version > FORMAT_VERSION) {
    throw new RepriseError('REPRISE_REPO_FORMAT', `repository format ${version}; this build reads formats 1 to ${FORMAT_VERSION}`);
  }
  return version;
}

/** A content-addressed, deduplicating, compressed and encrypted repository on a Backend. */
export class Repository implements RepositoryHandle {
  private readonly ctx: RepoContext;
  private readonly lockTiming: LockTiming;
  private closed = false;
  /** Packs being verified since the repository was opened with `verifyAhead`, for the first check. */
  private readAhead: PackReadAhead | undefined;

  private constructor(
    readonly backend: Backend,
    private readonly keyId: string,
    keys: MasterKeys,
    config: ConfigFile,
    hostname: string,
    tuning: RepositoryTuning & Pick<OpenOptions, 'cacheDir'>,
  ) {
    this.lockTiming = { ...DEFAULT_LOCK_TIMING, ...tuning.lockTiming };
    const gear = gearTable(Buffer.from(config.gearSeed, 'base64'));
    const cache = FileCache.for(backend, config.id, tuning.cacheDir);
    this.ctx = {
      id: config.id,
      backend,
      keys,
      index: new IndexStore(cache),
      cache,
      snapshots: new SnapshotFiles(backend, keys.encKey, cache),
      pool: new WorkerPool({ ...keys, gear }, tuning.workers ?? defaultPoolSize()),
      buffers: new BufferPool(),
      gear,
      chunker: config.chunker,
      hostname,
      now: tuning.clock ?? Date.now,
      indexFlushPacks: tuning.indexFlushPacks ?? INDEX_FLUSH_PACKS,
    };
  }

  get id(): string {
    return this.ctx.id;
  }

  /** Internal state for copy between two repositories of this implementation. */
  get context(): RepoContext {
    return this.ctx;
  }

  /**
   * Creates a repository: key file first, then `config` (create-only), so a race of two inits
   * leaves one repository. Throws REPRISE_REPO_EXISTS, REPRISE_USAGE (chunker params),
   * REPRISE_STORAGE*. Not idempotent.
   */
  static async init(options: InitOptions & RepositoryTuning): Promise<Repository> {
    const { backend } = options;
    options.signal?.throwIfAborted();
    const existing = (await backend.stat(KEY_CONFIG).catch((err: unknown) => Promise.reject(storageFailure(err, 'stat config')))) ?? undefined;
    if (existing || (await listAll(backend, PREFIX_KEYS)).size > 0) {
      throw new RepriseError('REPRISE_REPO_EXISTS', `a repository already exists at ${backend.location}`);
    }
    const chunker = resolveChunkerParams(DEFAULT_CHUNKER, options.chunker);
    validateChunkerParams(chunker);
    const keys = newMasterKeys();
    const now = options.clock ?? Date.now;
    const host = options.hostname ?? osHostname();
    const config: ConfigFile = {
      version: FORMAT_VERSION,
      id: randomHex(32),
      chunker,
      gearSeed: randomBytes(32).toString('base64'),
      created: new Date(now()).toISOString(),
    };
    const key = await addKeyFile(backend, keys, options.password, { host, now });
    try {
      await backend.put(KEY_CONFIG, encodeConfig(keys.encKey, config), { createOnly: true });
    } catch (err) {
      await backend.delete(`${PREFIX_KEYS}${key.id}`).catch(() => undefined);
      if ((err as { kind?: string }).kind === 'exists') throw new RepriseError('REPRISE_REPO_EXISTS', `a repository already exists at ${backend.location}`);
      throw storageFailure(err, 'write config');
    }
    return new Repository(backend, key.id, keys, config, host, options);
  }

  /**
   * Opens a repository and loads its index. Throws REPRISE_REPO_NOT_FOUND, REPRISE_REPO_FORMAT,
   * REPRISE_WRONG_PASSWORD, REPRISE_INTEGRITY, REPRISE_STORAGE*. Idempotent.
   */
  static async open(options: OpenOptions & RepositoryTuning): Promise<Repository> {
    const { backend, signal } = options;
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(KEY_CONFIG, undefined, signal);
    } catch (err) {
      if ((err as { kind?: string }).kind === 'not_found') {
        throw new RepriseError('REPRISE_REPO_NOT_FOUND', `no repository at ${backend.location}`);
      }
      throw storageFailure(err, 'read config');
    }
    configVersion(bytes);
    const { keyId, master } = await openWithPassword(backend, options.password);
    const config = unsealJson<ConfigFile>(master.encKey, bytes.subarray(8), 'config');
    const repo = new Repository(backend, keyId, master, config, options.hostname ?? osHostname(), options);
    if (options.verifyAhead) repo.readAhead = PackReadAhead.start(repo.ctx, signal);
    try {
      await repo.ctx.index.load(backend, master.encKey, signal);
    } catch (err) {
      await repo.close();
      throw err;
    }
    return repo;
  }

  private lockDeps() {
    return { backend: this.backend, encKey: this.ctx.keys.encKey, host: this.ctx.hostname, now: this.ctx.now, timing: this.lockTiming };
  }

  /** See RepositoryHandle.lock. */
  lock(mode: 'shared' | 'exclusive', signal?: AbortSignal): Promise<RepoLock> {
    return acquireLock(this.lockDeps(), mode, signal);
  }

  /** See RepositoryHandle.removeStaleLocks. */
  removeStaleLocks(): Promise<number> {
    return removeStaleLocks(this.lockDeps());
  }

  newWriter(options: WriterOptions): SnapshotWriter {
    return new Writer(this.ctx, options);
  }

  async listSnapshots(signal?: AbortSignal): Promise<SnapshotSummary[]> {
    return (await this.ctx.snapshots.readAll(signal)).map((s) => s.summary);
  }

  private async resolveId(idOrPrefix: string, signal?: AbortSignal): Promise<string> {
    const ids = await listSnapshotIds(this.backend, signal);
    const matches = idOrPrefix === '' ? [] : ids.filter((id) => id.startsWith(idOrPrefix));
    if (matches.length === 0) throw new RepriseError('REPRISE_SNAPSHOT_NOT_FOUND', `no snapshot matches ${idOrPrefix}`);
    if (matches.length > 1) throw new RepriseError('REPRISE_SNAPSHOT_AMBIGUOUS', `${matches.length} snapshots match ${idOrPrefix}`);
    return matches[0] as string;
  }

  async loadSnapshot(idOrPrefix: string, signal?: AbortSignal): Promise<Snapshot> {
    const id = await this.resolveId(idOrPrefix, signal);
    const { summary, file } = await this.ctx.snapshots.read(id, signal);
    // The snapshot may come from another process since this one opened the repository.
    await this.ctx.index.refresh(this.backend, this.ctx.keys.encKey, signal);
    const ctx = this.ctx;
    return {
      ...summary,
      async loadParts(partsSignal?: AbortSignal): Promise<PartEntry[]> {
        return loadTree(ctx, file.tree, partsSignal ?? signal);
      },
    };
  }

  readPart(part: PartEntry, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return readPart(this.ctx, part, signal);
  }

  writePartFile(part: PartEntry, target: FileTarget, signal?: AbortSignal, lane?: number): Promise<number> {
    return writePartFile(this.ctx, part, target, signal, lane);
  }

  get writerLanes(): number {
    return this.ctx.pool.threads;
  }

  async forgetSnapshots(ids: string[], signal?: AbortSignal): Promise<void> {
    const existing = await listSnapshotIds(this.backend, signal);
    for (const idOrPrefix of ids) {
      const matches = existing.filter((id) => id.startsWith(idOrPrefix));
      if (matches.length > 1) throw new RepriseError('REPRISE_SNAPSHOT_AMBIGUOUS', `${matches.length} snapshots match ${idOrPrefix}`);
      const id = matches[0];
      if (id === undefined) continue; // already forgotten: idempotent
      try {
        await this.backend.delete(`${PREFIX_SNAPSHOTS}${id}`, signal);
      } catch (err) {
        throw storageFailure(err, `delete snapshot ${id}`);
      }
      await this.ctx.snapshots.forget(id);
    }
  }

  /** See RepositoryHandle.check. The first full read-data check uses the read-ahead `verifyAhead` started. */
  check(options?: CheckOptions): Promise<CheckReport> {
    // Handed to the first full read-data check (which stops it when done), stopped for any other.
    const readAhead = options?.readData === true ? this.readAhead : undefined;
    if (readAhead === undefined) this.readAhead?.stop();
    this.readAhead = undefined;
    return checkRepository(this.ctx, options, readAhead);
  }

  prune(options?: PruneOptions): Promise<PruneReport> {
    return pruneRepository(this.ctx, options);
  }

  async copySnapshots(destination: RepositoryHandle, ids: string[], signal?: AbortSignal): Promise<CopyReport> {
    if (!(destination instanceof Repository)) {
      throw new RepriseError('REPRISE_UNSUPPORTED', 'copy needs a destination opened by this implementation');
    }
    const full = ids.length === 0 ? await listSnapshotIds(this.backend, signal) : await Promise.all(ids.map((id) => this.resolveId(id, signal)));
    return copySnapshots(this.ctx, destination.ctx, full, signal);
  }

  async stats(signal?: AbortSignal): Promise<RepoStats> {
    await this.ctx.index.load(this.backend, this.ctx.keys.encKey, signal);
    const snapshots = await this.listSnapshots(signal);
    let storedBytes = 0;
    let packBytes = 0;
    for (const prefix of [PREFIX_DATA, PREFIX_INDEX, PREFIX_SNAPSHOTS]) {
      for (const size of (await listAll(this.backend, prefix, signal)).values()) {
        storedBytes += size;
        if (prefix === PREFIX_DATA) packBytes += size;
      }
    }
    let uniqueBytes = 0;
    for (const loc of this.ctx.index.chunks.values()) uniqueBytes += loc.rawLength;
    const rawBytes = snapshots.reduce((sum, s) => sum + s.size, 0);
    return {
      snapshots: snapshots.length,
      rawBytes,
      uniqueBytes,
      storedBytes,
      chunks: this.ctx.index.chunks.size,
      packs: this.ctx.index.packs.size,
      dedupRatio: uniqueBytes === 0 ? 1 : rawBytes / uniqueBytes,
      compressionRatio: packBytes === 0 ? 1 : uniqueBytes / packBytes,
    };
  }

  async addKey(password: string): Promise<KeyInfo> {
    return addKeyFile(this.backend, this.ctx.keys, password, { host: this.ctx.hostname, now: this.ctx.now });
  }

  listKeys(): Promise<KeyInfo[]> {
    return listKeyFiles(this.backend, this.keyId);
  }

  removeKey(id: string): Promise<void> {
    return removeKeyFile(this.backend, id);
  }

  /** Stops the worker threads; the backend stays open (its owner closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readAhead?.stop();
    await this.ctx.pool.close();
  }
}
