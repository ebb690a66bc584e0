import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError, type ErrorCode } from '../../../../src/core/errors.js';
import { compareRedisDbs, createRedisSource, digestOf, fingerprintDb } from '../../../../src/sources/redis/index.js';
import { dumpRedisDb } from '../../../../src/sources/redis/dump.js';
import { decodeRecords } from '../../../../src/sources/redis/format.js';
import type { RedisSourceConfig } from '../../../../src/sources/redis/schema.js';
import type { SourceInfo } from '../../../../src/sources/source.js';
import { roundTrip } from '../../../helpers/source-roundtrip.js';
import { collectDump, pipeParts, replay } from '../mysql/pipe.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

const signal = () => new AbortController().signal;
const cfg = (url: string, extra: Partial<RedisSourceConfig> = {}): RedisSourceConfig => ({ type: 'redis', url, ...extra }) as RedisSourceConfig;
const info: SourceInfo = { kind: 'redis', location: '', versions: {}, facts: {} };

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isRepriseError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as { hint: string }).hint.length).toBeGreaterThan(10);
}

/** Every type and encoding worth a round trip, binary keys and values, TTLs. */
async function fill(r: Redis): Promise<number> {
  const p = r.pipeline();
  p.set('str:plain', 'hello');
  p.set('str:int', '12345');
  p.set('str:empty', '');
  p.set(Buffer.from([0, 1, 2, 255, 254, 0x0a]), Buffer.from([0, 0, 255, 128, 7]));
  p.set('str:big', randomBytes(200_000));
  p.set('str:utf8 ключ 🎉', 'значение ✓');
  p.hset('hash:small', { a: '1', b: '2', c: Buffer.from([0, 255]) });
  p.hset('hash:big', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, `v${i}`])));
  p.rpush('list:small', 'x', 'y', 'z', 'x');
  p.rpush('list:big', ...Array.from({ length: 5000 }, (_, i) => `item-${i}`));
  p.sadd('set:int', 1, 2, 3, 42);
  p.sadd('set:small', 'a', 'b', 'c');
  p.sadd('set:big', ...Array.from({ length: 2000 }, (_, i) => `m${i}`));
  p.zadd('zset:small', 1, 'one', 2.5, 'two-and-half', -3, 'minus');
  p.zadd('zset:big', ...Array.from({ length: 1000 }, (_, i) => [i * 0.5, `z${i}`]).flat());
  p.xadd('stream:s', '1-1', 'k', 'v1');
  p.xadd('stream:s', '2-0', 'k', 'v2', 'other', Buffer.from([0, 1]));
  p.xgroup('CREATE', 'stream:s', 'workers', '0');
  p.set('ttl:short', 'soon', 'PX', 600_000);
  p.set('ttl:long', 'later', 'EX', 86_400);
  p.hset('ttl:hash', 'f', 'v');
  p.expire('ttl:hash', 3600);
  for (let i = 0; i < 3000; i++) {
    if (i % 3 === 0) p.set(`bulk:${i}`, `value-${i}`, 'EX', 1000 + i);
    else p.set(`bulk:${i}`, `value-${i}`);
  }
  await p.exec();
  return r.dbsize();
}

