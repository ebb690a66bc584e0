import { RepriseError } from '../../core/errors.js';
import { describeConn, type PgConn } from './conn.js';

/**
 * Turns a node-postgres or socket error met while connecting to `conn` into the RepriseError an
 * operator can act on. `role` says whether the server is a source (SOURCE_*) or a restore target
 * (TARGET_UNREACHABLE for all connection failures). Never throws; pure.
 */
export function mapConnectError(err: unknown, conn: PgConn, role: 'source' | 'target' = 'source'): RepriseError {
  if (err instanceof RepriseError) return err;
  const e = err as { code?: string; message?: string; name?: string };
  if (e.name === 'AbortError') return new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
  const where = describeConn(conn);
  const message = e.message ?? String(err);
  const code = e.code ?? '';
  if (role === 'target' && code !== '3D000') {
    return new RepriseError('REPRISE_TARGET_UNREACHABLE', `cannot connect to the restore target ${where}: ${message}`, {
      hint: 'Check that the target server is running, and the user, password and database in the target URL.',
      cause: err,
    });
  }
  // 28P01 wrong password, 28000 no such role / pg_hba rejection: both are "these credentials are refused".
  if (code === '28P01' || code === '28000') {
    return new RepriseError('REPRISE_SOURCE_AUTH', `PostgreSQL at ${where} refused user "${conn.user ?? '(default)'}": ${message}`, {
      hint: 'Check the user and password in the source url (or `password:`), that the role exists (\\du in psql) and pg_hba.conf allows it.',
      cause: err,
    });
  }
  if (code === '3D000') {
    return new RepriseError('REPRISE_SOURCE_NOT_FOUND', `database missing on ${where}: ${message}`, {
      hint: 'Check the database name in the url (psql -l lists the databases), or create it.',
      cause: err,
    });
  }
  if (code === '42501') {
    return new RepriseError('REPRISE_SOURCE_UNREADABLE', `permission denied on ${where}: ${message}`, {
      hint: 'Grant the backup role CONNECT on the database and SELECT on its tables (or use pg_read_all_data).',
      cause: err,
    });
  }
  return new RepriseError('REPRISE_SOURCE_UNREADABLE', `cannot connect to PostgreSQL at ${where}: ${message}`, {
    hint: `Check that the server is running and listening on ${conn.host}:${conn.port} (pg_isready -h ${conn.host} -p ${conn.port}).`,
    cause: err,
  });
}
