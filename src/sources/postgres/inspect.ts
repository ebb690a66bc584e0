import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { RepriseError } from '../../core/errors.js';
import type { SourceInfo } from '../source.js';
import { parsePgUrl, toolEnv, withDatabase, type PgConn } from './conn.js';
import { withClient } from './client.js';
import type { PostgresSourceConfig } from './schema.js';
import { assertToolFitsServer, locateTool, type PgTool } from './tools.js';

/** What a restore needs to know about one dumped database. */
export interface DatabaseFacts {
  name: string;
  encoding: string;
  collate: string;
  ctype: string;
  sizeBytes: number | null;
  extensions: { name: string; version: string }[];
}

/** How roles and other globals are dumped: with password hashes, without, or not at all. */
export type GlobalsMode = 'full' | 'no-role-passwords' | 'skipped';

/** Everything `dump` needs, read once before any work: tools checked, databases resolved. */
export interface DumpPlan {
  conn: PgConn;
  env: Record<string, string>;
  pgDump: PgTool;
  pgDumpall: PgTool | undefined;
  serverVersion: string;
  serverVersionNum: number;
  databases: DatabaseFacts[];
  globals: GlobalsMode;
  globalsReason: string | undefined;
  jobs: number;
}

/** Facts recorded in the snapshot: the `format` names this layout so a later restore can tell. */
export const DUMP_FORMAT = 'pg_dump-directory-v1';

async function databaseFacts(client: pg.Client, names: string[], skipMissing: boolean): Promise<Omit<DatabaseFacts, 'extensions'>[]> {
  const { rows } = await client.query<{ datname: string; encoding: string; datcollate: string; datctype: string; size: string | null }>(
    `SELECT datname, pg_encoding_to_char(encoding) AS encoding, datcollate, datctype,
            CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END AS size
       FROM pg_database WHERE datname = ANY($1::text[])`,
    [names],
  );
  const byName = new Map(rows.map((row) => [row.datname, row]));
  return names.flatMap((name) => {
    const row = byName.get(name);
    if (!row && skipMissing) return [];
    if (!row) {
      throw new RepriseError('REPRISE_SOURCE_NOT_FOUND', `database "${name}" does not exist on the server`, {
        hint: 'Check `databases:` and the database in the url (psql -l lists the databases).',
      });
    }
    return [{ name, encoding: row.encoding, collate: row.datcollate, ctype: row.datctype, sizeBytes: row.size === null ? null : Number(row.size) }];
  });
}

async function resolveDatabaseNames(client: pg.Client, config: PostgresSourceConfig, conn: PgConn): Promise<string[]> {
  if (config.databases === 'all') {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname',
    );
    return rows.map((row) => row.datname);
  }
  if (config.databases !== undefined) return [...new Set(config.databases)];
  return [conn.database ?? conn.user ?? 'postgres'];
}

async function globalsMode(client: pg.Client, versionNum: number, wanted: boolean): Promise<[GlobalsMode, string | undefined]> {
  if (!wanted) return ['skipped', 'globals: false in the configuration'];
  const { rows } = await client.query<{ full: boolean }>(`SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS full`);
  if (rows[0]?.full) return ['full', undefined];
  // pg_roles (no password hashes) is readable by everyone; pg_dumpall reads it since version 10.
  if (versionNum >= 100_000) return ['no-role-passwords', 'the backup role may not read pg_authid: role passwords are not saved'];
  return ['skipped', 'the backup role may not read pg_authid (PostgreSQL < 10): roles are not saved'];
}

/** The connection to use for server-wide queries: the URL's database, else the first one to dump. Pure. */
export function maintenanceConn(config: PostgresSourceConfig, conn: PgConn): PgConn {
  if (conn.database !== undefined) return conn;
  const first = Array.isArray(config.databases) ? config.databases[0] : undefined;
  return withDatabase(conn, first ?? 'postgres');
}

export interface PlanOptions {
  /**
   * Leave out listed databases that do not exist instead of failing: for safety snapshots of a
   * restore target, where only the databases already there can be overwritten.
   */
  skipMissingDatabases?: boolean;
}

/**
 * Checks tools and server and resolves the databases to dump, before any work: throws
 * REPRISE_TOOL_MISSING, REPRISE_TOOL_TOO_OLD, REPRISE_SOURCE_AUTH, REPRISE_SOURCE_NOT_FOUND,
 * REPRISE_SOURCE_UNREADABLE. Read-only and idempotent.
 */
