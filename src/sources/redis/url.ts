import { RepriseError } from '../../core/errors.js';

/** Where a Redis database is; `password` is a secret and never printed. */
export interface RedisConn {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: boolean;
}

/**
 * Parses `redis://[user][:pass@]host:port/db` (or `rediss://` for TLS); `password` overrides the
 * url's. Throws REPRISE_CONFIG_INVALID for a malformed url or db index. Idempotent.
 */
export function parseRedisUrl(url: string, password?: string): RedisConn {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', 'not a valid Redis url', { hint: 'Write it as redis://[:password@]host:6379/0.', cause });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `expected a redis:// url, got ${parsed.protocol}//…`, { hint: 'Write it as redis://[:password@]host:6379/0.' });
  }
  const path = parsed.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `"${path}" is not a Redis database number`, { hint: 'The url path is the database index: redis://host:6379/0.' });
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined),
    db,
    tls: parsed.protocol === 'rediss:',
  };
}

/** `redis://host:port/db` without credentials. Never throws; idempotent. */
export function describeRedis(conn: RedisConn): string {
  return `${conn.tls ? 'rediss' : 'redis'}://${conn.username ? `${encodeURIComponent(conn.username)}@` : ''}${conn.host}:${conn.port}/${conn.db}`;
}
