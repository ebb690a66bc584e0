import type Database from 'better-sqlite3';
import type { VerifyResult } from '../source.js';
import { openSqliteSource, readFacts } from './open.js';
import { integrityProblems } from './restore.js';

/** Row count of every user table. Throws SqliteError. Idempotent. */
export function countRows(db: Database.Database): Record<string, number> {
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .all() as Array<{ name: string }>;
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const row = db.prepare(`SELECT COUNT(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as { n: number };
    counts[name] = row.n;
  }
  return counts;
}

/**
 * `PRAGMA integrity_check` and row counts of the database at `path`. Throws
 * REPRISE_SOURCE_NOT_FOUND / REPRISE_SOURCE_UNREADABLE. Idempotent (read-only).
 */
export function verifySqlite(path: string): VerifyResult {
  const db = openSqliteSource(path);
  try {
    const problems = integrityProblems(db);
    return { ok: problems.length === 0, measurements: { integrity: problems.length === 0 ? 'ok' : problems, rows: countRows(db), ...readFacts(db) }, problems };
  } finally {
    db.close();
  }
}
