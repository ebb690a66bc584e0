import type { Backend } from '../storage/backend.js';
import type { ContentChecksum } from './content-checksum.js';
import type { FileTarget } from './reader.js';
import type { ByteStream, LocalFile, PartMeta, SourceInfo } from '../sources/source.js';

/**
 * The contract between the repository (repo/) and its users (engine/). repo/repository.ts
 * implements it; the engine only uses what is declared here.
 */

export interface ChunkerParams {
  /** Average chunk size in bytes, a power of two (default chosen by measurement, see docs/benchmarks.md). */
  avgSize: number;
  minSize: number;
  maxSize: number;
}

export interface OpenOptions {
  backend: Backend;
  password: string;
  /** Recorded in locks and snapshots; defaults to os.hostname(). */
  hostname?: string;
  signal?: AbortSignal;
  /**
   * A full read-data check comes next: start verifying the packs of a local repository as soon as
   * the keys are known, while the index loads (see PackReadAhead in check.ts).
   */
  verifyAhead?: boolean;
  /**
   * A folder where files that never change (snapshot and index files, sealed as stored) are kept
   * between runs, so a remote repository is not asked for them again (see FileCache). Not used
   * for local backends. Default: none (the CLI passes defaultCacheRoot(), core/cache-dir.ts).
   */
  cacheDir?: string | undefined;
}

export interface InitOptions extends OpenOptions {
  chunker?: Partial<ChunkerParams>;
}

/** A part as stored: its metadata plus where its content is. */
export interface PartEntry extends PartMeta, ContentChecksum {
  /** Chunk ids (hex) in order; empty for dirs, symlinks and empty files. */
  chunks: string[];
  /** Raw size of the content. */
  size: number;
}

export interface SnapshotHeader {
  /** The source name under `sources:`. */
  source: string;
  sourceKind: string;
  tags: string[];
  info: SourceInfo;
  /** The snapshot this one was made against (for unchanged-file reuse), if any. */
  parent?: string;
}

export interface SnapshotSummary extends SnapshotHeader {
  /** 64 hex chars. */
  id: string;
  /** ISO 8601. */
  time: string;
  host: string;
  /** Number of parts (files, dirs, links, dump files). */
  parts: number;
  /** Raw bytes of all parts. */
  size: number;
  /** Stored bytes (after dedup, compression, encryption) this snapshot added when written. */
  added: number;
}

export interface Snapshot extends SnapshotSummary {
  /** Loads the part list (it can be large: it is stored as chunked data, not in the snapshot file). */
  loadParts(signal?: AbortSignal): Promise<PartEntry[]>;
}

export interface WriterStats {
  partsNew: number;
  partsReused: number;
  bytesRead: number;
  chunksNew: number;
  chunksDeduped: number;
  /** Stored bytes added (compressed + encrypted, including pack headers and index). */
  bytesAdded: number;
}

export interface SnapshotWriter {
  /**
   * Chunks, deduplicates, compresses, encrypts and packs `content` (for `file` parts) and
   * returns the entry to record. Throws RepriseError; respects the writer's AbortSignal.
   */
  addPart(meta: PartMeta, content?: ByteStream): Promise<PartEntry>;
  /**
   * As addPart for a `file` part whose content is a local file, read, chunked and sealed in a
   * worker thread. Several may run at once: the part keeps the place of the call in the
   * snapshot. Read failures are thrown as `file.unreadable(cause)`.
   */
  addLocalFile(meta: PartMeta, file: LocalFile): Promise<PartEntry>;
  /** Records a part whose content is unchanged since `previous` (its chunks are known to exist). */
  reusePart(meta: PartMeta, previous: PartEntry): PartEntry;
  /** Flushes packs and index, then writes the snapshot file last. Returns the new snapshot. */
  commit(header: SnapshotHeader): Promise<SnapshotSummary>;
  /** Stops without writing a snapshot; data already uploaded is left for prune. Idempotent. */
  abort(): Promise<void>;
  readonly stats: WriterStats;
}

export interface WriterOptions {
  signal: AbortSignal;
  chunker?: Partial<ChunkerParams>;
  /** zstd level for content read from local files (1-19); the repository default (3) otherwise. */
  compressionLevel?: number;
  /** Called as bytes are read, for progress bars. */
  onProgress?: (stats: WriterStats) => void;
}

