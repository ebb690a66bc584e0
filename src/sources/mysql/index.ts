import type { RowDataPacket } from 'mysql2/promise';
import { RepriseError } from '../../core/errors.js';
import type { DumpPart, RestoreOptions, RestorePart, Source, SourceInfo, TargetState, VerifyResult } from '../source.js';
import { withMysql } from './connect.js';
import { resolveDatabases } from './databases.js';
import { mysqlDumpParts } from './dump.js';
import { probeMysqlTarget, restoreMysql } from './restore.js';
import type { MysqlSourceConfig } from './schema.js';
import { findClientTool, findDumpTool, toolVersion } from './tools.js';
import { describeMysql, parseMysqlUrl, type MysqlConn } from './url.js';
import { measureMysql } from './verify.js';

export { mysqlSourceSchema, type MysqlSourceConfig } from './schema.js';

/** Test and embedding knobs that are not configuration (e.g. a PATH without the tools). */
export interface MysqlSourceEnv {
  /** Where to look for mariadb-dump / mysqldump / mariadb / mysql; defaults to $PATH. */
  searchPath?: string;
}

function targetConn(source: MysqlConn, target: string): MysqlConn {
  const parsed = parseMysqlUrl(target);
  // A target url without a password on the same server as the source reuses the source's credentials.
  const sameServer = parsed.host === source.host && parsed.port === source.port && parsed.user === source.user;
  return { ...parsed, password: parsed.password ?? (sameServer ? source.password : undefined) };
}

function requireDatabase(conn: MysqlConn, what: string): string {
  if (conn.database === undefined) {
    throw new RepriseError('REPRISE_USAGE', `${what} must name a database (mysql://user@host:port/DATABASE)`);
  }
  return conn.database;
}

/**
 * The MySQL/MariaDB source (`type: mysql` or `mariadb`). Throws REPRISE_CONFIG_INVALID for a bad
 * url; every other error surfaces from its methods. Idempotent (builds an object, connects to nothing).
 */
export function createMysqlSource(name: string, config: MysqlSourceConfig, env: MysqlSourceEnv = {}): Source {
  const conn = parseMysqlUrl(config.url, config.password);
  const kind = config.type;

  const inspect = async (signal: AbortSignal): Promise<SourceInfo> => {
    const dumpTool = findDumpTool(env.searchPath);
    const { server, databases } = await withMysql(conn, 'source', signal, null, async (c) => {
      const [rows] = await c.query<RowDataPacket[]>('SELECT VERSION() AS v');
      return { server: String(rows[0]?.v ?? ''), databases: await resolveDatabases(c, conn, config) };
    });
    const toolName = dumpTool.split('/').pop() ?? dumpTool;
    const sizeBytes = [...databases.values()].reduce((sum, d) => sum + d.sizeBytes, 0);
    return {
      kind,
      location: describeMysql(conn),
      versions: { server, [toolName]: await toolVersion(dumpTool, signal) },
      sizeBytes,
      facts: {
        flavor: /mariadb/i.test(server) ? 'mariadb' : 'mysql',
        databases: Object.fromEntries([...databases].map(([db, f]) => [db, { charset: f.charset, collation: f.collation }])),
      },
    };
  };

  const source: Source = {
    kind,
    name,
    inspect,
    async *dump(signal: AbortSignal): AsyncIterable<DumpPart> {
      const tool = findDumpTool(env.searchPath);
      // Connect first: a wrong password or missing database gets its own code, not a tool failure.
      const databases = await withMysql(conn, 'source', signal, null, (c) => resolveDatabases(c, conn, config));
      yield* mysqlDumpParts({ tool, conn, databases: [...databases.keys()], excludeTables: config.exclude_tables ?? [] }, signal);
    },
    async probeTarget(target: string, signal: AbortSignal): Promise<TargetState> {
      const t = targetConn(conn, target);
      return probeMysqlTarget(t, requireDatabase(t, 'the restore target'), signal);
    },
    async restore(parts: AsyncIterable<RestorePart>, options: RestoreOptions) {
      const client = findClientTool(env.searchPath);
      return restoreMysql(client, targetConn(conn, options.target), parts, options);
    },
    async verify(target: string, signal: AbortSignal): Promise<VerifyResult> {
      const t = targetConn(conn, target);
      return measureMysql(t, requireDatabase(t, 'the verify target'), signal);
    },
    forTarget(target: string): Source {
      const t = targetConn(conn, target);
      const url = `mysql://${encodeURIComponent(t.user)}@${t.host}:${t.port}/${encodeURIComponent(t.database ?? '')}`;
      return createMysqlSource(name, { ...config, url, ...(t.password === undefined ? {} : { password: t.password }), databases: t.database === undefined ? 'all' : [t.database] }, env);
    },
  };
  return source;
}
