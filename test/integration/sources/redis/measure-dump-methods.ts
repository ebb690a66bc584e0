/**
 * Measures the two ways to copy a Redis database (docs/sources/redis.md): an RDB over the
 * replication protocol (`redis-cli --rdb`) and reprise's SCAN + DUMP/PTTL records, then the
 * RESTORE of those records. Not part of the test suite (1M keys take a while): run by hand with
 *   redis-server --bind 127.0.0.1 --port 16399 --save "" --enable-debug-command yes --daemonize yes
 *   npx vite-node test/integration/sources/redis/measure-dump-methods.ts
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisSource } from '../../../../src/sources/redis/index.js';
import type { RedisSourceConfig } from '../../../../src/sources/redis/schema.js';

const port = Number(process.env.MEASURE_REDIS_PORT ?? 16399);
const keys = Number(process.env.MEASURE_KEYS ?? 1_000_000);
const admin = new Redis({ port, host: '127.0.0.1', db: 0 });
const signal = new AbortController().signal;
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);

await admin.flushall();
await admin.call('DEBUG', 'POPULATE', String(keys), 'key', '100');
console.log(`keys: ${await admin.dbsize()}, used_memory: ${/used_memory_human:(\S+)/.exec(await admin.info('memory'))?.[1]}`);

const dir = mkdtempSync(join(tmpdir(), 'rp-measure-'));
try {
  for (const delay of ['0', '5']) {
    await admin.config('SET', 'repl-diskless-sync-delay', delay);
    const t0 = performance.now();
    execFileSync('redis-cli', ['-p', String(port), '--rdb', join(dir, 'dump.rdb')], { stdio: 'ignore' });
    console.log(`rdb (redis-cli --rdb, diskless delay ${delay}s): ${((performance.now() - t0) / 1000).toFixed(2)} s, ${mib(statSync(join(dir, 'dump.rdb')).size)} MiB`);
  }

  const source = createRedisSource('m', { type: 'redis', url: `redis://127.0.0.1:${port}/0` } as RedisSourceConfig);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let bytes = 0;
  const hash = createHash('sha256');
  const chunks: Uint8Array[] = [];
  let t0 = performance.now();
  for await (const part of source.dump(signal)) {
    for await (const chunk of part.open?.() as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      hash.update(chunk);
      chunks.push(chunk);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  const dumpSeconds = (performance.now() - t0) / 1000;
  console.log(`scan records dump: ${dumpSeconds.toFixed(2)} s, ${mib(bytes)} MiB, ${Math.round(keys / dumpSeconds)} keys/s (rss incl. kept chunks +${mib(peak - rss0)} MiB)`);

  t0 = performance.now();
  await source.restore(
    (async function* () {
      yield {
        name: 'db0.rdr',
        type: 'file' as const,
        content: () =>
          (async function* () {
            yield* chunks;
          })(),
      };
    })(),
    { target: `redis://127.0.0.1:${port}/1`, force: true, signal, info: { kind: 'redis', location: '', versions: {}, facts: {} } },
  );
  const restoreSeconds = (performance.now() - t0) / 1000;
  const target = new Redis({ port, host: '127.0.0.1', db: 1 });
  console.log(`records restore (pipelined RESTORE): ${restoreSeconds.toFixed(2)} s, ${Math.round(keys / restoreSeconds)} keys/s, target keys ${await target.dbsize()}`);
  target.disconnect();

  const rdbSource = createRedisSource('m', { type: 'redis', url: `redis://127.0.0.1:${port}/0`, method: 'rdb' } as RedisSourceConfig);
  for (const delay of ['0', '5']) {
    await admin.config('SET', 'repl-diskless-sync-delay', delay);
    t0 = performance.now();
    let rdbBytes = 0;
    const rdbHash = createHash('sha256');
    for await (const part of rdbSource.dump(signal)) {
      for await (const chunk of part.open?.() as AsyncIterable<Uint8Array>) {
        rdbBytes += chunk.length;
        rdbHash.update(chunk);
      }
    }
    console.log(`method rdb (fetch + convert through a private redis-server, delay ${delay}s): ${((performance.now() - t0) / 1000).toFixed(2)} s, ${mib(rdbBytes)} MiB`);
  }

  if (process.env.MEASURE_VERIFY === '1') {
    t0 = performance.now();
    const v = await source.verify(`redis://127.0.0.1:${port}/1`, signal);
  console.log(`verify (fingerprint + DEBUG DIGEST-VALUE): ${((performance.now() - t0) / 1000).toFixed(2)} s, keys ${String(v.measurements.keys)}`);
  }
} finally {
  await admin.flushall();
  admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
