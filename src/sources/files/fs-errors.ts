import { RepriseError } from '../../core/errors.js';

/** The errno code of a Node fs error, if any. Never throws. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wraps an fs failure while reading the source as REPRISE_SOURCE_UNREADABLE naming the path.
 * Never throws (returns the error). An AbortError passes through unchanged so that it keeps
 * its meaning (REPRISE_ABORTED once mapped by toRepriseError).
 */
export function sourceUnreadable(path: string, err: unknown, what = 'cannot read'): Error {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = errnoCode(err);
  const hint =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'The file disappeared or was replaced while the backup ran; run the backup again (exclude paths that change constantly).'
      : code === 'EACCES' || code === 'EPERM'
        ? 'Run reprise as a user that may read every file under the source path, or exclude this path.'
        : undefined;
  return new RepriseError('REPRISE_SOURCE_UNREADABLE', `${what} ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`, {
    cause: err,
    details: { path, ...(code ? { errno: code } : {}) },
    ...(hint ? { hint } : {}),
  });
}

/**
 * Wraps an fs failure while writing the restore target as REPRISE_TARGET_UNREACHABLE naming
 * the path. Never throws (returns the error); RepriseErrors and AbortErrors pass through.
 */
export function targetUnwritable(path: string, err: unknown): Error {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = errnoCode(err);
  return new RepriseError('REPRISE_TARGET_UNREACHABLE', `cannot write ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`, {
    cause: err,
    details: { path, ...(code ? { errno: code } : {}) },
  });
}