export interface CheckOptions {
  /** Decrypt and hash every chunk (true), a percentage of packs (number 0-100), or structure only. */
  readData?: boolean | number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface CheckReport {
  ok: boolean;
  packsChecked: number;
  bytesChecked: number;
  /** Pack ids that failed (missing, truncated, bad tag, wrong hash). */
  damagedPacks: string[];
  /** Snapshot ids that reference damaged or missing data. */
  affectedSnapshots: string[];
  /** Human-readable problems, one per line. */
  errors: string[];
}

export interface PruneOptions {
  dryRun?: boolean;
  /** Repack a pack whose unused share exceeds this fraction (default 0.5). */
  repackThreshold?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface PruneReport {
  packsDeleted: number;
  packsRepacked: number;
  bytesFreed: number;
  chunksRemoved: number;
}

export interface CopyReport {
  snapshotsCopied: number;
  snapshotsSkipped: number;
  chunksUploaded: number;
  bytesUploaded: number;
}

export interface RepoStats {
  snapshots: number;
  /** Sum of the raw sizes of all snapshots. */
  rawBytes: number;
  /** Raw bytes of unique chunks. */
  uniqueBytes: number;
  /** Bytes in storage (packs + index + snapshots). */
  storedBytes: number;
  chunks: number;
  packs: number;
  /** rawBytes / uniqueBytes. */
  dedupRatio: number;
  /** uniqueBytes / stored pack bytes. */
  compressionRatio: number;
}

export interface KeyInfo {
  id: string;
  created: string;
  host: string;
  /** True for the key that opened this session. */
  current: boolean;
}

export interface RepoLock {
  readonly mode: 'shared' | 'exclusive';
  /** Aborted when the lock could not be refreshed: the holder must stop. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface RepositoryHandle {
  readonly id: string;
  readonly backend: Backend;
  /** Takes a lock; throws REPRISE_REPO_LOCKED (naming holder host/pid/age) on conflict. */
  lock(mode: 'shared' | 'exclusive', signal?: AbortSignal): Promise<RepoLock>;
  /** Starts a snapshot; the caller holds a shared lock. */
  newWriter(options: WriterOptions): SnapshotWriter;
  listSnapshots(signal?: AbortSignal): Promise<SnapshotSummary[]>;
  /** By full id or unique prefix; throws REPRISE_SNAPSHOT_NOT_FOUND / REPRISE_SNAPSHOT_AMBIGUOUS. */
  loadSnapshot(idOrPrefix: string, signal?: AbortSignal): Promise<Snapshot>;
  /** The content of a part, each chunk verified; throws REPRISE_INTEGRITY on damage, never yields bad bytes. */
  readPart(part: PartEntry, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * Writes the content of a part into a new local file in a worker thread, each chunk and the
   * whole file verified first; see RestorePart.writeFile. Resolves to the bytes written. `lane`
   * (0 to writerLanes − 1) names the worker; the least busy one by default.
   */
  writePartFile(part: PartEntry, target: FileTarget, signal?: AbortSignal, lane?: number): Promise<number>;
  /** Worker threads that write restored files (writePartFile's lanes). */
  readonly writerLanes: number;
  /** Removes snapshot files (data stays until prune). Caller holds an exclusive lock. Idempotent. */
  forgetSnapshots(ids: string[], signal?: AbortSignal): Promise<void>;
  check(options?: CheckOptions): Promise<CheckReport>;
  /** Caller holds an exclusive lock. */
  prune(options?: PruneOptions): Promise<PruneReport>;
  /** Copies snapshots into `destination`, uploading only chunks it lacks. Idempotent. */
  copySnapshots(destination: RepositoryHandle, ids: string[], signal?: AbortSignal): Promise<CopyReport>;
  stats(signal?: AbortSignal): Promise<RepoStats>;
  addKey(password: string): Promise<KeyInfo>;
  listKeys(): Promise<KeyInfo[]>;
  /** Throws REPRISE_KEY_LAST for the only key, REPRISE_KEY_NOT_FOUND for an unknown id. */
  removeKey(id: string): Promise<void>;
  /** Removes locks whose holder stopped refreshing them; returns how many. */
  removeStaleLocks(): Promise<number>;
  close(): Promise<void>;
}
