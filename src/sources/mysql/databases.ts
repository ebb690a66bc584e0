import type { Connection, RowDataPacket } from 'mysql2/promise';
import { RepriseError } from '../../core/errors.js';
import type { MysqlSourceConfig } from './schema.js';
import type { MysqlConn } from './url.js';

/** Schemas of the server itself, never backed up as user data. */
const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

export interface DatabaseFacts {
  charset: string;
  collation: string;
  sizeBytes: number;
}

/**
 * The databases a source backs up: `databases:` when given ('all' = every non-system one),
 * else the url's database, else all. Throws REPRISE_SOURCE_NOT_FOUND for a named one that does
 * not exist. Idempotent (reads only).
 */
export async function resolveDatabases(c: Connection, conn: MysqlConn, config: Pick<MysqlSourceConfig, 'databases'>): Promise<Map<string, DatabaseFacts>> {
  const [rows] = await c.query<RowDataPacket[]>(
    `SELECT s.SCHEMA_NAME AS name, s.DEFAULT_CHARACTER_SET_NAME AS charset, s.DEFAULT_COLLATION_NAME AS collation,
            COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS size
       FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
      GROUP BY s.SCHEMA_NAME, s.DEFAULT_CHARACTER_SET_NAME, s.DEFAULT_COLLATION_NAME`,
  );
  const all = new Map<string, DatabaseFacts>();
  for (const row of rows) {
    all.set(String(row.name), { charset: String(row.charset), collation: String(row.collation), sizeBytes: Number(row.size) });
  }
  const wanted =
    config.databases === undefined ? (conn.database === undefined ? 'all' : [conn.database]) : config.databases;
  const names = wanted === 'all' ? [...all.keys()].filter((n) => !SYSTEM_DATABASES.has(n)).sort() : wanted;
  const chosen = new Map<string, DatabaseFacts>();
  for (const name of names) {
    const facts = all.get(name);
    if (!facts) {
      throw new RepriseError('REPRISE_SOURCE_NOT_FOUND', `database "${name}" does not exist on ${conn.host}:${conn.port}`, {
        hint: 'Check the database name in the source url or `databases:`; `SHOW DATABASES` lists those that exist.',
      });
    }
    chosen.set(name, facts);
  }
  return chosen;
}

/** Counts the tables, views, routines and events a restore would overwrite in `database`. Throws mysql2 errors. Idempotent. */
export async function countObjects(c: Connection, database: string): Promise<{ exists: boolean; objects: number }> {
  const [schemas] = await c.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
  if (schemas.length === 0) return { exists: false, objects: 0 };
  const [rows] = await c.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS n`,
    [database, database, database],
  );
  return { exists: true, objects: Number(rows[0]?.n ?? 0) };
}
