import type { TargetState } from '../source.js';
import { describeConn, parsePgUrl, withDatabase, type PgConn } from './conn.js';
import { withClient } from './client.js';
import type { PostgresSourceConfig } from './schema.js';

/**
 * The connection to a restore target. The source's `password` is reused only when the target is
 * the same server and user (a drill on the production server); elsewhere the target URL carries its own. Pure.
 */
export function targetConn(target: string, config: PostgresSourceConfig): PgConn {
  const source = parsePgUrl(config.url, config.password);
  const conn = parsePgUrl(target);
  if (conn.password === undefined && source.host === conn.host && source.port === conn.port && source.user === conn.user && source.password !== undefined) {
    return { ...conn, password: source.password };
  }
  return conn;
}

/**
 * Where each dumped database goes. One database: into the database the target URL names (or one of
 * the same name when it names none). Several: databases of the same names on the target server. Pure.
 */
export function targetNames(target: PgConn, dumped: string[]): Map<string, string> {
  if (dumped.length === 1 && dumped[0] !== undefined) return new Map([[dumped[0], target.database ?? dumped[0]]]);
  return new Map(dumped.map((name) => [name, name]));
}

/** The database to connect to for CREATE/DROP/RENAME DATABASE on the target server. Pure. */
export function targetMaintenance(target: PgConn, dumped: string[]): PgConn {
  if (dumped.length > 1 && target.database !== undefined) return target;
  return withDatabase(target, 'postgres');
}

export interface DatabaseState {
  exists: boolean;
  /** Count of user relations, routines and large objects (extension members excluded). */
  objects: number;
}

const USER_OBJECTS = `
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
           AND n.nspname NOT LIKE 'pg\\_temp%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_largeobject_metadata) AS objects`;

/**
 * Whether each database exists on the target server and how many user objects it holds.
 * Throws REPRISE_TARGET_UNREACHABLE. Read-only, idempotent.
 */
export async function databaseStates(maintenance: PgConn, names: string[], signal: AbortSignal): Promise<Map<string, DatabaseState>> {
  const existing = await withClient(
    maintenance,
    signal,
    async (client) => {
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1::text[])', [names]);
      return new Set(rows.map((row) => row.datname));
    },
    'target',
  );
  const states = new Map<string, DatabaseState>();
  for (const name of names) {
    if (!existing.has(name)) {
      states.set(name, { exists: false, objects: 0 });
      continue;
    }
    const objects = await withClient(
      withDatabase(maintenance, name),
      signal,
      async (client) => Number((await client.query<{ objects: string }>(USER_OBJECTS)).rows[0]?.objects ?? 0),
      'target',
    );
    states.set(name, { exists: true, objects });
  }
  return states;
}

/**
 * probeTarget(): whether the target databases exist and are empty, for the databases this source
 * would restore (`dumped`). Throws REPRISE_TARGET_UNREACHABLE. Writes nothing; idempotent.
 */
export async function probePostgresTarget(conn: PgConn, dumped: string[], signal: AbortSignal): Promise<TargetState> {
  const names = [...targetNames(conn, dumped).values()];
  const states = await databaseStates(targetMaintenance(conn, dumped), names, signal);
  const all = [...states.values()];
  const location = names.length === 1 && names[0] !== undefined ? describeConn(withDatabase(conn, names[0])) : `${describeConn(conn)} (databases: ${names.join(', ')})`;
  return { exists: all.every((state) => state.exists), empty: all.every((state) => state.objects === 0), location };
}
