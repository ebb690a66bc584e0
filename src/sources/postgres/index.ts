import type { DumpPart, RestoreOptions, RestorePart, RestoreResult, Source, SourceInfo, TargetState, VerifyResult } from '../source.js';
import { parsePgUrl, withDatabase } from './conn.js';
import { withClient } from './client.js';
import { dumpPostgres } from './dump.js';
import { inspectPostgres, maintenanceConn, type PlanOptions } from './inspect.js';
import { restorePostgres } from './restore.js';
import type { PostgresSourceConfig } from './schema.js';
import { probePostgresTarget, targetConn } from './target.js';
import { verifyPostgres } from './verify.js';

export { postgresSourceSchema, type PostgresSourceConfig } from './schema.js';

/** The databases a restore of this source would write, for probeTarget (which gets no snapshot facts). */
async function configuredDatabases(config: PostgresSourceConfig, signal: AbortSignal): Promise<string[]> {
  const conn = parsePgUrl(config.url, config.password);
  if (Array.isArray(config.databases)) return [...new Set(config.databases)];
  if (config.databases === 'all') {
    return withClient(maintenanceConn(config, conn), signal, async (client) => {
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1');
      return rows.map((row) => row.datname);
    });
  }
  return [conn.database ?? conn.user ?? 'postgres'];
}

/**
 * The `type: postgres` source: pg_dump directory format, one part per dump file, restore with
 * pg_restore. Throws REPRISE_CONFIG_INVALID at once when the url is not a postgres URL.
 * `planOptions.skipMissingDatabases` is what forTarget() uses (see PlanOptions).
 */
export function createPostgresSource(name: string, config: PostgresSourceConfig, planOptions: PlanOptions = {}): Source {
  parsePgUrl(config.url, config.password);
  return {
    kind: 'postgres',
    name,
    inspect: (signal: AbortSignal): Promise<SourceInfo> => inspectPostgres(config, signal, planOptions),
    dump: (signal: AbortSignal): AsyncIterable<DumpPart> => dumpPostgres(config, signal, planOptions),
    probeTarget: async (target: string, signal: AbortSignal): Promise<TargetState> =>
      probePostgresTarget(targetConn(target, config), await configuredDatabases(config, signal), signal),
    restore: (parts: AsyncIterable<RestorePart>, options: RestoreOptions): Promise<RestoreResult> => restorePostgres(config, parts, options),
    verify: (target: string, signal: AbortSignal): Promise<VerifyResult> => {
      const conn = targetConn(target, config);
      return verifyPostgres(conn.database === undefined ? withDatabase(conn, parsePgUrl(config.url).database ?? 'postgres') : conn, signal);
    },
    forTarget: (target: string): Source => {
      let conn = targetConn(target, config);
      const sourceDb = parsePgUrl(config.url).database;
      // A one-database restore into a URL without database writes the source's database name: snapshot that one.
      if (config.databases === undefined && conn.database === undefined && sourceDb !== undefined) conn = withDatabase(conn, sourceDb);
      // Several databases: connect where the restore does (targetMaintenance), not to one that may not exist yet.
      if (config.databases !== undefined && conn.database === undefined) conn = withDatabase(conn, 'postgres');
      const { include_tables: _include, exclude_tables: _exclude, ...rest } = config;
      // The safety snapshot must hold everything a forced restore may overwrite (no table filters),
      // and only that: databases the restore will create do not exist yet.
      return createPostgresSource(`${name}@target`, { ...rest, url: conn.url, ...(conn.password === undefined ? {} : { password: conn.password }) }, { skipMissingDatabases: true });
    },
  };
}
