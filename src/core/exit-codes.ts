/**
 * Stable process exit codes, shared by every command. Documented in docs/errors.md and in each
 * command's --help; changing a value is a breaking change.
 */
export const EXIT = {
  OK: 0,
  /** Something failed that has no more specific code. */
  FAILURE: 1,
  /** Bad command-line usage or an invalid configuration file. */
  USAGE: 2,
  /** The command ran but part of the work failed (e.g. one source of several). */
  PARTIAL: 3,
  /** The repository does not exist or cannot be reached. */
  REPO_MISSING: 10,
  /** The repository is locked by another process. */
  REPO_LOCKED: 11,
  /** No key of the repository opens with the given password. */
  WRONG_PASSWORD: 12,
  /** Stored data is damaged: a pack, an index or a snapshot failed verification. */
  INTEGRITY: 13,
  /** A source could not be read or dumped (server down, dump tool failed, file unreadable). */
  SOURCE: 14,
  /** A restore target refused the operation (not empty without --force, unreachable). */
  TARGET: 15,
  /** Storage backend failure (permission, network) that retries did not cure. */
  STORAGE: 16,
  /** The catalog (history database) could not be opened or written. */
  CATALOG: 17,
  /** Interrupted by a signal (Ctrl-C); nothing half-written was left. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
