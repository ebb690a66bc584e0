import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { VerifyResult } from '../source.js';
import { withMysql } from './connect.js';
import { quoteIdent, type MysqlConn } from './url.js';

export interface TableMeasure {
  rows: number;
  /** CHECKSUM TABLE (EXTENDED): equal content gives equal checksums on the same server version. */
  checksum: string | null;
}

async function names(c: Connection, sql: string, database: string): Promise<string[]> {
  const [rows] = await c.query<RowDataPacket[]>(sql, [database]);
  return rows.map((r) => String(r.name)).sort();
}

/**
 * Row counts and `CHECKSUM TABLE` of every base table of `database`, plus the names of views,
 * routines, triggers and events. Throws REPRISE_SOURCE_* / REPRISE_TARGET_UNREACHABLE on
 * connection errors. Idempotent (reads only).
 */
export async function measureMysql(conn: MysqlConn, database: string, signal: AbortSignal): Promise<VerifyResult> {
  return withMysql(conn, 'target', signal, database, async (c) => {
    const problems: string[] = [];
    const tables = await names(c, "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", database);
    const measured: Record<string, TableMeasure> = {};
    for (const table of tables) {
      signal.throwIfAborted();
      const [countRows] = await c.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`);
      const [sumRows] = await c.query<RowDataPacket[]>(`CHECKSUM TABLE ${quoteIdent(table)} EXTENDED`);
      const checksum = sumRows[0]?.Checksum;
      measured[table] = { rows: Number(countRows[0]?.n ?? 0), checksum: checksum === null || checksum === undefined ? null : String(checksum) };
      if (checksum === null || checksum === undefined) problems.push(`table ${table}: CHECKSUM TABLE returned no value`);
    }
    const views = await names(c, 'SELECT TABLE_NAME AS name FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?', database);
    for (const view of views) {
      // A view whose definition no longer resolves fails here: that is what a drill must catch.
      try {
        await c.query(`SELECT 1 FROM ${quoteIdent(view)} LIMIT 0`);
      } catch (err) {
        problems.push(`view ${view}: ${(err as Error).message}`);
      }
    }
    const routines = await names(c, "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", database);
    const triggers = await names(c, 'SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', database);
    const events = await names(c, 'SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', database);
    return { ok: problems.length === 0, measurements: { tables: measured, views, routines, triggers, events }, problems };
  });
}
