import type { RepositoryHandle } from '../repo/api.js';

/**
 * Runs `work` holding a repository lock; the signal given to `work` aborts when the caller's
 * signal does or when the lock is lost. The lock is always released. Rethrows what `work` throws.
 */
export async function withRepoLock<T>(
  repo: RepositoryHandle,
  mode: 'shared' | 'exclusive',
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const lock = await repo.lock(mode, signal);
  try {
    return await work(AbortSignal.any([signal, lock.signal]));
  } finally {
    await lock.release();
  }
}