export async function planDump(config: PostgresSourceConfig, signal: AbortSignal, options: PlanOptions = {}): Promise<DumpPlan> {
  const conn = parsePgUrl(config.url, config.password);
  const env = toolEnv(conn);
  const pgDump = await locateTool('pg_dump', { binDir: config.bin_dir, signal });
  const server = await withClient(maintenanceConn(config, conn), signal, async (client) => {
    const { rows } = await client.query<{ num: string; version: string }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`,
    );
    const num = Number(rows[0]?.num ?? 0);
    const names = await resolveDatabaseNames(client, config, conn);
    const facts = await databaseFacts(client, names, options.skipMissingDatabases ?? false);
    if (facts.length === 0 && !options.skipMissingDatabases) {
      throw new RepriseError('REPRISE_SOURCE_NOT_FOUND', 'no database to back up: every database is a template or refuses connections', {
        hint: 'List the databases under `databases:`.',
      });
    }
    const [globals, reason] = await globalsMode(client, num, config.globals);
    return { num, version: (rows[0]?.version ?? '').split(' ')[0] ?? '', facts, globals, reason };
  });
  assertToolFitsServer(pgDump, server.num);
  const databases: DatabaseFacts[] = [];
  for (const db of server.facts) {
    const extensions = await withClient(withDatabase(conn, db.name), signal, async (client) => {
      const { rows } = await client.query<{ name: string; version: string }>(
        'SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY extname',
      );
      return rows;
    });
    databases.push({ ...db, extensions });
  }
  let pgDumpall: PgTool | undefined;
  let globals = server.globals;
  let globalsReason = server.reason;
  if (globals !== 'skipped') {
    try {
      pgDumpall = await locateTool('pg_dumpall', { binDir: config.bin_dir, signal });
      assertToolFitsServer(pgDumpall, server.num);
    } catch (err) {
      if (!(err instanceof RepriseError) || (err.code !== 'REPRISE_TOOL_MISSING' && err.code !== 'REPRISE_TOOL_TOO_OLD')) throw err;
      pgDumpall = undefined;
      globals = 'skipped';
      globalsReason = err.message;
    }
  }
  return {
    conn,
    env,
    pgDump,
    pgDumpall,
    serverVersion: server.version,
    serverVersionNum: server.num,
    databases,
    globals,
    globalsReason,
    jobs: config.jobs ?? availableParallelism(),
  };
}

/** The SourceInfo recorded with a snapshot, from a plan. Pure. */
export function planToInfo(plan: DumpPlan, restoreTool: PgTool | undefined): SourceInfo {
  const first = plan.databases[0];
  const versions: Record<string, string> = { server: plan.serverVersion, pg_dump: plan.pgDump.version };
  if (plan.pgDumpall) versions['pg_dumpall'] = plan.pgDumpall.version;
  if (restoreTool) versions['pg_restore'] = restoreTool.version;
  const sizes = plan.databases.map((db) => db.sizeBytes);
  const names = plan.databases.map((db) => db.name);
  const location = names.length === 1 && plan.conn.database === names[0] ? plan.conn.url : `${plan.conn.url} (databases: ${names.join(', ')})`;
  return {
    kind: 'postgres',
    location,
    versions,
    ...(sizes.every((size) => size !== null) ? { sizeBytes: sizes.reduce<number>((a, b) => a + (b ?? 0), 0) } : {}),
    facts: {
      format: DUMP_FORMAT,
      serverVersion: plan.serverVersion,
      serverVersionNum: plan.serverVersionNum,
      encoding: first?.encoding,
      collation: first?.collate,
      ctype: first?.ctype,
      extensions: first?.extensions ?? [],
      databases: plan.databases,
      globals: plan.globals,
      ...(plan.globalsReason === undefined ? {} : { globalsReason: plan.globalsReason }),
    },
  };
}

/**
 * inspect(): the plan's facts plus the local pg_restore version when there is one. Throws as
 * planDump. Read-only and idempotent.
 */
export async function inspectPostgres(config: PostgresSourceConfig, signal: AbortSignal, options: PlanOptions = {}): Promise<SourceInfo> {
  const plan = await planDump(config, signal, options);
  const restoreTool = await locateTool('pg_restore', { binDir: config.bin_dir, signal }).catch(() => undefined);
  return planToInfo(plan, restoreTool);
}
