import { RepriseError } from '../../core/errors.js';
import { redactUrl } from '../../config/redact.js';

/**
 * A parsed postgres:// URL with its password held apart, so that the password only ever reaches
 * a server through PGPASSWORD (tools) or the driver's `password` field, never a command line or a log.
 */
export interface PgConn {
  /** The URL without password, safe to pass as `--dbname` and to print. */
  readonly url: string;
  readonly password: string | undefined;
  /** The database named in the URL, or undefined when the URL names only the server. */
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly host: string;
  readonly port: string;
}

/**
 * Parses `postgres://user:pass@host:port/db?params`. A `password` given apart wins over none in
 * the URL. Throws REPRISE_CONFIG_INVALID when the text is not a postgres URL. Pure.
 */
export function parsePgUrl(text: string, password?: string): PgConn {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `not a postgres URL: ${redactUrl(text)}`, {
      hint: 'Write it as postgres://user@host:5432/database',
      cause,
    });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `not a postgres URL: ${redactUrl(text)}`, {
      hint: 'Write it as postgres://user@host:5432/database',
    });
  }
  const fromUrl = url.password === '' ? undefined : decodeURIComponent(url.password);
  url.password = '';
  const path = url.pathname.replace(/^\//, '');
  return {
    url: url.toString(),
    password: fromUrl ?? password,
    database: path === '' ? undefined : decodeURIComponent(path),
    user: url.username === '' ? undefined : decodeURIComponent(url.username),
    host: url.hostname === '' ? 'localhost' : url.hostname,
    port: url.port === '' ? '5432' : url.port,
  };
}

/** The same server and credentials, another database. Pure. */
export function withDatabase(conn: PgConn, database: string): PgConn {
  const url = new URL(conn.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return { ...conn, url: url.toString(), database };
}

/** `host:port/db` for messages: no user, no password. Pure. */
export function describeConn(conn: PgConn): string {
  const url = new URL(conn.url);
  url.username = '';
  return url.toString();
}

/**
 * Extra environment for pg_dump, pg_restore, psql: the password through PGPASSWORD (libpq reads it
 * there; `ps` does not show it). Without a configured password, an inherited PGPASSWORD or
 * ~/.pgpass applies, as it does for the driver. Pure.
 */
export function toolEnv(conn: PgConn): Record<string, string> {
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: process.env['PGCONNECT_TIMEOUT'] ?? '10' };
  if (conn.password !== undefined) env['PGPASSWORD'] = conn.password;
  return env;
}

/** Options for node-postgres: the URL without password, the password apart. Pure. */
export function driverConfig(conn: PgConn): { connectionString: string; password?: string; connectionTimeoutMillis: number } {
  return {
    connectionString: conn.url,
    ...(conn.password === undefined ? {} : { password: conn.password }),
    connectionTimeoutMillis: 10_000,
  };
}

/** Removes the password (from the URL and as plain text) from tool output before it is shown. Pure. */
export function redactSecret(text: string, password: string | undefined): string {
  let out = redactUrl(text);
  if (password !== undefined && password.length > 0) out = out.split(password).join('***');
  return out;
}
