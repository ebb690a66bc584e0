import { StorageError, type StorageErrorKind } from '../backend.js';

const KIND_BY_ERRNO: Record<string, StorageErrorKind> = {
  ENOENT: 'not_found',
  ENOTDIR: 'not_found',
  EACCES: 'permission',
  EPERM: 'permission',
  EROFS: 'permission',
  EEXIST: 'exists',
  EMFILE: 'transient',
  ENFILE: 'transient',
  EAGAIN: 'transient',
  EBUSY: 'transient',
  EINTR: 'transient',
  ETIMEDOUT: 'transient',
};

/** The storage kind for a Node fs error code; anything unknown (ENOSPC, EIO, EISDIR…) is `fatal`. Never throws. */
export function kindOfErrno(code: string | undefined): StorageErrorKind {
  return (code !== undefined && KIND_BY_ERRNO[code]) || 'fatal';
}

/**
 * Wraps a Node fs error into a StorageError naming the operation and key. Abort errors and
 * StorageErrors are returned unchanged so callers can rethrow whatever comes back. Never throws.
 */
export function fromFsError(err: unknown, op: string, key: string): unknown {
  if (err instanceof StorageError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(kindOfErrno(code), `${op} ${key}: ${message}`, { key, cause: err });
}
