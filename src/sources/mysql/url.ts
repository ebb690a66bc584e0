import { RepriseError } from '../../core/errors.js';

/** Where and as whom to connect; `password` is a secret and never printed. */
export interface MysqlConn {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  /** The database named in the url path, if any. */
  database: string | undefined;
}

/**
 * Parses `mysql://user:pass@host:port/db` (also `mariadb://`). `password` overrides the url's.
 * Throws REPRISE_CONFIG_INVALID on a malformed url. Idempotent.
 */
export function parseMysqlUrl(url: string, password?: string): MysqlConn {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `not a valid MySQL url: ${redactMysqlUrl(url)}`, {
      hint: 'Write it as mysql://user:password@host:3306/database.',
      cause,
    });
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `expected a mysql:// url, got ${parsed.protocol}//…`, {
      hint: 'Write it as mysql://user:password@host:3306/database.',
    });
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined;
  const urlPassword = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: parsed.username ? decodeURIComponent(parsed.username) : 'root',
    password: password ?? urlPassword,
    database,
  };
}

/** `mysql://user@host:port/db` without the password. Never throws; idempotent. */
export function describeMysql(conn: MysqlConn, database = conn.database): string {
  return `mysql://${encodeURIComponent(conn.user)}@${conn.host}:${conn.port}/${database ?? ''}`;
}

function redactMysqlUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** Quotes an identifier for SQL (backticks doubled). Never throws. */
export function quoteIdent(name: string): string {
  return '`' + name.replaceAll('`', '``') + '`';
}
