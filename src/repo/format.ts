import { randomBytes } from 'node:crypto';
import type { ChunkerParams } from './api.js';

/**
 * Constants of the on-storage format. docs/repository-format.md describes every byte; changing a
 * value here that is written to storage needs a new FORMAT_VERSION.
 */

/**
 * The repository format this build writes; it reads every version up to this one. 2 (2026-12-04):
 * parts and part lists carry `crc32` instead of `sha256`, packs are named at random (ADR 0005).
 */
export const FORMAT_VERSION = 2;

/** First bytes of the `config` object, before the version and the sealed JSON. */
export const CONFIG_MAGIC = 'RPRS';

/** Chunker defaults: chosen by measurement (see docs/repository-format.md). */
export const DEFAULT_CHUNKER: ChunkerParams = {
  avgSize: 1 << 20,
  minSize: 1 << 19,
  maxSize: 1 << 23,
};

/**
 * A pack is closed once its blobs reach this many bytes. 8 MiB rather than 16: a backup holds
 * about three pack buffers (filling, uploading, one spare), and on the 1 GiB files bench 8 MiB
 * packs took peak RSS from ~270 to ~243 MiB for ~2% more time.
 */
export const PACK_TARGET_SIZE = 8 << 20;

/** zstd level for chunk payloads (3 compresses ~7% better than 1 at ~the same speed here). */
export const ZSTD_LEVEL = 3;

/** AES-256-GCM nonce and tag sizes. */
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
/** Bytes a sealed object adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_SIZE + TAG_SIZE;

/** Blob plaintext flag byte (first byte inside the encryption). */
export const BLOB_RAW = 0;
export const BLOB_ZSTD = 1;

/** Blob types, as stored in pack headers and index files. */
export const BLOB_TYPE = { data: 0, tree: 1 } as const;
export type BlobType = keyof typeof BLOB_TYPE;

/** scrypt parameters for new keys (~0.1 s here; see docs). */
export const SCRYPT_DEFAULT = { N: 1 << 15, r: 8, p: 1 } as const;

/** Storage key layout. */
export const KEY_CONFIG = 'config';
export const PREFIX_KEYS = 'keys/';
export const PREFIX_DATA = 'data/';
export const PREFIX_INDEX = 'index/';
export const PREFIX_SNAPSHOTS = 'snapshots/';
export const PREFIX_LOCKS = 'locks/';

/**
 * A new pack's id: 32 random bytes, hex. Packs written before 2026-12-04 are named by the SHA-256
 * of their bytes; nothing relies on either (every byte of a pack is authenticated by its blobs'
 * and header's GCM tags, and readers find packs through the index), and a random name spares
 * hashing every stored byte once more. Never throws.
 */
export function newPackId(): string {
  return randomBytes(32).toString('hex');
}

/** Storage key of a pack. */
export function packKey(packId: string): string {
  return `${PREFIX_DATA}${packId.slice(0, 2)}/${packId}`;
}

/** Lock timing defaults. */
export const LOCK_REFRESH_MS = 60_000;
export const LOCK_STALE_MS = 5 * 60_000;

/** Write an index file after this many packs during a long backup, so a crash loses little. */
export const INDEX_FLUSH_PACKS = 8;
