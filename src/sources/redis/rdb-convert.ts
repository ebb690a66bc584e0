import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import { requireTool } from '../process.js';
import { dumpRedisDb } from './dump.js';

const LOG_LIMIT = 8 * 1024;

/**
 * Loads `rdbFile` into a private redis-server (unix socket only, mode 700, no TCP port, no
 * persistence) and streams database `db` of it as records (format.ts), exactly as a scan dump of
 * the live server would, but from one instant. The server is stopped when the stream ends or is
 * abandoned. Throws REPRISE_TOOL_MISSING (no redis-server), REPRISE_TOOL_TOO_OLD (RDB newer than
 * the local redis-server), REPRISE_TOOL_FAILED, REPRISE_ABORTED. Not idempotent.
 */
export async function* recordsFromRdb(rdbFile: string, db: number, signal: AbortSignal, searchPath?: string): AsyncGenerator<Uint8Array> {
  const server = requireTool(['redis-server'], 'redis-server', searchPath);
  const dir = dirname(rdbFile);
  const socket = join(dir, 'convert.sock');
  const child = spawn(
    server,
    [
      '--port', '0',
      '--unixsocket', socket,
      '--unixsocketperm', '700',
      '--dir', dir,
      '--dbfilename', basename(rdbFile),
      '--save', '',
      '--appendonly', 'no',
      '--databases', String(Math.max(16, db + 1)),
      // Keys that expire while we convert would vanish mid-copy; they are copied with what TTL is left.
      '--hz', '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keepLog = (d: Buffer): void => {
    log = (log + d.toString()).slice(-LOG_LIMIT);
  };
  child.stdout.on('data', keepLog);
  child.stderr.on('data', keepLog);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('close', () => {
    exited = true;
    resolve();
  }));
  child.once('error', keepLog as never);
  let client: Redis | undefined;
  try {
    client = await waitReady(socket, db, () => exited, () => log, signal);
    yield* dumpRedisDb(client, signal);
  } finally {
    client?.disconnect();
    if (!exited) child.kill('SIGKILL');
    await exit;
  }
}

async function waitReady(socket: string, db: number, exited: () => boolean, log: () => string, signal: AbortSignal): Promise<Redis> {
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    if (exited()) {
      const text = log().trim();
      if (/Can't handle RDB format version|RDB format version/i.test(text)) {
        throw new RepriseError('REPRISE_TOOL_TOO_OLD', 'the local redis-server cannot read the RDB of this server (it is older)', {
          hint: 'Install a redis-server at least as new as the source server, or use `method: scan`.',
          details: { log: text },
        });
      }
      throw new RepriseError('REPRISE_TOOL_FAILED', `redis-server could not load the RDB: ${text.split('\n').slice(-5).join('\n')}`);
    }
    const client = new Redis({ path: socket, db, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch {
      // Not listening yet, or still LOADING the file.
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, Math.min(200, 10 * (attempt + 1))));
  }
}
