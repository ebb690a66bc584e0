import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepriseError } from '../../core/errors.js';
import type { DumpPart, RestoreOptions, RestorePart, RestoreResult, Source, SourceInfo, TargetState, VerifyResult } from '../source.js';
import { classifyRedisError, openRedis, withRedis } from './connect.js';
import { debugDigest, digestOf, fingerprintDb } from './digest.js';
import { dumpRedisDb } from './dump.js';
import { requireTool } from '../process.js';
import { recordsFromRdb } from './rdb-convert.js';
import { fetchRdb } from './replication.js';
import { loadRedisDb } from './restore.js';
import type { RedisSourceConfig } from './schema.js';
import { describeRedis, parseRedisUrl, type RedisConn } from './url.js';

export { redisSourceSchema, type RedisSourceConfig } from './schema.js';
export { compareRedisDbs, digestOf, fingerprintDb } from './digest.js';

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** Cluster keys live on many nodes: SCAN on one connection would silently see only a slice. */
function refuseCluster(serverInfo: string, conn: RedisConn): void {
  if (infoField(serverInfo, 'redis_mode') === 'cluster') {
    throw new RepriseError('REPRISE_UNSUPPORTED', `${describeRedis(conn)} is a Redis Cluster node; the redis source backs up standalone servers`, {
      hint: 'Back up each primary as its own standalone source, or use the cluster\'s own RDB persistence.',
    });
  }
}

function targetConn(source: RedisConn, target: string): RedisConn {
  const t = parseRedisUrl(target);
  const sameServer = t.host === source.host && t.port === source.port && t.username === source.username;
  return { ...t, password: t.password ?? (sameServer ? source.password : undefined) };
}

/** Embedding and test knobs that are not configuration. */
export interface RedisSourceEnv {
  /** Where to look for redis-server (`method: rdb`); defaults to $PATH. */
  searchPath?: string;
}

/** Method `rdb`: a point-in-time RDB over replication, converted to records by a private server. */
async function* rdbRecords(conn: RedisConn, signal: AbortSignal, env: RedisSourceEnv): AsyncGenerator<Uint8Array> {
  // Before making the server fork: the conversion needs a local redis-server.
  requireTool(['redis-server'], 'redis-server', env.searchPath);
  // A private folder (0700): the RDB holds every database of the instance.
  const dir = await mkdtemp(join(tmpdir(), 'reprise-redis-'));
  try {
    const rdb = join(dir, 'dump.rdb');
    await fetchRdb(conn, rdb, signal);
    yield* recordsFromRdb(rdb, conn.db, signal, env.searchPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The Redis source (`type: redis`): one database of a server as DUMP payloads with their TTLs,
 * read by SCAN from the live server (`method: scan`, default) or from a point-in-time RDB
 * (`method: rdb`); see docs/sources/redis.md. Throws REPRISE_CONFIG_INVALID for a bad url;
 * other errors come from its methods. Idempotent (connects to nothing).
 */
export function createRedisSource(name: string, config: RedisSourceConfig, env: RedisSourceEnv = {}): Source {
  const conn = parseRedisUrl(config.url, config.password);
  const partName = `db${conn.db}.rdr`;
  const method = config.method ?? 'scan';
  return {
    kind: 'redis',
    name,
    inspect(signal: AbortSignal): Promise<SourceInfo> {
      return withRedis(conn, 'source', signal, async (r) => {
        const server = await r.info('server');
        refuseCluster(server, conn);
        const [memory, keys] = [await r.info('memory'), await r.dbsize()];
        return {
          kind: 'redis',
          location: describeRedis(conn),
          versions: { server: infoField(server, 'redis_version') ?? 'unknown' },
          // Memory of the whole instance: Redis does not tell per database.
          sizeBytes: Number(infoField(memory, 'used_memory') ?? 0),
          facts: { db: conn.db, keys, method, format: 'reprise-redis-records/1', mode: infoField(server, 'redis_mode') ?? 'standalone' },
        };
      });
    },
    async *dump(signal: AbortSignal): AsyncIterable<DumpPart> {
      // Check the connection before yielding, so auth/db errors surface with their own code.
      await withRedis(conn, 'source', signal, async (r) => refuseCluster(await r.info('server'), conn));
      if (method === 'rdb') {
        yield { name: partName, type: 'file', extra: { db: conn.db, method, format: 'reprise-redis-records/1' }, open: () => rdbRecords(conn, signal, env) };
        return;
      }
      yield {
        name: partName,
        type: 'file',
        extra: { db: conn.db, method, format: 'reprise-redis-records/1' },
        open: () =>
          (async function* () {
            const client = await openRedis(conn, 'source', signal);
            try {
              yield* dumpRedisDb(client, signal);
            } catch (err) {
              throw classifyRedisError(err, conn, 'source');
            } finally {
              client.disconnect();
            }
          })(),
      };
    },
    probeTarget(target: string, signal: AbortSignal): Promise<TargetState> {
      const t = targetConn(conn, target);
      return withRedis(t, 'target', signal, async (r) => {
        const keys = await r.dbsize();
        return { exists: true, empty: keys === 0, location: describeRedis(t) };
      });
    },
    async restore(parts: AsyncIterable<RestorePart>, options: RestoreOptions): Promise<RestoreResult> {
      const t = targetConn(conn, options.target);
      return withRedis(t, 'target', options.signal, async (r) => {
        const existing = await r.dbsize();
        if (existing > 0 && !options.force) {
          throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `${describeRedis(t)} already holds ${existing} keys`, {
            hint: 'Restore into an empty database (--to redis://host:port/N), or pass --force to FLUSHDB it first (a safety snapshot is taken first).',
          });
        }
        let count = 0;
        let bytes = 0;
        let flushed = existing === 0;
        for await (const part of parts) {
          if (part.type !== 'file' || !part.content) continue;
          if (!flushed) {
            await r.flushdb();
            flushed = true;
          }
          const counted = (async function* () {
            for await (const chunk of part.content?.() as AsyncIterable<Uint8Array>) {
              bytes += chunk.length;
              yield chunk;
            }
          })();
          await loadRedisDb(r, counted, options.signal);
          count += 1;
        }
        return { location: describeRedis(t), parts: count, bytes };
      });
    },
    verify(target: string, signal: AbortSignal): Promise<VerifyResult> {
      const t = targetConn(conn, target);
      return withRedis(t, 'target', signal, async (r) => {
        const { method, keys: fingerprints } = await fingerprintDb(r, signal);
        const types: Record<string, number> = {};
        let expiring = 0;
        for (const fp of fingerprints.values()) {
          types[fp.type] = (types[fp.type] ?? 0) + 1;
          if (fp.pttl >= 0) expiring += 1;
        }
        const redisDigest = await debugDigest(r, fingerprints.keys(), signal);
        return {
          ok: true,
          measurements: {
            keys: fingerprints.size,
            expiring,
            types,
            digest: digestOf(fingerprints),
            digestMethod: method,
            ...(redisDigest === undefined ? {} : { debugDigest: redisDigest }),
          },
          problems: [],
        };
      });
    },
    forTarget(target: string): Source {
      const t = targetConn(conn, target);
      return createRedisSource(name, { ...config, url: target, ...(t.password === undefined ? {} : { password: t.password }) }, env);
    },
  };
}
