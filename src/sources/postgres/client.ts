import pg from 'pg';
import { RepriseError } from '../../core/errors.js';
import { driverConfig, type PgConn } from './conn.js';
import { mapConnectError } from './pg-errors.js';

/**
 * Opens one connection to `conn`, runs `fn`, and always closes it. Connection failures become
 * SOURCE_AUTH / SOURCE_NOT_FOUND / SOURCE_UNREADABLE (or TARGET_UNREACHABLE for `role: 'target'`);
 * errors thrown by `fn` pass through. Abort closes the connection and throws REPRISE_ABORTED.
 */
export async function withClient<T>(
  conn: PgConn,
  signal: AbortSignal,
  fn: (client: pg.Client) => Promise<T>,
  role: 'source' | 'target' = 'source',
): Promise<T> {
  if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
  const client = new pg.Client({ ...driverConfig(conn), application_name: 'reprise' });
  // An error event on an idle client would otherwise crash the process.
  client.on('error', () => undefined);
  const onAbort = (): void => void client.end().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw signal.aborted ? new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err }) : mapConnectError(err, conn, role);
    }
    try {
      return await fn(client);
    } catch (err) {
      if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
      throw err;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** Quotes an SQL identifier (database, role names). Pure. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. Pure. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
