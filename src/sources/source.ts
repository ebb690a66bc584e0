import type { Readable } from 'node:stream';

/**
 * The source seam. A source turns a system (a file tree, a database) into named parts, each a
 * byte stream with metadata, and back. It knows nothing of the repository: the engine chunks,
 * deduplicates and stores what `dump` yields, and hands the parts back to `restore`.
 */

export type PartType = 'file' | 'dir' | 'symlink';

/** A byte stream: a Node Readable or any async iterable of chunks. */
export type ByteStream = Readable | AsyncIterable<Uint8Array>;

/** What is recorded about each part in the snapshot manifest. */
export interface PartMeta {
  /** Unique within the snapshot, '/'-separated, relative (e.g. `docs/a.txt`, `toc.dat`, `globals.sql`). */
  name: string;
  type: PartType;
  /** POSIX mode bits (permissions and type bits as lstat gives them). */
  mode?: number;
  mtimeMs?: number;
  uid?: number;
  gid?: number;
  /** For symlinks: where the link points, as stored in the link. */
  linkTarget?: string;
  /** Raw size in bytes, when known before reading. */
  size?: number;
  /**
   * A fingerprint of the content that is cheap to compute (files: size, mtime, ctime, inode).
   * When it equals the previous snapshot's for the same name, the engine reuses the previous
   * content without calling `open()`.
   */
  changeKey?: string;
  /** Source-specific facts a restore needs (e.g. a dump format), JSON-serialisable, never secrets. */
  extra?: Record<string, unknown>;
}

/** A part's content that is a regular file on this machine, which the engine may read itself. */
export interface LocalFile {
  path: string;
  /** The source's error for a failure to read it (`cause` carries the errno `code` when there is one). */
  unreadable: (cause: Error) => Error;
}

export interface DumpPart extends PartMeta {
  /** For `file` parts: opens the content. Called at most once; not called when the engine reuses content. */
  open?: () => ByteStream;
  /**
   * For `file` parts whose content is a local regular file: the engine may read it in a worker
   * thread instead of calling `open()` (reads, hashing and chunking then use every core).
   */
  localFile?: LocalFile;
}

/** A new file `RestorePart.writeFile` creates: where, and the attributes it ends with. */
export interface RestoredFile {
  path: string;
  /** Permission bits (0o7777 at most). */
  mode: number;
  mtimeMs?: number;
  /** Only when the restore may change owners (running as root). */
  owner?: { uid: number; gid: number };
  /**
   * Once finished, rename the file to this path (same directory). When that rename fails the
   * file stays at `path`, verified, and writeFile rejects with an Error carrying the errno
   * `code` and `renameFailed: true`, for the source to move it itself.
   */
  renameTo?: string;
}

export interface RestorePart extends PartMeta {
  /** For `file` parts: the content, verified chunk by chunk as it is read. Must be consumed or abandoned before the next part. */
  content?: () => ByteStream;
  /**
   * For `file` parts, instead of `content`: writes the verified content into a new file at
   * `file.path` (created exclusively; removed on failure) off the main thread, then sets its
   * owner, mode and times. Several may run at once, in any order. Resolves to the bytes
   * written; rejects with REPRISE_INTEGRITY, REPRISE_STORAGE*, REPRISE_ABORTED, or a file-system
   * Error carrying its errno `code`.
   */
  writeFile?: (file: RestoredFile) => Promise<number>;
}

export interface SourceInfo {
  /** e.g. `postgres`, `files`. */
  kind: string;
  /** Human description of what is backed up, without secrets (e.g. `postgres://app@db:5432/app`). */
  location: string;
  /** Versions of the server and of the tools used, e.g. `{ server: '15.4', pg_dump: '15.4' }`. */
  versions: Record<string, string>;
  /** Approximate size of the data in bytes, when the source can tell. */
  sizeBytes?: number;
  /** Anything a restore needs to know (encoding, extensions…), JSON-serialisable. */
  facts: Record<string, unknown>;
}

/** The state of a restore target before anything is written into it. */
export interface TargetState {
  exists: boolean;
  /** True when there is nothing a restore could overwrite. */
  empty: boolean;
  /** Human description without secrets. */
  location: string;
}

export interface RestoreOptions {
  /** Path or URL to restore into; its meaning belongs to the source type. */
  target: string;
  /** Overwrite a non-empty target. The engine has taken a safety snapshot before passing true. */
  force: boolean;
  /**
   * Flush what was written to stable storage before resolving. Off by default, as with cp, tar
   * and restic: the repository still holds the data, so a restore cut short by a power loss is
   * simply run again.
   */
  sync?: boolean;
  /** The SourceInfo recorded at backup time. */
  info: SourceInfo;
  signal: AbortSignal;
}

export interface RestoreResult {
  /** Human description of where the data went. */
  location: string;
  parts: number;
  bytes: number;
}

export interface VerifyResult {
  ok: boolean;
  /** Named measurements (row counts, integrity check results…). */
  measurements: Record<string, unknown>;
  problems: string[];
}

export interface Source {
  /**
   * zstd level that suits this kind of data, when not the repository's default (3): measured per
   * kind (docs/benchmarks.md). `compression_level` in the source's config overrides it.
   */
  readonly compressionLevel?: number;
  /**
   * True when `restore` does not depend on the order of the parts: the engine then hands it
   * directories and links first, and files in an order that keeps the worker threads writing
   * them in different directories (engine/lane-schedule.ts). Otherwise parts come in snapshot order.
   */
  readonly restoresInAnyOrder?: boolean;
  readonly kind: string;
  /** The name under `sources:` in the configuration. */
  readonly name: string;
  /** Reads versions and size; throws RepriseError (SOURCE_*, TOOL_*) before any work is done. */
  inspect(signal: AbortSignal): Promise<SourceInfo>;
  /**
   * Yields the parts of one consistent dump. The consumer reads each part's stream fully before
   * pulling the next. A failing dump tool throws (REPRISE_TOOL_FAILED), never ends a stream early
   * as if it were complete. Cleans up temporary files when the iteration ends or is abandoned.
   */
  dump(signal: AbortSignal): AsyncIterable<DumpPart>;
  /** What is at `target` now. Idempotent, writes nothing. */
  probeTarget(target: string, signal: AbortSignal): Promise<TargetState>;
  /**
   * Writes the parts into the target. Refuses a non-empty target unless `force`
   * (REPRISE_TARGET_NOT_EMPTY). An interrupted restore leaves no half-written object under its final name.
   */
  restore(parts: AsyncIterable<RestorePart>, options: RestoreOptions): Promise<RestoreResult>;
  /** Measures a restored target (integrity checks, counts) for drills. */
  verify(target: string, signal: AbortSignal): Promise<VerifyResult>;
  /** A source of the same type that reads `target`: the engine uses it for safety snapshots. */
  forTarget(target: string): Source;
}
