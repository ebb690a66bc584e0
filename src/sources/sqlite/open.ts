import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RepriseError } from '../../core/errors.js';

/** What a restore needs to know about the file it recreates. */
export interface SqliteFacts {
  sqliteVersion: string;
  pageSize: number;
  pageCount: number;
  journalMode: string;
  encoding: string;
  userVersion: number;
  applicationId: number;
}

/**
 * Opens an existing SQLite database for reading. Throws REPRISE_SOURCE_NOT_FOUND when the file
 * is missing, REPRISE_SOURCE_UNREADABLE when it cannot be opened or is not a database.
 * Not idempotent: the caller closes the handle.
 */
export function openSqliteSource(path: string): Database.Database {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new RepriseError('REPRISE_SOURCE_NOT_FOUND', `SQLite database ${path} does not exist`, {
        hint: 'Check `path:` of the source (relative paths are resolved from the configuration file folder).',
        cause: err,
      });
    }
    throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `cannot read SQLite database ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Read-only: a backup never writes the application's database.
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    if (size > 0) db.pragma('schema_version', { simple: true }); // fails now, not later, on a non-database
    return db;
  } catch (err) {
    throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `cannot open ${path} as a SQLite database: ${(err as Error).message}`, {
      hint: 'Check that the file is a SQLite database and that this user may read it (and its folder, for -wal/-shm files).',
      cause: err,
    });
  }
}

/** Page size, journal mode, version… of an open database. Throws SqliteError. Idempotent. */
export function readFacts(db: Database.Database): SqliteFacts {
  const pragma = (name: string): unknown => db.pragma(name, { simple: true });
  return {
    sqliteVersion: String((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v),
    pageSize: Number(pragma('page_size')),
    pageCount: Number(pragma('page_count')),
    journalMode: String(pragma('journal_mode')),
    encoding: String(pragma('encoding')),
    userVersion: Number(pragma('user_version')),
    applicationId: Number(pragma('application_id')),
  };
}
