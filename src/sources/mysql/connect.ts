import { createConnection, type Connection } from 'mysql2/promise';
import { RepriseError } from '../../core/errors.js';
import { describeMysql, type MysqlConn } from './url.js';

/** Which side of a restore we are talking to: errors differ (source vs target codes). */
export type MysqlRole = 'source' | 'target';

/**
 * Turns a mysql2 or socket error into a RepriseError with an operator hint. Never throws;
 * idempotent.
 */
export function classifyMysqlError(err: unknown, conn: MysqlConn, role: MysqlRole, database = conn.database): RepriseError {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
  const code = (err as { code?: string }).code ?? '';
  const where = describeMysql(conn, database);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR') {
    return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_AUTH' : 'REPRISE_TARGET_UNREACHABLE', `${where}: ${message}`, {
      hint: `Check the user and password for ${where} (password in the url, \`password:\` or a *_file secret) and the user's grants.`,
      cause: err,
    });
  }
  if (code === 'ER_BAD_DB_ERROR') {
    return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_NOT_FOUND' : 'REPRISE_TARGET_UNREACHABLE', `${where}: ${message}`, {
      hint: 'Check the database name in the url; `SHOW DATABASES` lists those that exist.',
      cause: err,
    });
  }
  if (['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST'].includes(code)) {
    return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_UNREADABLE' : 'REPRISE_TARGET_UNREACHABLE', `${where}: cannot connect (${code})`, {
      hint: `Check that the MySQL/MariaDB server is running and listening on ${conn.host}:${conn.port}.`,
      cause: err,
    });
  }
  return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_UNREADABLE' : 'REPRISE_TARGET_UNREACHABLE', `${where}: ${message}`, {
    cause: err,
  });
}

/**
 * Opens a mysql2 connection (to `database`, or to no database when null). Throws the classified
 * RepriseError (SOURCE_AUTH, SOURCE_NOT_FOUND, SOURCE_UNREADABLE or TARGET_UNREACHABLE), or
 * REPRISE_ABORTED. Not idempotent: the caller must end the connection.
 */
export async function openMysql(conn: MysqlConn, role: MysqlRole, signal: AbortSignal, database: string | null = conn.database ?? null): Promise<Connection> {
  signal.throwIfAborted();
  try {
    const connection = await createConnection({
      host: conn.host,
      port: conn.port,
      user: conn.user,
      ...(conn.password === undefined ? {} : { password: conn.password }),
      ...(database === null ? {} : { database }),
      connectTimeout: 10_000,
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
    });
    if (signal.aborted) {
      connection.destroy();
      signal.throwIfAborted();
    }
    return connection;
  } catch (err) {
    throw classifyMysqlError(err, conn, role, database ?? undefined);
  }
}

/** Runs fn with a connection and always closes it. Throws what openMysql or fn throw. */
export async function withMysql<T>(
  conn: MysqlConn,
  role: MysqlRole,
  signal: AbortSignal,
  database: string | null,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const connection = await openMysql(conn, role, signal, database);
  try {
    return await fn(connection);
  } catch (err) {
    throw classifyMysqlError(err, conn, role, database ?? undefined);
  } finally {
    connection.destroy();
  }
}