let priv: PrivateRedis;
const shared = (db: number) => `redis://127.0.0.1:6379/${db}`;
const aclUser = `rp_user_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  priv = await startPrivateRedis();
  const admin = new Redis('redis://127.0.0.1:6379/0');
  await admin.call('ACL', 'SETUSER', aclUser, 'on', '>right-password', '~*', '+@all');
  admin.disconnect();
});

afterAll(async () => {
  const admin = new Redis('redis://127.0.0.1:6379/0');
  await admin.call('ACL', 'DELUSER', aclUser);
  admin.disconnect();
  await priv?.stop();
});

describe('redis source', () => {
  it('round-trips every type, binary keys and TTLs; digests (ours and DEBUG DIGEST-VALUE) agree', async () => {
    const src = priv.client(1);
    const keys = await fill(src);
    const source = createRedisSource('cache', cfg(priv.url(1)));
    const inspected = await source.inspect(signal());
    expect(inspected.versions.server).toMatch(/^\d+\.\d+/);
    expect(inspected.facts).toMatchObject({ db: 1, keys });
    expect(await source.probeTarget(priv.url(2), signal())).toMatchObject({ exists: true, empty: true });

    const res = await roundTrip(source, priv.url(2));
    expect(res.parts).toBe(1);
    const dst = priv.client(2);
    expect(await dst.dbsize()).toBe(keys);
    expect(await compareRedisDbs(src, dst, signal(), 3000)).toEqual([]);
    expect(await dst.pttl('str:plain')).toBe(-1);
    expect(await dst.ttl('ttl:long')).toBeGreaterThan(86_300);
    expect(await dst.xinfo('GROUPS', 'stream:s')).toHaveLength(1);
    expect(await dst.getBuffer(Buffer.from([0, 1, 2, 255, 254, 0x0a]))).toEqual(Buffer.from([0, 0, 255, 128, 7]));

    const v1 = await source.verify(priv.url(1), signal());
    const v2 = await source.verify(priv.url(2), signal());
    expect(v2.ok).toBe(true);
    expect(v2.measurements.digest).toBe(v1.measurements.digest);
    expect(v2.measurements.debugDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(v2.measurements.debugDigest).toBe(v1.measurements.debugDigest);
    expect(v2.measurements.types).toMatchObject({ string: 3008, hash: 3, list: 2, set: 3, zset: 2, stream: 1 });

    expect(v2.measurements.digestMethod).toBe('lua-sha1');
    // The client-side fingerprints (used when scripts are refused) agree too.
    const clientDigest = async (r: Redis) => digestOf((await fingerprintDb(r, signal(), 'client-sha256')).keys);
    expect(await clientDigest(dst)).toBe(await clientDigest(src));

    // The comparison helper does see a difference.
    await dst.hset('hash:big', 'f7', 'changed');
    expect(await clientDigest(dst)).not.toBe(await clientDigest(src));
    expect((await source.verify(priv.url(2), signal())).measurements.digest).not.toBe(v1.measurements.digest);
    expect(await compareRedisDbs(src, dst, signal())).toEqual(['key "hash:big": value differs']);
    await dst.persist('ttl:long');
    expect((await compareRedisDbs(src, dst, signal())).some((p) => p.includes('ttl:long'))).toBe(true);
  });

  it('refuses a non-empty target without force and leaves it unchanged; force flushes then loads', async () => {
    const src = priv.client(3);
    await src.set('only', 'this');
    const busy = priv.client(4);
    await busy.set('precious', 'data');
    const source = createRedisSource('cache', cfg(priv.url(3)));
    const parts = await collectDump(source.dump(signal()));
    await expectCode(source.restore(replay(parts), { target: priv.url(4), force: false, info, signal: signal() }), 'REPRISE_TARGET_NOT_EMPTY');
    expect(await busy.keys('*')).toEqual(['precious']);
    await source.restore(replay(parts), { target: priv.url(4), force: true, info, signal: signal() });
    expect(await busy.keys('*')).toEqual(['only']);
  });

  it('rejects a damaged or truncated dump', async () => {
    const src = priv.client(5);
    await src.set('a', '1');
    const source = createRedisSource('cache', cfg(priv.url(5)));
    const parts = await collectDump(source.dump(signal()));
    const bytes = parts.get('db5.rdr') as Buffer;
    await expectCode(source.restore(replay(new Map([['db5.rdr', bytes.subarray(0, bytes.length - 3)]])), { target: priv.url(6), force: false, info, signal: signal() }), 'REPRISE_INTEGRITY');
    const flipped = Buffer.from(bytes);
    flipped.writeUInt8((flipped.readUInt8(flipped.length - 20) ^ 0xff) & 0xff, flipped.length - 20); // inside the DUMP payload: its CRC64 fails
    await expectCode(source.restore(replay(new Map([['db5.rdr', flipped]])), { target: priv.url(7), force: false, info, signal: signal() }), 'REPRISE_TARGET_UNREACHABLE');
  });

  it('round-trips on the shared server (db 14 → 15)', async () => {
    const a = new Redis(shared(14));
    const b = new Redis(shared(15));
    try {
      await a.flushdb();
      await b.flushdb();
      await fill(a);
      const source = createRedisSource('cache', cfg(shared(14)));
      await roundTrip(source, shared(15));
      expect(await compareRedisDbs(a, b, signal(), 3000)).toEqual([]);
      const v = await source.verify(shared(15), signal());
      expect(v.measurements.debugDigest).toBeUndefined(); // DEBUG is off on the shared server
    } finally {
      await a.flushdb();
      await b.flushdb();
      a.disconnect();
      b.disconnect();
    }
  });

  it('maps wrong password, server down and a missing database to their codes', async () => {
    const wrong = createRedisSource('c', cfg(`redis://${aclUser}:wrong@127.0.0.1:6379/13`));
    await expectCode(wrong.inspect(signal()), 'REPRISE_SOURCE_AUTH');
    await expectCode(collectDump(wrong.dump(signal())), 'REPRISE_SOURCE_AUTH');
    const right = createRedisSource('c', cfg(`redis://${aclUser}@127.0.0.1:6379/13`, { password: 'right-password' }));
    expect((await right.inspect(signal())).versions.server).toMatch(/^\d/);
    await expectCode(createRedisSource('c', cfg('redis://127.0.0.1:1/0')).inspect(signal()), 'REPRISE_SOURCE_UNREADABLE');
    await expectCode(collectDump(createRedisSource('c', cfg('redis://127.0.0.1:1/0')).dump(signal())), 'REPRISE_SOURCE_UNREADABLE');
    await expectCode(createRedisSource('c', cfg('redis://127.0.0.1:6379/999')).inspect(signal()), 'REPRISE_SOURCE_NOT_FOUND');
    await expectCode(createRedisSource('c', cfg('redis://127.0.0.1:6379/0')).restore(replay(new Map()), { target: 'redis://127.0.0.1:1/0', force: false, info, signal: signal() }), 'REPRISE_TARGET_UNREACHABLE');
  });

  it('falls back to MULTI and pipelines for a user whose ACL forbids scripts', async () => {
    const admin = priv.client(0);
    await admin.call('ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '+@all', '-@scripting');
    await fill(priv.client(11));
    const asUser = (db: number) => `redis://noscript:pw@127.0.0.1:${priv.port}/${db}`;
    const plain = new Redis(asUser(11));
    await expect(plain.eval('return 1', 0)).rejects.toThrow(/NOPERM/);
    plain.disconnect();
    const source = createRedisSource('cache', cfg(asUser(11)));
    await source.restore(pipeParts(source.dump(signal())), { target: asUser(12), force: false, info, signal: signal() });
    expect(await compareRedisDbs(priv.client(11), priv.client(12), signal(), 3000)).toEqual([]);
  });

  it('reads values past the batch byte budget one at a time, and still gets every key', async () => {
    const src = priv.client(10);
    await src.flushdb();
    for (let i = 0; i < 6; i++) await src.set(`big:${i}`, randomBytes(300_000), 'EX', 5000);
    for (let i = 0; i < 50; i++) await src.set(`small:${i}`, `v${i}`);
    const stats = { keys: 0 };
    const chunks: Uint8Array[] = [];
    for await (const chunk of dumpRedisDb(src, signal(), stats, 500_000)) chunks.push(chunk);
    // With a 0.5 MB budget no chunk holds more than two 300 KB values.
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(700_000);
    const keys = new Set<string>();
    for await (const batch of decodeRecords((async function* () { yield* chunks; })())) {
      for (const r of batch) {
        keys.add(r.key.toString());
        if (r.key.toString().startsWith('big:')) expect(r.pttl).toBeGreaterThan(4_000_000);
      }
    }
    expect(keys.size).toBe(56);
    expect(stats.keys).toBe(56);
  });

  it('method rdb: a point-in-time copy while transfers run, restored like a scan dump', async () => {
    const src = priv.client(3);
    await src.flushdb();
    const ACCOUNTS = 200;
    const p = src.pipeline();
    for (let i = 0; i < ACCOUNTS; i++) p.set(`acct:${i}`, 1000);
    for (let i = 0; i < 20_000; i++) p.set(`filler:${i}`, `x${i}`);
    p.set('ttl:key', 'v', 'EX', 7200);
    await p.exec();
    const writer = priv.client(3);
    let stop = false;
    let transfers = 0;
    // Moves money between accounts in MULTI: any single instant has a total of exactly 200000.
    const writing = (async () => {
      while (!stop) {
        const a = Math.floor(Math.random() * ACCOUNTS);
        const b = (a + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
        await writer.multi().decrby(`acct:${a}`, 7).incrby(`acct:${b}`, 7).exec();
        transfers += 1;
      }
    })();
    const total = async (db: number): Promise<number> => {
      const r = priv.client(db);
      const values = await r.mget(Array.from({ length: ACCOUNTS }, (_, i) => `acct:${i}`));
      return values.reduce((sum, v) => sum + Number(v), 0);
    };
    try {
      const rdbSource = createRedisSource('cache', cfg(priv.url(3), { method: 'rdb' }));
      expect((await rdbSource.inspect(signal())).facts.method).toBe('rdb');
      await rdbSource.restore(pipeParts(rdbSource.dump(signal())), { target: priv.url(5), force: true, info, signal: signal() });
      const scanSource = createRedisSource('cache', cfg(priv.url(3)));
      await scanSource.restore(pipeParts(scanSource.dump(signal())), { target: priv.url(6), force: true, info, signal: signal() });
    } finally {
      stop = true;
      await writing;
    }
    expect(transfers).toBeGreaterThan(10);
    expect(await total(5)).toBe(ACCOUNTS * 1000);
    console.log(`redis rdb vs scan under ${transfers} transfers: rdb total ${await total(5)}, scan total ${await total(6)} (expected ${ACCOUNTS * 1000})`);
    const restored = priv.client(5);
    expect(await restored.dbsize()).toBe(ACCOUNTS + 20_001);
    expect(await restored.ttl('ttl:key')).toBeGreaterThan(7100);
    expect(await restored.get('filler:12345')).toBe('x12345');
    // Nothing left behind: the private server and its RDB are gone.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('reprise-redis-'))).toEqual([]);
  });

  it('method rdb: also reads the sized (disk-based) transfer of a server with diskless sync off', async () => {
    const disk = await startPrivateRedis(['--repl-diskless-sync', 'no']);
    try {
      await fill(disk.client(2));
      const source = createRedisSource('cache', cfg(disk.url(2), { method: 'rdb' }));
      await source.restore(pipeParts(source.dump(signal())), { target: disk.url(4), force: false, info, signal: signal() });
      expect(await compareRedisDbs(disk.client(2), disk.client(4), signal(), 5000)).toEqual([]);
    } finally {
      await disk.stop();
    }
  });

  it('method rdb: SYNC refused and redis-server missing give their codes', async () => {
    const admin = priv.client(0);
    await admin.call('ACL', 'SETUSER', 'nosync', 'on', '>pw', '~*', '+@all', '-sync', '-psync');
    const refused = createRedisSource('cache', cfg(`redis://nosync:pw@127.0.0.1:${priv.port}/3`, { method: 'rdb' }));
    await expectCode(collectDump(refused.dump(signal())), 'REPRISE_UNSUPPORTED');
    const wrong = createRedisSource('cache', cfg(`redis://nosync:bad@127.0.0.1:${priv.port}/3`, { method: 'rdb' }));
    await expectCode(collectDump(wrong.dump(signal())), 'REPRISE_SOURCE_AUTH');
    const empty = mkdtempSync(join(tmpdir(), 'rp-nopath-'));
    try {
      const noServer = createRedisSource('cache', cfg(priv.url(3), { method: 'rdb' }), { searchPath: empty });
      await expectCode(collectDump(noServer.dump(signal())), 'REPRISE_TOOL_MISSING');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('stops a dump when aborted', async () => {
    const src = priv.client(9);
    const p = src.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`k${i}`, 'v');
    await p.exec();
    const ac = new AbortController();
    const source = createRedisSource('cache', cfg(priv.url(9)));
    let chunks = 0;
    const err = await (async () => {
      for await (const part of source.dump(ac.signal)) {
        for await (const _ of part.open?.() as AsyncIterable<Uint8Array>) {
          if (++chunks === 3) ac.abort();
        }
      }
    })().then(() => undefined, (e: unknown) => e);
    expect((err as Error).name === 'AbortError' || isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
  });
});
