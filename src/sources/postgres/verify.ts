import type { VerifyResult } from '../source.js';
import type { PgConn } from './conn.js';
import { quoteIdent, withClient } from './client.js';

/** Above this estimate a table is not counted exactly: count(*) would read all of it. */
export const EXACT_COUNT_LIMIT = 1_000_000;

/**
 * Measures a database for drills: per table (`schema.table`) its row count — exact under
 * EXACT_COUNT_LIMIT estimated rows, else the planner's estimate (listed in `estimated`) — plus
 * size, server version, extensions, sequences and large objects. A table that cannot be read is a
 * problem, not an exception. Throws REPRISE_TARGET_UNREACHABLE when it cannot connect. Read-only, idempotent.
 */
export async function verifyPostgres(conn: PgConn, signal: AbortSignal): Promise<VerifyResult> {
  return withClient(
    conn,
    signal,
    async (client) => {
      const problems: string[] = [];
      const { rows: tables } = await client.query<{ schema: string; name: string; estimate: string }>(
        `SELECT n.nspname AS schema, c.relname AS name, greatest(c.reltuples, 0)::bigint AS estimate
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
            AND n.nspname NOT LIKE 'pg\\_temp%'
          ORDER BY 1, 2`,
      );
      const rowCounts: Record<string, number> = {};
      const estimated: string[] = [];
      for (const table of tables) {
        const key = `${table.schema}.${table.name}`;
        if (Number(table.estimate) >= EXACT_COUNT_LIMIT) {
          rowCounts[key] = Number(table.estimate);
          estimated.push(key);
          continue;
        }
        try {
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`);
          rowCounts[key] = Number(rows[0]?.n ?? 0);
        } catch (err) {
          problems.push(`${key}: ${(err as Error).message}`);
        }
      }
      const { rows: facts } = await client.query<{ version: string; size: string; los: string; invalid: string }>(
        `SELECT current_setting('server_version') AS version, pg_database_size(current_database()) AS size,
                (SELECT count(*) FROM pg_largeobject_metadata) AS los,
                (SELECT count(*) FROM pg_index WHERE NOT indisvalid) AS invalid`,
      );
      const { rows: extensions } = await client.query<{ name: string; version: string }>(
        'SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1',
      );
      const { rows: sequences } = await client.query<{ name: string; last: string | null }>(
        `SELECT schemaname || '.' || sequencename AS name, last_value AS last FROM pg_sequences ORDER BY 1`,
      );
      const invalidIndexes = Number(facts[0]?.invalid ?? 0);
      if (invalidIndexes > 0) problems.push(`${invalidIndexes} invalid index(es)`);
      return {
        ok: problems.length === 0,
        measurements: {
          database: conn.database,
          serverVersion: facts[0]?.version,
          sizeBytes: Number(facts[0]?.size ?? 0),
          tables: tables.length,
          rowCounts,
          estimated,
          sequences: Object.fromEntries(sequences.map((s) => [s.name, s.last === null ? null : Number(s.last)])),
          largeObjects: Number(facts[0]?.los ?? 0),
          extensions,
        },
        problems,
      };
    },
    'target',
  );
}
