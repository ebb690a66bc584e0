import Database from 'better-sqlite3';
import { RepriseError } from '../../core/errors.js';
import { readFacts, type SqliteFacts } from './open.js';

/**
 * Copies `db` into `dest` with SQLite's online backup API, in one step: a single read
 * transaction, so the copy is the database as of one instant even while other connections keep
 * writing (in WAL mode they are not blocked; in rollback mode they wait for the copy).
 * Returns the copy's facts. Throws REPRISE_SOURCE_UNREADABLE, REPRISE_ABORTED. Not idempotent
 * (writes `dest`).
 */
export async function backupSqlite(db: Database.Database, dest: string, signal: AbortSignal): Promise<SqliteFacts> {
  signal.throwIfAborted();
  try {
    await db.backup(dest, {
      progress: () => {
        if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'SQLite backup cancelled', { cause: signal.reason });
        // Everything left in the next step: copying in slices lets a writer restart the backup forever.
        return 0x7fffffff;
      },
    });
  } catch (err) {
    if (err instanceof RepriseError) throw err;
    throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `SQLite backup of ${db.name} failed: ${(err as Error).message}`, { cause: err });
  }
  // Read-write: a WAL-mode copy needs its -shm, which a read-only handle may not create. It is our private file.
  const copy = new Database(dest, { fileMustExist: true });
  try {
    // The source's journal mode is what the application chose; the copy reports its own header.
    return { ...readFacts(copy), journalMode: String(db.pragma('journal_mode', { simple: true })) };
  } finally {
    copy.close();
  }
}
