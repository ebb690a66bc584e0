import { toolOutput } from '../process.js';
import type { DumpPart } from '../source.js';
import { connectionArgs, passwordEnv } from './tools.js';
import type { MysqlConn } from './url.js';

/** Options that make a dump consistent (InnoDB), complete (routines, triggers, events) and byte-safe. */
export const DUMP_OPTIONS = [
  '--single-transaction',
  '--routines',
  '--triggers',
  '--events',
  '--hex-blob',
  '--default-character-set=utf8mb4',
  // A dump without its date dedups across snapshots when nothing changed.
  '--skip-dump-date',
] as const;

export interface MysqlDumpPlan {
  tool: string;
  conn: MysqlConn;
  databases: string[];
  /** `db.table` or `table` (the latter applies to every database). */
  excludeTables: string[];
}

/** The dump tool's argument list for one database (no password: that goes in MYSQL_PWD). Never throws. */
export function dumpArgs(plan: MysqlDumpPlan, database: string): string[] {
  const ignores = plan.excludeTables
    .map((t) => (t.includes('.') ? t : `${database}.${t}`))
    .filter((t) => t.startsWith(`${database}.`))
    .map((t) => `--ignore-table=${t}`);
  // No --databases: the dump then carries no CREATE DATABASE / USE, so it restores under any name.
  return [...connectionArgs(plan.conn), ...DUMP_OPTIONS, ...ignores, '--', database];
}

/**
 * One part per database (`<db>.sql`), each streamed from the dump tool's stdout; a part's stream
 * throws REPRISE_TOOL_FAILED at its end when the tool fails. Not idempotent (runs the tool).
 */
export function* mysqlDumpParts(plan: MysqlDumpPlan, signal: AbortSignal): Generator<DumpPart> {
  for (const database of plan.databases) {
    yield {
      name: `${database}.sql`,
      type: 'file',
      extra: { database, format: 'sql' },
      open: () =>
        toolOutput(plan.tool, dumpArgs(plan, database), {
          signal,
          env: passwordEnv(plan.conn.password),
          label: `${plan.tool.split('/').pop() ?? plan.tool} ${database}`,
        }),
    };
  }
}
