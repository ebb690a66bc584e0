/**
 * The storage seam. A backend stores opaque keys (the layout belongs to repo/) and knows
 * nothing of the repository format. One conformance suite (test/integration/storage/conformance.ts)
 * runs against every implementation.
 */

/** Why a storage call failed: only `transient` failures are retried by the retry wrapper. */
export type StorageErrorKind = 'not_found' | 'permission' | 'transient' | 'exists' | 'fatal';

export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  readonly key: string | undefined;
  constructor(kind: StorageErrorKind, message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.kind = kind;
    this.key = options.key;
  }
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  offset: number;
  /** Number of bytes to read. */
  length: number;
}

export interface PutOptions {
  /**
   * Fail with kind `exists` if the key is already there (where the store can tell atomically;
   * local disk and memory always can, S3 uses If-None-Match when the server supports it).
   */
  createOnly?: boolean;
  signal?: AbortSignal;
}

export interface Backend {
  /** A human-readable location, without credentials (e.g. `s3://bucket/prefix`). */
  readonly location: string;
  /**
   * Stores `body` under `key` atomically: a reader sees nothing or the whole object.
   * Idempotent for the same body. Throws StorageError.
   */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  /** Reads a whole object or a byte range. Throws StorageError kind `not_found` when absent. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array>;
  /** Size of an object, or undefined when absent. */
  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** Removes an object; deleting a missing key is not an error (idempotent). */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Releases connections and handles. Idempotent. */
  close(): Promise<void>;
  /**
   * The path of the plain file that holds `key`, when objects are local files another thread may
   * read directly (read only); absent or undefined otherwise. Does no I/O: the file may not exist.
   * Throws StorageError `fatal` for a key the backend could never store.
   */
  localFile?(key: string): string | undefined;
}
