import { RepriseError } from '../core/errors.js';
import { StorageError, type Backend } from '../storage/backend.js';
import type { ChunkerParams } from './api.js';
import type { BufferPool } from './buffer-pool.js';
import type { MasterKeys } from './crypto.js';
import type { FileCache } from './file-cache.js';
import type { IndexStore } from './index-store.js';
import type { SnapshotFiles } from './snapshot-files.js';
import type { WorkerPool } from './worker-pool.js';

/** What the modules of an open repository share. Internal to repo/. */
export interface RepoContext {
  readonly id: string;
  readonly backend: Backend;
  readonly keys: MasterKeys;
  readonly index: IndexStore;
  /** Local copies of the remote files that never change (see FileCache); `check` bypasses it. */
  readonly cache: FileCache;
  /** Snapshot files, read once (cached). `check` reads the stored files instead. */
  readonly snapshots: SnapshotFiles;
  readonly pool: WorkerPool;
  /** Recycled chunk and pack buffers (main thread only). */
  readonly buffers: BufferPool;
  readonly gear: Uint32Array;
  readonly chunker: ChunkerParams;
  readonly hostname: string;
  readonly now: () => number;
  /** Write an index file after this many uploaded packs during a backup. */
  readonly indexFlushPacks: number;
}

/**
 * Turns a backend failure into the registry's storage error (not-found, permission, other),
 * naming the operation. Leaves RepriseErrors and aborts as they are. Never throws; pure.
 */
export function storageFailure(err: unknown, operation: string): RepriseError {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')) {
    return new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
  }
  if (err instanceof StorageError) {
    if (err.kind === 'not_found') return new RepriseError('REPRISE_STORAGE_NOT_FOUND', `${operation}: ${err.message}`, { cause: err });
    if (err.kind === 'permission') return new RepriseError('REPRISE_STORAGE_PERMISSION', `${operation}: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new RepriseError('REPRISE_STORAGE', `${operation}: ${message}`, { cause: err });
}

/** Throws REPRISE_ABORTED when `signal` is aborted. Pure. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: signal.reason });
}

/** Every key under `prefix` with its size. Throws REPRISE_STORAGE*. */
export async function listAll(backend: Backend, prefix: string, signal?: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for await (const info of backend.list(prefix, signal)) out.set(info.key, info.size);
  } catch (err) {
    throw storageFailure(err, `list ${prefix}`);
  }
  return out;
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping order. Rejects with the
 * first failure (remaining calls are not started).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function lane(): Promise<void> {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
