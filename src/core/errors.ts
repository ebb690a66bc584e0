import { EXIT, type ExitCode } from './exit-codes.js';

interface ErrorSpec {
  /** What the code means, for docs/errors.md. */
  readonly summary: string;
  /** What the operator should do; a thrower may give a more precise one. */
  readonly hint: string;
  readonly exit: ExitCode;
}

/**
 * The one registry of error codes. docs/errors.md lists every code (a test keeps both in step).
 * Add a code here, then document it there.
 */
export const ERROR_CODES = {
  REPRISE_USAGE: {
    summary: 'The command line is not valid.',
    hint: 'Run the command with --help to see its arguments.',
    exit: EXIT.USAGE,
  },
  REPRISE_CONFIG_NOT_FOUND: {
    summary: 'No configuration file was found.',
    hint: 'Create reprise.yaml in this folder, or pass -c FILE, or set REPRISE_CONFIG.',
    exit: EXIT.USAGE,
  },
  REPRISE_CONFIG_INVALID: {
    summary: 'The configuration file does not match the schema.',
    hint: 'Fix the field named in the message; `reprise config check` validates the file.',
    exit: EXIT.USAGE,
  },
  REPRISE_CONFIG_ENV_MISSING: {
    summary: 'The configuration refers to an environment variable that is not set.',
    hint: 'Export the variable, or replace ${VAR} with a value or a *_file reference.',
    exit: EXIT.USAGE,
  },
  REPRISE_SECRET_FILE_UNREADABLE: {
    summary: 'A secret file named in the configuration cannot be read.',
    hint: 'Check the path and that the file is readable by this user.',
    exit: EXIT.USAGE,
  },
  REPRISE_UNKNOWN_SOURCE: {
    summary: 'A source named on the command line is not declared in the configuration.',
    hint: 'Use a name listed under `sources:` in reprise.yaml (`reprise config check` lists them).',
    exit: EXIT.USAGE,
  },
  REPRISE_UNSUPPORTED: {
    summary: 'The operation is not supported for this kind of source, target or backend.',
    hint: 'See the configuration reference for what each type supports.',
    exit: EXIT.USAGE,
  },
  REPRISE_REPO_EXISTS: {
    summary: 'A repository already exists at the location given to `init`.',
    hint: 'Use the existing repository, or choose another location.',
    exit: EXIT.FAILURE,
  },
  REPRISE_REPO_NOT_FOUND: {
    summary: 'There is no repository at the configured location.',
    hint: 'Run `reprise init` to create it, or fix `repository.url`.',
    exit: EXIT.REPO_MISSING,
  },
  REPRISE_REPO_FORMAT: {
    summary: 'The repository uses a format version this build cannot read.',
    hint: 'Upgrade reprise to a version that supports this repository format.',
    exit: EXIT.FAILURE,
  },
  REPRISE_WRONG_PASSWORD: {
    summary: 'No key of the repository can be opened with the given password.',
    hint: 'Check REPRISE_PASSWORD (or repository.password / password_file); `reprise key list` shows the keys.',
    exit: EXIT.WRONG_PASSWORD,
  },
  REPRISE_PASSWORD_MISSING: {
    summary: 'The repository password is not configured.',
    hint: 'Set repository.password (e.g. ${REPRISE_PASSWORD}) or repository.password_file.',
    exit: EXIT.USAGE,
  },
  REPRISE_KEY_LAST: {
    summary: 'Refused to remove the only key: the repository would become unreadable.',
    hint: 'Add another key with `reprise key add` before removing this one.',
    exit: EXIT.FAILURE,
  },
  REPRISE_KEY_NOT_FOUND: {
    summary: 'No key with that id exists in the repository.',
    hint: 'List keys with `reprise key list`.',
    exit: EXIT.FAILURE,
  },
  REPRISE_REPO_LOCKED: {
    summary: 'The repository is locked by another process in a conflicting mode.',
    hint: 'Wait for the other run to finish; if it died, `reprise unlock` removes stale locks.',
    exit: EXIT.REPO_LOCKED,
  },
  REPRISE_LOCK_LOST: {
    summary: 'This process lost its repository lock (it could not be refreshed in time).',
    hint: 'Check storage latency and clock skew, then run the command again.',
    exit: EXIT.REPO_LOCKED,
  },
  REPRISE_SNAPSHOT_NOT_FOUND: {
    summary: 'No snapshot matches the id or selector given.',
    hint: 'List snapshots with `reprise snapshots`; ids may be abbreviated to a unique prefix.',
    exit: EXIT.FAILURE,
  },
  REPRISE_SNAPSHOT_AMBIGUOUS: {
    summary: 'A snapshot id prefix matches several snapshots.',
    hint: 'Give more characters of the id.',
    exit: EXIT.USAGE,
  },
  REPRISE_INTEGRITY: {
    summary: 'Stored data failed verification (bad authentication tag, wrong hash, truncated or missing pack).',
    hint: 'Run `reprise check --read-data` to list damaged packs and affected snapshots; restore from a copy (`copies:`).',
    exit: EXIT.INTEGRITY,
  },
  REPRISE_CHECK_FAILED: {
    summary: '`reprise check` found problems in the repository.',
    hint: 'Read the list of damaged packs and affected snapshots; forget those snapshots or restore from a copy.',
    exit: EXIT.INTEGRITY,
  },
  REPRISE_SOURCE_UNREADABLE: {
    summary: 'A source could not be read (missing path, permission denied, server unreachable).',
    hint: 'Check that the source exists and that this user may read it.',
    exit: EXIT.SOURCE,
  },
  REPRISE_SOURCE_AUTH: {
    summary: 'The source server refused the credentials.',
    hint: 'Check the user and password in the source url (or its *_file secret).',
    exit: EXIT.SOURCE,
  },
  REPRISE_SOURCE_NOT_FOUND: {
    summary: 'The database named by the source does not exist on the server.',
    hint: 'Check the database name in the source url.',
    exit: EXIT.SOURCE,
  },
  REPRISE_TOOL_MISSING: {
    summary: 'An external tool the source needs (pg_dump, mariadb-dump, …) is not installed.',
    hint: 'Install the client package named in the message.',
    exit: EXIT.SOURCE,
  },
  REPRISE_TOOL_TOO_OLD: {
    summary: 'An external dump tool is older than the server it must read.',
    hint: 'Install a client at least as new as the server (the message names the package).',
    exit: EXIT.SOURCE,
  },
  REPRISE_TOOL_FAILED: {
    summary: 'An external tool exited with an error; its output is in the message.',
    hint: 'Read the tool output in the message; fix the cause and run again.',
    exit: EXIT.SOURCE,
  },
  REPRISE_TARGET_NOT_EMPTY: {
    summary: 'The restore target already holds data and --force was not given.',
    hint: 'Restore into a new target, or pass --force (a safety snapshot of the target is taken first).',
    exit: EXIT.TARGET,
  },
  REPRISE_TARGET_UNREACHABLE: {
    summary: 'The restore target cannot be reached or written.',
    hint: 'Check the --to location, its permissions and credentials.',
    exit: EXIT.TARGET,
  },
  REPRISE_TARGET_INCOMPATIBLE: {
    summary: 'The restore target lacks something the snapshot needs (e.g. a PostgreSQL extension); nothing was written.',
    hint: 'Install what the message names on the target server, or restore to another server.',
    exit: EXIT.TARGET,
  },
  REPRISE_STORAGE: {
    summary: 'The storage backend failed and retries did not help.',
    hint: 'Check the repository location, credentials and network; the message names the failing operation.',
    exit: EXIT.STORAGE,
  },
  REPRISE_STORAGE_PERMISSION: {
    summary: 'The storage backend denied access.',
    hint: 'Check file permissions or the S3 credentials and bucket policy.',
    exit: EXIT.STORAGE,
  },
  REPRISE_STORAGE_NOT_FOUND: {
    summary: 'An object the repository needs is missing from storage.',
    hint: 'Run `reprise check` to see what is missing and which snapshots are affected.',
    exit: EXIT.INTEGRITY,
  },
  REPRISE_COPY_UNKNOWN: {
    summary: 'No copy destination with that name is configured under `copies:`.',
    hint: 'Use a name listed under `copies:` in reprise.yaml.',
    exit: EXIT.USAGE,
  },
  REPRISE_CATALOG: {
    summary: 'The catalog (run history) could not be opened or written.',
    hint: 'Check the `catalog:` setting (a SQLite path or a postgres:// url) and that it is reachable.',
    exit: EXIT.CATALOG,
  },
  REPRISE_KILLSWITCH_STORE: {
    summary: 'The killswitch mode store could not be reached.',
    hint: 'Check `killswitch.store` (file path, redis:// or postgres:// url) and that the service is up.',
    exit: EXIT.FAILURE,
  },
  REPRISE_LISTEN_FAILED: {
    summary: 'A server (the gate, the daemon) could not listen on the address given.',
    hint: 'Choose a free port or an address of this machine, or stop what holds the port.',
    exit: EXIT.FAILURE,
  },
  REPRISE_ABORTED: {
    summary: 'The operation was cancelled (Ctrl-C or a signal); nothing half-written was kept.',
    hint: 'Run the command again when ready.',
    exit: EXIT.INTERRUPTED,
  },
  REPRISE_PROCESS_LOST: {
    summary: 'A run\'s process ended without recording an outcome (killed, crashed, or the machine stopped); found and marked interrupted by a later run.',
    hint: 'Look at the system log around the run (OOM killer, reboot, a kill -9), then run it again; the repository needs nothing, `reprise check` confirms it.',
    exit: EXIT.INTERRUPTED,
  },
  REPRISE_INTERNAL: {
    summary: 'An unexpected internal error.',
    hint: 'Please report it with the output of the command run with --debug.',
    exit: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RepriseErrorOptions {
  /** A hint more precise than the registry's default. */
  hint?: string;
  cause?: unknown;
  /** Structured facts for --json output (never secrets). */
  details?: Record<string, unknown>;
}

/** The only error type the product throws on purpose: a code from the registry, a message, a hint. */
export class RepriseError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: RepriseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RepriseError';
    this.code = code;
    const spec: ErrorSpec = ERROR_CODES[code];
    this.hint = options.hint ?? spec.hint;
    this.exitCode = spec.exit;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      exitCode: this.exitCode,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** True when `err` is a RepriseError, optionally with the given code. */
export function isRepriseError(err: unknown, code?: ErrorCode): err is RepriseError {
  return err instanceof RepriseError && (code === undefined || err.code === code);
}

/**
 * Turns anything thrown into a RepriseError: AbortError becomes REPRISE_ABORTED, other
 * unknown errors REPRISE_INTERNAL with the original as cause. Never throws.
 */
export function toRepriseError(err: unknown): RepriseError {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')) {
    return new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new RepriseError('REPRISE_INTERNAL', message, { cause: err });
}
