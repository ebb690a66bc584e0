import { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import { describeRedis, type RedisConn } from './url.js';

export type RedisRole = 'source' | 'target';

/** Turns an ioredis or socket error into a RepriseError with a hint. Never throws; idempotent. */
export function classifyRedisError(err: unknown, conn: RedisConn, role: RedisRole): RepriseError {
  if (err instanceof RepriseError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code ?? '';
  const where = describeRedis(conn);
  const unreachable = role === 'source' ? 'REPRISE_SOURCE_UNREADABLE' : 'REPRISE_TARGET_UNREACHABLE';
  if (/^(WRONGPASS|NOAUTH|NOPERM)|AUTH.*without any password|invalid password|invalid username-password/i.test(message)) {
    return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_AUTH' : 'REPRISE_TARGET_UNREACHABLE', `${where}: ${message}`, {
      hint: `Check the user and password for ${where} (redis://user:password@host:port/db, or \`password:\`) and the user's ACL.`,
      cause: err,
    });
  }
  if (/DB index is out of range|invalid DB index/i.test(message)) {
    return new RepriseError(role === 'source' ? 'REPRISE_SOURCE_NOT_FOUND' : 'REPRISE_TARGET_UNREACHABLE', `${where}: ${message}`, {
      hint: 'The server has fewer databases than that index (see `databases` in redis.conf); fix the number in the url.',
      cause: err,
    });
  }
  if (['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET'].includes(code) || /Connection is closed|connect ETIMEDOUT/.test(message)) {
    return new RepriseError(unreachable, `${where}: cannot connect (${code || message})`, {
      hint: `Check that Redis is running and listening on ${conn.host}:${conn.port}.`,
      cause: err,
    });
  }
  return new RepriseError(unreachable, `${where}: ${message}`, { cause: err });
}

/**
 * Connects, authenticates and selects the database; fails fast (no reconnect loop). Throws
 * REPRISE_SOURCE_AUTH / _NOT_FOUND / _UNREADABLE (or REPRISE_TARGET_UNREACHABLE for a target),
 * REPRISE_ABORTED. Not idempotent: the caller must disconnect.
 */
export async function openRedis(conn: RedisConn, role: RedisRole, signal: AbortSignal): Promise<Redis> {
  signal.throwIfAborted();
  const client = new Redis({
    host: conn.host,
    port: conn.port,
    ...(conn.username === undefined ? {} : { username: conn.username }),
    ...(conn.password === undefined ? {} : { password: conn.password }),
    ...(conn.tls ? { tls: {} } : {}),
    lazyConnect: true,
    connectTimeout: 10_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: unknown;
  // ioredis emits errors as events too; keep the last one for the message, never crash on it.
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await client.connect();
    if (conn.db !== 0) await client.select(conn.db);
  } catch (err) {
    client.disconnect();
    throw classifyRedisError(lastError ?? err, conn, role);
  }
  if (signal.aborted) {
    client.disconnect();
    signal.throwIfAborted();
  }
  return client;
}

/** Runs fn with a connected client and always disconnects. Throws what openRedis or fn throw, classified. */
export async function withRedis<T>(conn: RedisConn, role: RedisRole, signal: AbortSignal, fn: (r: Redis) => Promise<T>): Promise<T> {
  const client = await openRedis(conn, role, signal);
  try {
    return await fn(client);
  } catch (err) {
    throw classifyRedisError(err, conn, role);
  } finally {
    client.disconnect();
  }
}
